// Brings up a serving cluster: the coordinator's gRPC service, the workers (spawned locally or
// registering from other machines), one shard per worker, and the engine that drives them.
// A worker that cannot load its shard stops the bring-up with an error naming it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "coordinator/engine.h"
#include "coordinator/local_workers.h"
#include "coordinator/membership.h"
#include "sharding/planner.h"

#include <grpcpp/server.h>

namespace tessera {

struct ClusterOptions {
  std::string listen = "127.0.0.1:0";  // coordinator control address
  std::string model_dir;
  int workers = 1;
  int replicas = 1;       // independent copies of the model, each on stages x expert_groups workers
  int stages = 1;         // pipeline stages (contiguous layer ranges)
  int expert_groups = 1;  // ranks per stage, each holding a share of the experts
  // When set, the shard planner chooses replicas x stages x expert groups and the layer ranges
  // from the registered workers' devices (replicas/stages/expert_groups above are ignored).
  std::optional<Policy> policy;
  bool spawn_local = true;
  std::string self_exe = "/proc/self/exe";
  std::vector<std::string> worker_args;  // extra flags for spawned workers
  SchedulerOptions scheduler;
  std::chrono::milliseconds register_timeout{30000};
  std::chrono::milliseconds step_timeout{120000};
  std::chrono::milliseconds heartbeat_timeout{3000};  // 6 missed beats: tolerant of a loaded host
  std::uint32_t heartbeat_interval_ms = 500;
};

// One worker's share of the model.
struct ShardAssignment {
  int rank, stage, group_rank;
  int layer_begin, layer_end;
  std::vector<int> experts;
};

// stages x expert_groups grid: layers split evenly into contiguous ranges, experts into
// contiguous blocks per group rank.
StatusOr<std::vector<ShardAssignment>> GridPlan(int num_layers, int num_experts, int stages, int expert_groups);

class Cluster {
 public:
  static StatusOr<std::unique_ptr<Cluster>> Start(const ClusterOptions& options);
  ~Cluster();

  // Routes a request to the healthy replica with the least work queued and running. A replica
  // that lost a worker takes no more requests; Unavailable (with the reason) when none is left.
  StatusOr<std::future<Completion>> Submit(RequestSpec spec);
  Engine& engine(int replica = 0) { return *replicas_[replica]->engine; }
  int replicas() const { return static_cast<int>(replicas_.size()); }
  const std::string& address() const { return address_; }
  // False once every replica has lost a worker.
  bool healthy() const { return healthy_; }
  const Membership& membership() const { return membership_; }

 private:
  explicit Cluster(const ClusterOptions& o) : options_(o), membership_(o.heartbeat_timeout) {}
  Status BringUp();
  // Per replica: (index into workers_, assignment with ranks numbered within the replica).
  using Layout = std::vector<std::vector<std::pair<int, ShardAssignment>>>;
  StatusOr<Layout> PlanLayout(const ModelConfig& config);
  void Monitor();

  ClusterOptions options_;
  Membership membership_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  LocalWorkers local_;
  struct Replica {
    std::unique_ptr<Engine> engine;
    std::vector<std::string> worker_ids;
    std::atomic<bool> healthy{true};
    Status lost;  // why it stopped serving
  };
  std::vector<WorkerInfo> workers_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::atomic<bool> healthy_{false}, stop_{false};
  std::thread monitor_;
};

}  // namespace tessera
