#include "model/cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/bf16.h"
#include "model/mxfp4.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define TESSERA_AVX2 1
#endif

namespace tessera {

void DequantizeMxfp4Row(const std::uint8_t* blocks, const std::uint8_t* scales, int n, float* out) {
  const int nblocks = n / kMxfp4BlockElems;
  for (int g = 0; g < nblocks; ++g) {
    const float scale = Mxfp4Scale(scales[g]);
    const std::uint8_t* b = blocks + static_cast<std::size_t>(g) * kMxfp4BlockBytes;
    float* o = out + static_cast<std::size_t>(g) * kMxfp4BlockElems;
    for (int k = 0; k < kMxfp4BlockBytes; ++k) {
      o[2 * k] = kFp4Values[b[k] & 0x0f] * scale;
      o[2 * k + 1] = kFp4Values[b[k] >> 4] * scale;
    }
  }
}

namespace cpu {

float Dot(const float* a, const float* b, int n) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

float SinkSoftmax(float* scores, int n, float sink) {
  float m = sink;
  for (int j = 0; j < n; ++j) m = std::max(m, scores[j]);
  const float sink_e = std::exp(sink - m);
  float denom = sink_e;
  for (int j = 0; j < n; ++j) denom += scores[j] = std::exp(scores[j] - m);
  const float inv = 1.0f / denom;
  for (int j = 0; j < n; ++j) scores[j] *= inv;
  return sink_e * inv;
}

void TopKSoftmax(const float* logits, int n, int k, int* index, float* weight) {
  // k is small (4 of 32 or 128): insertion into a sorted prefix beats a full sort.
  int count = 0;
  for (int e = 0; e < n; ++e) {
    int pos = count;
    while (pos > 0 && logits[e] > logits[index[pos - 1]]) --pos;
    if (pos >= k) continue;
    for (int j = std::min(count, k - 1); j > pos; --j) index[j] = index[j - 1];
    index[pos] = e;
    count = std::min(count + 1, k);
  }
  const float mx = logits[index[0]];
  float sum = 0.0f;
  for (int i = 0; i < k; ++i) sum += weight[i] = std::exp(logits[index[i]] - mx);
  for (int i = 0; i < k; ++i) weight[i] /= sum;
}

namespace {

// Decode steps carry one or a few tokens: then dotting straight from the packed weights beats
// materializing an fp32 row first.
constexpr int kFusedMaxTokens = 4;

float DotBf16(const float* x, const std::uint16_t* w, int n) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int i = 0; i < n; ++i) acc += x[i] * Bf16ToFloat(w[i]);
  return acc;
}

#ifdef TESSERA_AVX2
// 2^(s-128) for every E8M0 byte: the half-scale that pairs with the doubled E2M1 table below.
struct HalfScales {
  float v[256];
  HalfScales() {
    for (int s = 0; s < 256; ++s) v[s] = std::ldexp(1.0f, s - 128);
  }
};
const HalfScales kHalfScales;

// One MXFP4 row dotted with x: nibbles map to doubled E2M1 values as int8 through a byte
// shuffle, so every value is exact before the per-block scale.
float DotMxfp4(const float* x, const std::uint8_t* blocks, const std::uint8_t* scales, int n) {
  const __m128i lut = _mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
  const __m128i low4 = _mm_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  for (int g = 0; g < n / kMxfp4BlockElems; ++g) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks + g * kMxfp4BlockBytes));
    const __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(bytes, low4));
    const __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(bytes, 4), low4));
    const __m128i e0 = _mm_unpacklo_epi8(lo, hi);  // elements 0..15 in order
    const __m128i e1 = _mm_unpackhi_epi8(lo, hi);  // elements 16..31
    const float* xg = x + g * kMxfp4BlockElems;
    __m256 b = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(e0)), _mm256_loadu_ps(xg));
    b = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(e0, 8))), _mm256_loadu_ps(xg + 8), b);
    b = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(e1)), _mm256_loadu_ps(xg + 16), b);
    b = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(e1, 8))), _mm256_loadu_ps(xg + 24), b);
    acc = _mm256_fmadd_ps(b, _mm256_set1_ps(kHalfScales.v[scales[g]]), acc);
  }
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_hadd_ps(s, s);
  s = _mm_hadd_ps(s, s);
  return _mm_cvtss_f32(s);
}
#endif

// Shared shape of the [out, in] products: materialize one fp32 weight row (kept in L1 across
// all tokens), then dot it with every token.
template <typename RowLoader>
void MatmulRows(const float* x, int tokens, int in, int out, const float* bias, float* y,
                RowLoader load_row) {
#pragma omp parallel
  {
    std::vector<float> row(in);
#pragma omp for schedule(static)
    for (int o = 0; o < out; ++o) {
      load_row(o, row.data());
      const float b = bias ? bias[o] : 0.0f;
      for (int t = 0; t < tokens; ++t) {
        y[static_cast<std::size_t>(t) * out + o] =
            Dot(x + static_cast<std::size_t>(t) * in, row.data(), in) + b;
      }
    }
  }
}

}  // namespace

void MatmulBf16(const float* x, int tokens, int in, const std::uint16_t* w, int out,
                const float* bias, float* y) {
  if (tokens <= kFusedMaxTokens) {
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; ++o) {
      const std::uint16_t* row = w + static_cast<std::size_t>(o) * in;
      for (int t = 0; t < tokens; ++t)
        y[static_cast<std::size_t>(t) * out + o] = DotBf16(x + static_cast<std::size_t>(t) * in, row, in) + (bias ? bias[o] : 0.0f);
    }
    return;
  }
  MatmulRows(x, tokens, in, out, bias, y, [&](int o, float* row) {
    const std::uint16_t* src = w + static_cast<std::size_t>(o) * in;
#pragma omp simd
    for (int i = 0; i < in; ++i) row[i] = Bf16ToFloat(src[i]);
  });
}

void MatmulMxfp4(const float* x, int tokens, int in, const std::uint8_t* blocks,
                 const std::uint8_t* scales, int out, const float* bias, float* y) {
  const std::size_t row_blocks = static_cast<std::size_t>(in) / kMxfp4BlockElems;
#ifdef TESSERA_AVX2
  if (tokens <= kFusedMaxTokens) {
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; ++o) {
      const std::uint8_t* b = blocks + o * row_blocks * kMxfp4BlockBytes;
      const std::uint8_t* s = scales + o * row_blocks;
      for (int t = 0; t < tokens; ++t)
        y[static_cast<std::size_t>(t) * out + o] = DotMxfp4(x + static_cast<std::size_t>(t) * in, b, s, in) + (bias ? bias[o] : 0.0f);
    }
    return;
  }
#endif
  MatmulRows(x, tokens, in, out, bias, y, [&](int o, float* row) {
    DequantizeMxfp4Row(blocks + o * row_blocks * kMxfp4BlockBytes, scales + o * row_blocks, in, row);
  });
}

void MatmulBf16InOut(const float* x, int tokens, int in, const std::uint16_t* w, int out,
                     const float* bias, float* y) {
  constexpr int kChunk = 64;  // output columns per task: one cache line run of w per input row
  const int chunks = (out + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < chunks; ++c) {
    const int o0 = c * kChunk;
    const int width = std::min(kChunk, out - o0);
    for (int t = 0; t < tokens; ++t) {
      float acc[kChunk] = {};
      const float* xt = x + static_cast<std::size_t>(t) * in;
      for (int i = 0; i < in; ++i) {
        const std::uint16_t* wr = w + static_cast<std::size_t>(i) * out + o0;
        const float xi = xt[i];
#pragma omp simd
        for (int j = 0; j < width; ++j) acc[j] += xi * Bf16ToFloat(wr[j]);
      }
      float* yt = y + static_cast<std::size_t>(t) * out + o0;
      for (int j = 0; j < width; ++j) yt[j] = acc[j] + (bias ? bias[o0 + j] : 0.0f);
    }
  }
}

void RmsNorm(const float* x, int tokens, int dim, const float* gain, float eps, float* y) {
  for (int t = 0; t < tokens; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * dim;
    float* yt = y + static_cast<std::size_t>(t) * dim;
    const float inv = 1.0f / std::sqrt(Dot(xt, xt, dim) / dim + eps);
    for (int i = 0; i < dim; ++i) yt[i] = xt[i] * inv * gain[i];
  }
}

void SwiGlu(const float* in, int tokens, int n, float alpha, float limit, float* out) {
  for (int t = 0; t < tokens; ++t) {
    const float* it = in + static_cast<std::size_t>(t) * 2 * n;
    float* ot = out + static_cast<std::size_t>(t) * n;
    for (int i = 0; i < n; ++i) {
      const float g = std::min(it[2 * i], limit);
      const float l = std::clamp(it[2 * i + 1], -limit, limit);
      ot[i] = g / (1.0f + std::exp(-alpha * g)) * (l + 1.0f);
    }
  }
}

}  // namespace cpu
}  // namespace tessera
