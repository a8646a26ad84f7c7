// MXFP4 (OCP microscaling FP4): 32 E2M1 values share one E8M0 scale byte.
// Byte b of a 16-byte block holds element 2b in its low nibble and element 2b+1 in its high one.
#pragma once

#include <cmath>
#include <cstdint>

namespace tessera {

inline constexpr int kMxfp4BlockElems = 32;
inline constexpr int kMxfp4BlockBytes = 16;

// E2M1 code -> value: bit 3 sign, bits 2-1 exponent, bit 0 mantissa.
inline constexpr float kFp4Values[16] = {+0.0f, +0.5f, +1.0f, +1.5f, +2.0f, +3.0f, +4.0f, +6.0f,
                                         -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

// E8M0 scale byte -> 2^(s - 127).
inline float Mxfp4Scale(std::uint8_t s) { return std::ldexp(1.0f, static_cast<int>(s) - 127); }

// Dequantizes `n` elements (a multiple of 32) of one row into fp32.
void DequantizeMxfp4Row(const std::uint8_t* blocks, const std::uint8_t* scales, int n, float* out);

}  // namespace tessera
