// Owning handle of device memory (RAII) and CUDA error conversion.
#pragma once

#include <cstddef>
#include <span>

#include "core/status.h"
#include "cuda/cuda_status.h"

namespace tessera::gpu {

class DeviceBuffer {
 public:
  static StatusOr<DeviceBuffer> Allocate(std::size_t bytes);
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();

  void* get() const { return ptr_; }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }
  std::size_t bytes() const { return bytes_; }

  Status CopyFrom(std::span<const std::byte> host);
  Status CopyTo(std::span<std::byte> host) const;

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace tessera::gpu
