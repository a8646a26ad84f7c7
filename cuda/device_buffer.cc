#include "cuda/device_buffer.h"

#include <cuda_runtime_api.h>

namespace tessera::gpu {

Status CudaStatus(int err, const char* what) {
  if (err == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", cudaGetErrorString(static_cast<cudaError_t>(err))));
}

StatusOr<DeviceBuffer> DeviceBuffer::Allocate(std::size_t bytes) {
  DeviceBuffer b;
  TESSERA_RETURN_IF_ERROR(CudaStatus(cudaMalloc(&b.ptr_, bytes), "cudaMalloc"));
  b.bytes_ = bytes;
  return b;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}

Status DeviceBuffer::CopyFrom(std::span<const std::byte> host) {
  if (host.size() > bytes_) return absl::InvalidArgumentError("copy larger than the device buffer");
  return CudaStatus(cudaMemcpy(ptr_, host.data(), host.size(), cudaMemcpyHostToDevice), "cudaMemcpy to device");
}

Status DeviceBuffer::CopyTo(std::span<std::byte> host) const {
  if (host.size() > bytes_) return absl::InvalidArgumentError("copy larger than the device buffer");
  return CudaStatus(cudaMemcpy(host.data(), ptr_, host.size(), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
}

}  // namespace tessera::gpu
