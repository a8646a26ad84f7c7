// GPU kernels against the CPU kernels (the reference). Runs only where a GPU is present
// (label gpu); elsewhere it fails loudly rather than passing vacuously, so CI excludes the label.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "core/bf16.h"
#include "cuda/device_buffer.h"
#include "cuda/kernels.h"
#include "model/cpu_kernels.h"

namespace tessera {
namespace {

template <typename T>
gpu::DeviceBuffer Upload(const std::vector<T>& v) {
  auto b = gpu::DeviceBuffer::Allocate(v.size() * sizeof(T));
  EXPECT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->CopyFrom(std::as_bytes(std::span(v))).ok());
  return std::move(*b);
}

std::vector<float> Download(const gpu::DeviceBuffer& b, std::size_t n) {
  std::vector<float> v(n);
  EXPECT_TRUE(b.CopyTo(std::as_writable_bytes(std::span(v))).ok());
  return v;
}

TEST(CudaKernels, Mxfp4MatvecMatchesCpu) {
  for (auto [in, out] : {std::pair{2880, 5760}, std::pair{64, 3}, std::pair{2880 * 2, 17}}) {
    std::vector<std::uint8_t> blocks(static_cast<std::size_t>(out) * in / 2), scales(static_cast<std::size_t>(out) * in / 32);
    for (std::size_t i = 0; i < blocks.size(); ++i) blocks[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
    for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = static_cast<std::uint8_t>(118 + i % 7);
    std::vector<float> x(in), bias(out), expected(out);
    for (int i = 0; i < in; ++i) x[i] = std::sin(0.37f * i);
    for (int o = 0; o < out; ++o) bias[o] = 0.01f * o;
    cpu::MatmulMxfp4(x.data(), 1, in, blocks.data(), scales.data(), out, bias.data(), expected.data());
    auto db = Upload(blocks), ds = Upload(scales), dx = Upload(x), dbias = Upload(bias);
    auto dy = gpu::DeviceBuffer::Allocate(out * sizeof(float));
    ASSERT_TRUE(dy.ok());
    ASSERT_TRUE(gpu::Mxfp4Matvec(db.as<std::uint8_t>(), ds.as<std::uint8_t>(), dx.as<float>(), dbias.as<float>(),
                                 dy->as<float>(), in, out).ok());
    auto y = Download(*dy, out);
    for (int o = 0; o < out; ++o) ASSERT_NEAR(y[o], expected[o], 1e-4 * std::max(1.0f, std::abs(expected[o]))) << o;
  }
}

TEST(CudaKernels, SelectedExpertsInOneLaunchMatchCpu) {
  const int E = 6, in = 96, out = 40;
  const std::vector<int> picked = {4, 1, 5};  // k = 3, any order
  std::vector<std::uint8_t> blocks(static_cast<std::size_t>(E) * out * in / 2), scales(static_cast<std::size_t>(E) * out * in / 32);
  for (std::size_t i = 0; i < blocks.size(); ++i) blocks[i] = static_cast<std::uint8_t>((i * 2246822519u) >> 11);
  for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = static_cast<std::uint8_t>(120 + i % 6);
  std::vector<float> bias(E * out), x(picked.size() * in);
  for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = 0.1f * static_cast<float>(i % 7);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.21f * i);
  auto db = Upload(blocks), ds = Upload(scales), dbias = Upload(bias), dx = Upload(x), dp = Upload(picked);
  auto dy = gpu::DeviceBuffer::Allocate(picked.size() * out * sizeof(float));
  ASSERT_TRUE(dy.ok());
  ASSERT_TRUE(gpu::Mxfp4MatvecExperts(db.as<std::uint8_t>(), ds.as<std::uint8_t>(), dp.as<int>(), 3, dx.as<float>(), in,
                                      dbias.as<float>(), dy->as<float>(), in, out).ok());
  auto y = Download(*dy, picked.size() * out);
  for (std::size_t j = 0; j < picked.size(); ++j) {
    const int e = picked[j];
    std::vector<float> expected(out);
    cpu::MatmulMxfp4(x.data() + j * in, 1, in, blocks.data() + static_cast<std::size_t>(e) * out * in / 2,
                     scales.data() + static_cast<std::size_t>(e) * out * in / 32, out, bias.data() + e * out, expected.data());
    for (int o = 0; o < out; ++o) ASSERT_NEAR(y[j * out + o], expected[o], 1e-4 * std::max(1.0f, std::abs(expected[o]))) << j << " " << o;
  }
}

TEST(CudaKernels, Bf16MatvecMatchesCpu) {
  for (auto [in, out] : {std::pair{2880, 4096}, std::pair{100, 7}}) {
    std::vector<std::uint16_t> w(static_cast<std::size_t>(in) * out);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = FloatToBf16(std::cos(0.013f * i));
    std::vector<float> x(in), expected(out);
    for (int i = 0; i < in; ++i) x[i] = std::sin(0.11f * i);
    cpu::MatmulBf16(x.data(), 1, in, w.data(), out, nullptr, expected.data());
    auto dw = Upload(w), dx = Upload(x);
    auto dy = gpu::DeviceBuffer::Allocate(out * sizeof(float));
    ASSERT_TRUE(dy.ok());
    ASSERT_TRUE(gpu::Bf16Matvec(dw.as<std::uint16_t>(), dx.as<float>(), nullptr, dy->as<float>(), in, out).ok());
    auto y = Download(*dy, out);
    for (int o = 0; o < out; ++o) ASSERT_NEAR(y[o], expected[o], 1e-3 * std::max(1.0f, std::abs(expected[o]))) << o;
  }
}

TEST(CudaKernels, MisalignedWeightsAreRefused) {
  auto b = gpu::DeviceBuffer::Allocate(1024);
  ASSERT_TRUE(b.ok());
  Status s = gpu::Mxfp4Matvec(b->as<std::uint8_t>() + 1, b->as<std::uint8_t>(), b->as<float>(), nullptr,
                              b->as<float>(), 32, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tessera
