// Errors cross module borders as values: absl::Status / absl::StatusOr, the same codes gRPC uses.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace tessera {

using absl::Status;
using absl::StatusOr;

}  // namespace tessera

// Evaluates a Status expression; returns it from the enclosing function when not ok.
#define TESSERA_RETURN_IF_ERROR(expr)                \
  do {                                               \
    ::absl::Status tessera_status_ = (expr);         \
    if (!tessera_status_.ok()) return tessera_status_; \
  } while (0)

#define TESSERA_CONCAT_INNER_(a, b) a##b
#define TESSERA_CONCAT_(a, b) TESSERA_CONCAT_INNER_(a, b)

// Assigns the value of a StatusOr expression to `lhs`, or returns its error.
#define TESSERA_ASSIGN_OR_RETURN(lhs, expr)                                 \
  auto TESSERA_CONCAT_(tessera_or_, __LINE__) = (expr);                     \
  if (!TESSERA_CONCAT_(tessera_or_, __LINE__).ok())                         \
    return std::move(TESSERA_CONCAT_(tessera_or_, __LINE__)).status();      \
  lhs = std::move(TESSERA_CONCAT_(tessera_or_, __LINE__)).value()
