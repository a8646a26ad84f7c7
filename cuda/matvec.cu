// Decode-path matrix-vector products (one token): memory-bound, so each warp streams one weight
// row with 16-byte loads and reduces with shuffles. fp32 accumulation.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/cuda_status.h"
#include "cuda/kernels.h"

namespace tessera::gpu {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;  // 8 warps per block

// Doubled E2M1 values; the matching scale is 2^(s - 128). Lanes index this table with
// different codes, which constant memory would serialize; shared memory serves 16 distinct
// words from 16 banks in one pass.
__device__ const float kFp4Doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, -0.0f, -1, -2, -3, -4, -6, -8, -12};

__device__ float WarpSum(float v) {
  for (int off = kWarp / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// x is staged in shared memory once per block (every warp of the block needs all of it); each
// lane takes whole 16-byte blocks of its row and walks the four 8-value words of a block in an
// order rotated by lane, so a quarter-warp's float4 reads of x fall in different banks.
// blockIdx.y selects the expert: experts == nullptr means one matrix (expert 0, no offsets).
__global__ void Mxfp4MatvecKernel(const uint8_t* __restrict__ blocks, const uint8_t* __restrict__ scales,
                                  const int* __restrict__ experts, const float* __restrict__ x, size_t x_stride,
                                  const float* __restrict__ bias, float* __restrict__ y, int in, int out) {
  extern __shared__ float4 xs[];  // in / 4 entries
  __shared__ float lut[16];
  const int j = blockIdx.y;
  const size_t e = experts ? static_cast<size_t>(experts[j]) : 0;
  blocks += e * out * (in / 2);
  scales += e * out * (in / 32);
  if (bias) bias += e * out;
  x += j * x_stride;
  y += static_cast<size_t>(j) * out;
  if (threadIdx.x < 16) lut[threadIdx.x] = kFp4Doubled[threadIdx.x];
  for (int i = threadIdx.x; i < in / 4; i += blockDim.x) xs[i] = reinterpret_cast<const float4*>(x)[i];
  __syncthreads();
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= out) return;
  const int nblocks = in / 32;
  const uint4* rb = reinterpret_cast<const uint4*>(blocks) + static_cast<size_t>(row) * nblocks;
  const uint8_t* rs = scales + static_cast<size_t>(row) * nblocks;
  float acc = 0.0f;
  for (int g = lane; g < nblocks; g += kWarp) {
    const uint4 q = rb[g];  // 32 packed values in one 16-byte load
    const float scale = exp2f(static_cast<float>(rs[g]) - 128.0f);
    const uint32_t words[4] = {q.x, q.y, q.z, q.w};
    float part = 0.0f;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int w = (k + lane) & 3;
      const uint32_t word = words[w];  // bytes 4w..4w+3 = values 8w..8w+7
      const float4 a = xs[g * 8 + 2 * w], b = xs[g * 8 + 2 * w + 1];
      part += lut[word & 0xf] * a.x + lut[(word >> 4) & 0xf] * a.y + lut[(word >> 8) & 0xf] * a.z +
              lut[(word >> 12) & 0xf] * a.w + lut[(word >> 16) & 0xf] * b.x + lut[(word >> 20) & 0xf] * b.y +
              lut[(word >> 24) & 0xf] * b.z + lut[word >> 28] * b.w;
    }
    acc += part * scale;
  }
  acc = WarpSum(acc);
  if (lane == 0) y[row] = acc + (bias ? bias[row] : 0.0f);
}

__global__ void Bf16MatvecKernel(const __nv_bfloat16* __restrict__ w, const float* __restrict__ x,
                                 const float* __restrict__ bias, float* __restrict__ y, int in, int out) {
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= out) return;
  const __nv_bfloat16* wr = w + static_cast<size_t>(row) * in;
  float acc = 0.0f;
  if (in % 8 == 0) {
    // 8 bf16 per 16-byte load.
    const uint4* w4 = reinterpret_cast<const uint4*>(wr);
    for (int i = lane; i < in / 8; i += kWarp) {
      const uint4 q = w4[i];
      const __nv_bfloat162* p = reinterpret_cast<const __nv_bfloat162*>(&q);
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const float2 f = __bfloat1622float2(p[k]);
        acc += f.x * x[i * 8 + 2 * k] + f.y * x[i * 8 + 2 * k + 1];
      }
    }
  } else {
    for (int i = lane; i < in; i += kWarp) acc += __bfloat162float(wr[i]) * x[i];
  }
  acc = WarpSum(acc);
  if (lane == 0) y[row] = acc + (bias ? bias[row] : 0.0f);
}

}  // namespace

Status Mxfp4Matvec(const std::uint8_t* blocks, const std::uint8_t* scales, const float* x, const float* bias,
                   float* y, int in, int out, void* stream) {
  if (in % 32 != 0) return absl::InvalidArgumentError("MXFP4 rows must be a multiple of 32 values");
  if (reinterpret_cast<std::uintptr_t>(blocks) % 16 != 0)
    return absl::InvalidArgumentError("MXFP4 blocks must be 16-byte aligned");
  if (reinterpret_cast<std::uintptr_t>(x) % 16 != 0) return absl::InvalidArgumentError("x must be 16-byte aligned");
  const dim3 grid((out + kRowsPerBlock - 1) / kRowsPerBlock);
  const size_t smem = static_cast<size_t>(in) * sizeof(float);
  Mxfp4MatvecKernel<<<grid, kRowsPerBlock * kWarp, smem, static_cast<cudaStream_t>(stream)>>>(blocks, scales, nullptr, x, 0,
                                                                                               bias, y, in, out);
  return CudaStatus(cudaGetLastError(), "Mxfp4Matvec launch");
}

Status Mxfp4MatvecExperts(const std::uint8_t* blocks, const std::uint8_t* scales, const int* experts, int k,
                          const float* x, std::size_t x_stride, const float* bias, float* y, int in, int out,
                          void* stream) {
  if (in % 32 != 0) return absl::InvalidArgumentError("MXFP4 rows must be a multiple of 32 values");
  if (k < 1) return absl::InvalidArgumentError("no experts selected");
  if (reinterpret_cast<std::uintptr_t>(blocks) % 16 != 0 || reinterpret_cast<std::uintptr_t>(x) % 16 != 0 ||
      x_stride % 4 != 0)
    return absl::InvalidArgumentError("MXFP4 blocks and every expert's x must be 16-byte aligned");
  const dim3 grid((out + kRowsPerBlock - 1) / kRowsPerBlock, k);
  const size_t smem = static_cast<size_t>(in) * sizeof(float);
  Mxfp4MatvecKernel<<<grid, kRowsPerBlock * kWarp, smem, static_cast<cudaStream_t>(stream)>>>(blocks, scales, experts, x,
                                                                                               x_stride, bias, y, in, out);
  return CudaStatus(cudaGetLastError(), "Mxfp4MatvecExperts launch");
}

Status Bf16Matvec(const std::uint16_t* w, const float* x, const float* bias, float* y, int in, int out, void* stream) {
  if (in % 8 == 0 && reinterpret_cast<std::uintptr_t>(w) % 16 != 0)
    return absl::InvalidArgumentError("bf16 weights must be 16-byte aligned");
  const dim3 grid((out + kRowsPerBlock - 1) / kRowsPerBlock);
  Bf16MatvecKernel<<<grid, kRowsPerBlock * kWarp, 0, static_cast<cudaStream_t>(stream)>>>(
      reinterpret_cast<const __nv_bfloat16*>(w), x, bias, y, in, out);
  return CudaStatus(cudaGetLastError(), "Bf16Matvec launch");
}

}  // namespace tessera::gpu
