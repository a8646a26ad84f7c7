// Checks of the individual pieces of the forward pass against values derived by hand from the
// model facts (MXFP4 table and nibble order, YaRN frequencies, sinks, routing, SwiGLU).
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "core/bf16.h"
#include "model/cpu_kernels.h"
#include "model/mxfp4.h"
#include "model/rope.h"
#include "model/sampler.h"

namespace tessera {
namespace {

TEST(Mxfp4, ValueTable) {
  const float expected[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(kFp4Values[i], expected[i]) << i;
  EXPECT_TRUE(std::signbit(kFp4Values[8]));
}

TEST(Mxfp4, NibbleOrderAndScale) {
  // Byte 0 = 0x21: element 0 takes the low nibble (code 1 = 0.5), element 1 the high (code 2 = 1).
  std::vector<std::uint8_t> block(16, 0);
  block[0] = 0x21;
  block[15] = 0xF7;  // element 30: code 7 = 6; element 31: code 15 = -6
  std::uint8_t scale = 128;  // 2^(128 - 127) = 2
  std::vector<float> out(32);
  DequantizeMxfp4Row(block.data(), &scale, 32, out.data());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 2.0f);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[30], 12.0f);
  EXPECT_EQ(out[31], -12.0f);
  EXPECT_EQ(Mxfp4Scale(127), 1.0f);
  EXPECT_EQ(Mxfp4Scale(120), 1.0f / 128);
}

TEST(Mxfp4, MatmulEqualsDequantizedBf16Matmul) {
  // Two output rows, 64 inputs: MXFP4 product equals the product with the dequantized weights.
  std::vector<std::uint8_t> blocks(2 * 2 * 16), scales = {126, 127, 128, 129};
  for (std::size_t i = 0; i < blocks.size(); ++i) blocks[i] = static_cast<std::uint8_t>(i * 37 + 11);
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = std::sin(0.3f * i);
  std::vector<float> deq(128);
  DequantizeMxfp4Row(blocks.data(), scales.data(), 64, deq.data());
  DequantizeMxfp4Row(blocks.data() + 32, scales.data() + 2, 64, deq.data() + 64);
  std::vector<std::uint16_t> w(128);
  for (int i = 0; i < 128; ++i) {
    w[i] = FloatToBf16(deq[i]);
    ASSERT_EQ(Bf16ToFloat(w[i]), deq[i]) << "MXFP4 values are exact in bf16";
  }
  float bias[2] = {0.25f, -1.0f}, y1[2], y2[2];
  cpu::MatmulMxfp4(x.data(), 1, 64, blocks.data(), scales.data(), 2, bias, y1);
  cpu::MatmulBf16(x.data(), 1, 64, w.data(), 2, bias, y2);
  EXPECT_NEAR(y1[0], y2[0], 1e-5);
  EXPECT_NEAR(y1[1], y2[1], 1e-5);
}

TEST(Mxfp4, FusedDecodePathEqualsBatchedPath) {
  // Few tokens take the fused kernels, many take dequantize-then-dot; both must agree.
  const int in = 96, out = 5, T = 7;
  std::vector<std::uint8_t> blocks(out * 3 * 16), scales(out * 3);
  for (std::size_t i = 0; i < blocks.size(); ++i) blocks[i] = static_cast<std::uint8_t>(i * 91 + 3);
  for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = static_cast<std::uint8_t>(120 + i % 9);
  std::vector<std::uint16_t> w(out * in);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = FloatToBf16(std::cos(0.7f * i));
  std::vector<float> x(T * in), bias(out, 0.5f), batched(T * out), single(out), bb(T * out), bs(out);
  for (int i = 0; i < T * in; ++i) x[i] = std::sin(0.11f * i);
  cpu::MatmulMxfp4(x.data(), T, in, blocks.data(), scales.data(), out, bias.data(), batched.data());
  cpu::MatmulBf16(x.data(), T, in, w.data(), out, bias.data(), bb.data());
  for (int t = 0; t < T; ++t) {
    cpu::MatmulMxfp4(x.data() + t * in, 1, in, blocks.data(), scales.data(), out, bias.data(), single.data());
    cpu::MatmulBf16(x.data() + t * in, 1, in, w.data(), out, bias.data(), bs.data());
    for (int o = 0; o < out; ++o) {
      EXPECT_NEAR(single[o], batched[t * out + o], 1e-4 * std::max(1.0f, std::abs(single[o])));
      EXPECT_NEAR(bs[o], bb[t * out + o], 1e-4 * std::max(1.0f, std::abs(bs[o])));
    }
  }
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(FloatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(Bf16ToFloat(0x3f80), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(FloatToBf16(1.0f + 1.0f / 256), 0x3f80);
  EXPECT_EQ(FloatToBf16(1.0f + 3.0f / 256), 0x3f82);
}

TEST(Yarn, GptOssFrequencies) {
  RopeConfig rc;  // gpt-oss defaults: theta 150000, factor 32, betas 32/1, context 4096
  Rope rope(rc, 64);
  ASSERT_EQ(rope.inv_freq().size(), 32u);
  EXPECT_NEAR(rope.concentration(), 1.3465736f, 1e-6);
  // Ramp bounds, unrounded: low 8.092779, high 17.398025 (spec).
  const double pi = 3.14159265358979323846;
  const double low = 32 * std::log(4096 / (32 * 2 * pi)) / std::log(150000.0);
  const double high = 32 * std::log(4096 / (1 * 2 * pi)) / std::log(150000.0);
  EXPECT_NEAR(low, 8.092779, 1e-6);
  EXPECT_NEAR(high, 17.398025, 1e-6);
  for (int i = 0; i < 32; ++i) {
    const double base = 1.0 / std::pow(150000.0, 2.0 * i / 64);
    const double r = std::clamp((i - low) / (high - low), 0.0, 1.0);
    const double expected = base / 32.0 * r + base * (1.0 - r);
    EXPECT_NEAR(rope.inv_freq()[i], expected, 2e-6 * expected) << "pair " << i;
  }
  // Pairs up to 8 keep their frequency; from 18 on they are divided by the factor.
  EXPECT_NEAR(rope.inv_freq()[8], 1.0 / std::pow(150000.0, 16.0 / 64), 1e-7);
  EXPECT_NEAR(rope.inv_freq()[18], 1.0 / std::pow(150000.0, 36.0 / 64) / 32, 1e-9);
}

TEST(Yarn, TruncateRoundsRampBounds) {
  RopeConfig rc;
  rc.truncate = true;  // bounds become 8 and 18
  Rope rope(rc, 64);
  const double base9 = 1.0 / std::pow(150000.0, 18.0 / 64);
  const double r = 1.0 / 10.0;
  EXPECT_NEAR(rope.inv_freq()[9], base9 / 32 * r + base9 * (1 - r), 1e-7);
}

TEST(Yarn, RotatesHalfSplitPairs) {
  RopeConfig rc;
  Rope rope(rc, 4);
  float x[4] = {1, 0, 0, 0};  // pair (x0, x2) rotates; pair (x1, x3) too
  rope.Apply(x, 1, 3);
  const float angle = 3 * rope.inv_freq()[0], c = rope.concentration();
  EXPECT_NEAR(x[0], c * std::cos(angle), 1e-6);
  EXPECT_NEAR(x[2], c * std::sin(angle), 1e-6);
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_EQ(x[3], 0.0f);
}

TEST(SinkSoftmax, EqualsSoftmaxWithExtraColumnDropped) {
  float s[3] = {1.0f, 2.0f, 0.5f};
  const float sink = 1.5f;
  const double denom = std::exp(1.0) + std::exp(2.0) + std::exp(0.5) + std::exp(1.5);
  const float share = cpu::SinkSoftmax(s, 3, sink);
  EXPECT_NEAR(s[0], std::exp(1.0) / denom, 1e-6);
  EXPECT_NEAR(s[1], std::exp(2.0) / denom, 1e-6);
  EXPECT_NEAR(s[2], std::exp(0.5) / denom, 1e-6);
  EXPECT_NEAR(share, std::exp(1.5) / denom, 1e-6);
  EXPECT_LT(s[0] + s[1] + s[2], 1.0f);
  // A sink far above the scores takes the stabilizing max without overflow.
  float t[2] = {0.0f, 0.0f};
  EXPECT_NEAR(cpu::SinkSoftmax(t, 2, 100.0f), 1.0f, 1e-6);
  EXPECT_GE(t[0], 0.0f);
}

TEST(Routing, TopKThenSoftmaxOverK) {
  const float logits[6] = {0.1f, 3.0f, -1.0f, 2.0f, 3.0f, 0.5f};
  int idx[3];
  float w[3];
  cpu::TopKSoftmax(logits, 6, 3, idx, w);
  EXPECT_EQ(idx[0], 1);  // tie with expert 4: lower index first
  EXPECT_EQ(idx[1], 4);
  EXPECT_EQ(idx[2], 3);
  const double z = 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(w[0], std::exp(3.0) / z, 1e-6);
  EXPECT_NEAR(w[2], std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(w[0] + w[1] + w[2], 1.0f, 1e-6);
}

TEST(SwiGlu, ClampsAndAddsOneToLinearHalf) {
  // Interleaved pairs [gate, linear].
  const float in[6] = {1.0f, 2.0f, 10.0f, -9.0f, -2.0f, 0.0f};
  float out[3];
  cpu::SwiGlu(in, 1, 3, 1.702f, 7.0f, out);
  auto silu = [](float g) { return g / (1 + std::exp(-1.702f * g)); };
  EXPECT_NEAR(out[0], silu(1.0f) * 3.0f, 1e-6);
  EXPECT_NEAR(out[1], silu(7.0f) * (-6.0f), 1e-5);  // gate clamped to 7, linear to -7
  EXPECT_NEAR(out[2], silu(-2.0f) * 1.0f, 1e-6);     // no lower clamp on the gate
}

TEST(Sampler, GreedyPicksArgmaxAndSeedsRepeat) {
  std::vector<float> logits = {0.1f, 2.0f, 1.9f, -3.0f};
  Sampler greedy({0.0f, 1.0f, 0, 0});
  EXPECT_EQ(greedy.Sample(logits), 1u);
  SamplingParams p{1.0f, 0.9f, 3, 42};
  Sampler a(p), b(p);
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 2000; ++i) {
    TokenId x = a.Sample(logits);
    EXPECT_EQ(x, b.Sample(logits));
    counts[x]++;
  }
  EXPECT_EQ(counts[3], 0);  // outside top-k 3
  EXPECT_GT(counts[1], 700);
  EXPECT_GT(counts[2], 600);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingMass) {
  std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  Sampler s({1.0f, 0.5f, 0, 7});
  for (int i = 0; i < 200; ++i) EXPECT_EQ(s.Sample(logits), 0u);
}

TEST(Sampler, TopLogprobs) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  auto top = TopLogprobs(logits, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].id, 1u);
  EXPECT_EQ(top[1].id, 2u);
  const double lse = std::log(std::exp(1.0) + std::exp(3.0) + std::exp(2.0));
  EXPECT_NEAR(top[0].logprob, 3.0 - lse, 1e-6);
}

}  // namespace
}  // namespace tessera
