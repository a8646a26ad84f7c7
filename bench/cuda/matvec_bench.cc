// Achieved memory bandwidth of the decode matvec kernels against the device's copy bandwidth.
// Shapes are gpt-oss-120b's: one expert's gate_up (5760 x 2880) and down (2880 x 2880) in MXFP4,
// the attention q projection (4096 x 2880) and the unembedding (201088 x 2880) in bf16.
// Prints one JSON line per kernel: median microseconds over 50 runs, GB/s, % of copy bandwidth.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "cuda/device_buffer.h"
#include "cuda/kernels.h"

using namespace tessera;

namespace {

template <typename F>
double MedianUs(F&& launch) {
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  for (int i = 0; i < 5; ++i) launch();
  std::vector<double> t;
  for (int i = 0; i < 50; ++i) {
    cudaEventRecord(a);
    launch();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    t.push_back(ms * 1000.0);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

gpu::DeviceBuffer Alloc(std::size_t bytes) {
  auto b = gpu::DeviceBuffer::Allocate(bytes);
  if (!b.ok()) {
    std::cerr << b.status() << "\n";
    std::exit(1);
  }
  cudaMemset(b->get(), 0x35, bytes);
  return std::move(*b);
}

}  // namespace

int main() {
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  const std::size_t copy_bytes = 1ull << 30;
  gpu::DeviceBuffer src = Alloc(copy_bytes), dst = Alloc(copy_bytes);
  const double copy_us = MedianUs([&] { cudaMemcpy(dst.get(), src.get(), copy_bytes, cudaMemcpyDeviceToDevice); });
  const double copy_gbs = 2.0 * copy_bytes / copy_us / 1e3;  // read + write
  std::cout << nlohmann::json{{"gpu", prop.name}, {"kernel", "device copy 1 GiB"}, {"us", copy_us}, {"GB_per_s", copy_gbs}}.dump() << "\n";

  gpu::DeviceBuffer x = Alloc(8 * 2880 * 4), y = Alloc(201088 * 4);
  struct Shape { const char* name; int in, out; bool mxfp4; };
  for (Shape s : {Shape{"mxfp4 expert gate_up 5760x2880", 2880, 5760, true}, Shape{"mxfp4 expert down 2880x2880", 2880, 2880, true},
                  Shape{"bf16 q_proj 4096x2880", 2880, 4096, false}, Shape{"bf16 unembedding 201088x2880", 2880, 201088, false}}) {
    const std::size_t wbytes = s.mxfp4 ? static_cast<std::size_t>(s.out) * s.in / 2 : static_cast<std::size_t>(s.out) * s.in * 2;
    const std::size_t sbytes = s.mxfp4 ? static_cast<std::size_t>(s.out) * s.in / 32 : 0;
    gpu::DeviceBuffer w = Alloc(wbytes), sc = Alloc(std::max<std::size_t>(sbytes, 16));
    // Fresh random-ish weights are irrelevant to bandwidth; values only need to be finite.
    const double us = MedianUs([&] {
      Status st = s.mxfp4 ? gpu::Mxfp4Matvec(w.as<std::uint8_t>(), sc.as<std::uint8_t>(), x.as<float>(), nullptr, y.as<float>(), s.in, s.out)
                          : gpu::Bf16Matvec(w.as<std::uint16_t>(), x.as<float>(), nullptr, y.as<float>(), s.in, s.out);
      if (!st.ok()) std::cerr << st << "\n";
    });
    const double bytes = static_cast<double>(wbytes + sbytes);
    const double gbs = bytes / us / 1e3;
    std::cout << nlohmann::json{{"kernel", s.name}, {"bytes", bytes}, {"us", us}, {"GB_per_s", gbs},
                                {"fraction_of_copy", gbs / copy_gbs}}.dump() << "\n";
  }
  // One MoE layer's gate_up for the 4 selected experts of 128, as one launch and as 4 launches.
  {
    const int E = 128, k = 4, in = 2880, out = 5760;
    const std::size_t wbytes = static_cast<std::size_t>(E) * out * in / 2, sbytes = static_cast<std::size_t>(E) * out * in / 32;
    gpu::DeviceBuffer w = Alloc(wbytes), sc = Alloc(sbytes), ids = Alloc(k * sizeof(int)), yk = Alloc(k * out * 4);
    const int picked[k] = {3, 40, 77, 120};
    cudaMemcpy(ids.get(), picked, sizeof picked, cudaMemcpyHostToDevice);
    const double grouped = MedianUs([&] {
      Status st = gpu::Mxfp4MatvecExperts(w.as<std::uint8_t>(), sc.as<std::uint8_t>(), ids.as<int>(), k, x.as<float>(), 0,
                                          nullptr, yk.as<float>(), in, out);
      if (!st.ok()) std::cerr << st << "\n";
    });
    const double separate = MedianUs([&] {
      for (int j = 0; j < k; ++j) {
        const std::size_t e = picked[j];
        Status st = gpu::Mxfp4Matvec(w.as<std::uint8_t>() + e * out * in / 2, sc.as<std::uint8_t>() + e * out * in / 32,
                                     x.as<float>(), nullptr, yk.as<float>() + j * out, in, out);
        if (!st.ok()) std::cerr << st << "\n";
      }
    });
    const double bytes = k * (static_cast<double>(out) * in / 2 + static_cast<double>(out) * in / 32);
    std::cout << nlohmann::json{{"kernel", "mxfp4 4 experts gate_up, one launch"}, {"bytes", bytes}, {"us", grouped},
                                {"GB_per_s", bytes / grouped / 1e3}, {"fraction_of_copy", bytes / grouped / 1e3 / copy_gbs}}.dump() << "\n";
    std::cout << nlohmann::json{{"kernel", "mxfp4 4 experts gate_up, 4 launches"}, {"bytes", bytes}, {"us", separate},
                                {"GB_per_s", bytes / separate / 1e3}, {"fraction_of_copy", bytes / separate / 1e3 / copy_gbs}}.dump() << "\n";
  }
  return 0;
}
