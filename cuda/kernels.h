// GPU kernels of the forward pass, callable from plain C++ (no CUDA headers here). Pointers are
// device memory; every launcher checks the launch and returns a Status.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/status.h"

namespace tessera::gpu {

// y[o] = sum_i x[i] * W[o, i] + bias[o] for one token, W in MXFP4: blocks [out, in/32, 16],
// scales [out, in/32]. One warp per output row; each lane reads whole 16-byte blocks.
Status Mxfp4Matvec(const std::uint8_t* blocks, const std::uint8_t* scales, const float* x,
                   const float* bias, float* y, int in, int out, void* stream = nullptr);

// The selected experts of one MoE layer in one launch: for j < k, y[j] = W[experts[j]] x_j +
// bias[experts[j]], with all experts' weights as stored in the checkpoint (blocks
// [E, out, in/32, 16], scales [E, out, in/32], bias [E, out]). x_j = x + j * x_stride (0: the
// same input for every expert, as for gate_up). `experts` is device memory.
Status Mxfp4MatvecExperts(const std::uint8_t* blocks, const std::uint8_t* scales, const int* experts, int k,
                          const float* x, std::size_t x_stride, const float* bias, float* y, int in, int out,
                          void* stream = nullptr);

// The same product with W bf16 row-major [out, in].
Status Bf16Matvec(const std::uint16_t* w, const float* x, const float* bias, float* y, int in,
                  int out, void* stream = nullptr);

}  // namespace tessera::gpu
