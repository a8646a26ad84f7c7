// CUDA error codes as Status values (kept free of C++20-only headers: kernels include it).
#pragma once

#include "core/status.h"

namespace tessera::gpu {

// OK, or an Internal error naming `what` and CUDA's message for `err` (a cudaError_t).
Status CudaStatus(int err, const char* what);

}  // namespace tessera::gpu
