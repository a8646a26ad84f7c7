// Which workers exist and whether they are alive. Workers register and send heartbeats; a worker
// silent for longer than the timeout is marked unhealthy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "tessera/v1/control.grpc.pb.h"

namespace tessera {

struct WorkerInfo {
  std::string id, control_address, data_address;
  std::vector<v1::Device> devices;
  v1::WorkerState state = v1::WORKER_STATE_IDLE;
  bool healthy = true;
  std::chrono::steady_clock::time_point last_heartbeat;
  std::uint64_t steps_done = 0;
  double last_step_ms = 0;
  std::uint64_t kv_blocks_used = 0;
};

class Membership {
 public:
  explicit Membership(std::chrono::milliseconds heartbeat_timeout) : timeout_(heartbeat_timeout) {}

  Status Register(const v1::RegisterRequest& req);
  // False when the worker is unknown (it must register again).
  bool Heartbeat(const v1::HeartbeatRequest& req);
  // Marks workers silent past the timeout unhealthy; returns the ids newly marked.
  std::vector<std::string> CheckHealth();
  // Waits until `n` workers are registered; registration order is kept.
  StatusOr<std::vector<WorkerInfo>> WaitForWorkers(std::size_t n, std::chrono::milliseconds timeout);
  std::vector<WorkerInfo> Snapshot() const;

 private:
  std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> order_;
  std::map<std::string, WorkerInfo> workers_;
};

// The Coordinator gRPC service, backed by a Membership.
class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(Membership* m, std::uint32_t heartbeat_interval_ms)
      : membership_(m), interval_ms_(heartbeat_interval_ms) {}
  grpc::Status Register(grpc::ServerContext*, const v1::RegisterRequest* req, v1::RegisterResponse* resp) override;
  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req, v1::HeartbeatResponse* resp) override;

 private:
  Membership* membership_;
  std::uint32_t interval_ms_;
};

}  // namespace tessera
