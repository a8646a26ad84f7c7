// The Worker gRPC service: shard loading, steps, drain and shutdown.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "tessera/v1/control.grpc.pb.h"
#include "transport/tcp_transport.h"
#include "worker/shard_runner.h"

namespace tessera {

class WorkerService final : public v1::Worker::Service {
 public:
  explicit WorkerService(TcpTransport* transport, std::chrono::milliseconds peer_timeout)
      : transport_(transport), peer_timeout_(peer_timeout) {}

  grpc::Status LoadShard(grpc::ServerContext* ctx, const v1::LoadShardRequest* req,
                         grpc::ServerWriter<v1::LoadProgress>* writer) override;
  grpc::Status Step(grpc::ServerContext* ctx, const v1::StepRequest* req, v1::StepResponse* resp) override;
  grpc::Status Drain(grpc::ServerContext* ctx, const v1::DrainRequest* req, v1::DrainResponse* resp) override;
  grpc::Status Shutdown(grpc::ServerContext* ctx, const v1::ShutdownRequest* req, v1::ShutdownResponse* resp) override;

  v1::WorkerState state() const { return state_; }
  std::uint64_t steps_done() const { return steps_done_; }
  double last_step_ms() const { return last_step_ms_; }
  std::uint64_t kv_blocks_used() const { return kv_blocks_used_; }
  // Blocks until Shutdown is called or `deadline` passes; true when shutdown was asked for.
  bool WaitForShutdown(std::chrono::steady_clock::time_point deadline);
  void RequestShutdown();

 private:
  TcpTransport* transport_;
  std::chrono::milliseconds peer_timeout_;
  std::mutex step_mu_;  // steps run one at a time, in arrival order
  std::unique_ptr<ShardRunner> runner_;
  std::atomic<v1::WorkerState> state_{v1::WORKER_STATE_IDLE};
  std::atomic<std::uint64_t> steps_done_{0}, kv_blocks_used_{0};
  std::atomic<double> last_step_ms_{0};
  std::mutex shutdown_mu_;
  std::condition_variable shutdown_cv_;
  bool shutdown_ = false;
};

}  // namespace tessera
