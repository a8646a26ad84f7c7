// The step loop: takes steps from the scheduler, sends each to every worker of the replica at
// once, and feeds the sampled tokens back. A failed or timed-out worker fails the step's
// requests with an error naming it; nothing waits forever.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <thread>
#include <vector>

#include "coordinator/scheduler.h"
#include "tessera/v1/control.grpc.pb.h"

namespace tessera {

struct WorkerHandle {
  std::string id;
  std::unique_ptr<v1::Worker::Stub> stub;
  bool samples = false;  // the rank that returns sampled tokens
};

// Control-plane cost of the steps so far: what the coordinator sent and received over gRPC.
struct EngineStats {
  std::uint64_t steps = 0;
  std::uint64_t round_trips = 0;       // Step RPCs (one per worker per step)
  std::uint64_t request_bytes = 0;     // serialized StepRequests, summed over workers
  std::uint64_t response_bytes = 0;
  double step_wall_ms = 0;             // coordinator's view: fan-out to last reply
  double worker_compute_ms = 0;        // sum over steps of the slowest worker's compute
  std::uint64_t tokens = 0;            // tokens processed (prefill + decode)
};

class Engine {
 public:
  Engine(std::vector<WorkerHandle> workers, SchedulerOptions options, std::chrono::milliseconds step_timeout);
  ~Engine();

  StatusOr<std::future<Completion>> Submit(RequestSpec spec);
  // Fails everything queued and running; with `sticky`, later submissions get the same error
  // (the replica lost a worker and cannot serve).
  void FailAll(const Status& error, bool sticky = false);
  EngineStats stats() const;
  const Scheduler& scheduler() const { return scheduler_; }

 private:
  void Loop();
  Status RunStep(const v1::StepRequest& step, v1::StepResponse& sampled);

  std::vector<WorkerHandle> workers_;
  Scheduler scheduler_;
  std::chrono::milliseconds step_timeout_;
  std::atomic<bool> stop_{false};
  std::mutex unavailable_mu_;
  Status unavailable_;
  std::mutex mu_;
  std::condition_variable wake_;
  mutable std::mutex stats_mu_;
  EngineStats stats_;
  std::thread loop_;
};

}  // namespace tessera
