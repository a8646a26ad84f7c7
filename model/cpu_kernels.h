// CPU kernels of the forward pass: fp32 activations, bf16 / MXFP4 weights, fp32 accumulation.
// Each kernel parallelizes over output features with OpenMP; callers run them one at a time.
#pragma once

#include <cstdint>

namespace tessera::cpu {

// y[t, o] = sum_i x[t, i] * w[o, i] + bias[o]; w bf16 row-major [out, in] (nn.Linear layout).
void MatmulBf16(const float* x, int tokens, int in, const std::uint16_t* w, int out,
                const float* bias, float* y);

// Same product with w bf16 row-major [in, out] (the layout of merged bf16 expert tensors).
void MatmulBf16InOut(const float* x, int tokens, int in, const std::uint16_t* w, int out,
                     const float* bias, float* y);

// Same product with w in MXFP4: blocks [out, in/32, 16] bytes, scales [out, in/32].
void MatmulMxfp4(const float* x, int tokens, int in, const std::uint8_t* blocks,
                 const std::uint8_t* scales, int out, const float* bias, float* y);

// y = x / sqrt(mean(x^2) + eps) * gain, per row of `dim`.
void RmsNorm(const float* x, int tokens, int dim, const float* gain, float eps, float* y);

// Clamped SwiGLU on interleaved [gate, linear] pairs: in has 2*n values per token, out n.
// out = min(g, limit) * sigmoid(alpha * min(g, limit)) * (clamp(l, -limit, limit) + 1).
void SwiGlu(const float* in, int tokens, int n, float alpha, float limit, float* out);

float Dot(const float* a, const float* b, int n);

// Softmax of `n` attention scores with a learned sink logit that joins the denominator but has
// no value: scores become weights in place (they sum to less than 1). Returns the sink's share.
float SinkSoftmax(float* scores, int n, float sink);

// The k largest of n logits (ties: lower index first), descending, and the softmax over those
// k alone.
void TopKSoftmax(const float* logits, int n, int k, int* index, float* weight);

}  // namespace tessera::cpu
