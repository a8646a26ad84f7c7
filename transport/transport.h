// The data plane: how workers move activations to each other. Point-to-point messages between
// ranks plus the one collective the runtime needs (a sum over an expert group). The TCP
// implementation serves CPU workers; an NCCL one implements the same interface on GPUs.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>

#include "core/status.h"

namespace tessera {

class Transport {
 public:
  virtual ~Transport() = default;

  virtual int rank() const = 0;
  // Sends one message to `peer`. Messages between two ranks arrive in the order sent.
  virtual Status Send(int peer, std::span<const std::byte> data) = 0;
  // Receives the next message from `peer`; its size must equal data.size(). DeadlineExceeded
  // when nothing arrives within `timeout` (a dead or stuck peer), never a hang.
  virtual Status Recv(int peer, std::span<std::byte> data, std::chrono::milliseconds timeout) = 0;

  // Sums `data` element-wise over the ranks in `group` (this rank included). Every member
  // adds the contributions in group order, so all get bit-identical results.
  virtual Status AllReduceSum(std::span<float> data, std::span<const int> group,
                              std::chrono::milliseconds timeout);
};

}  // namespace tessera
