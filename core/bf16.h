// bfloat16 <-> float conversion. Weights are stored as bf16; all arithmetic is fp32.
#pragma once

#include <bit>
#include <cstdint>

namespace tessera {

inline float Bf16ToFloat(std::uint16_t v) { return std::bit_cast<float>(std::uint32_t(v) << 16); }

// Round to nearest even, the rounding torch uses for .to(torch.bfloat16). NaN stays NaN.
inline std::uint16_t FloatToBf16(float f) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

}  // namespace tessera
