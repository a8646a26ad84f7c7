#include "coordinator/cluster.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "checkpoint/checkpoint.h"
#include "core/log.h"
#include "model/config.h"

namespace tessera {

StatusOr<std::vector<ShardAssignment>> GridPlan(int num_layers, int num_experts, int stages, int groups) {
  if (stages < 1 || stages > num_layers)
    return absl::InvalidArgumentError(absl::StrCat("stages must be in 1..", num_layers, ", got ", stages));
  if (groups < 1 || groups > num_experts)
    return absl::InvalidArgumentError(absl::StrCat("expert groups must be in 1..", num_experts, ", got ", groups));
  std::vector<ShardAssignment> out;
  for (int s = 0; s < stages; ++s) {
    const int lb = num_layers * s / stages, le = num_layers * (s + 1) / stages;
    for (int g = 0; g < groups; ++g) {
      ShardAssignment a{s * groups + g, s, g, lb, le, {}};
      for (int e = num_experts * g / groups; e < num_experts * (g + 1) / groups; ++e) a.experts.push_back(e);
      out.push_back(std::move(a));
    }
  }
  return out;
}

namespace {

Status Load(const WorkerInfo& w, const v1::LoadShardRequest& req) {
  auto stub = v1::Worker::NewStub(grpc::CreateChannel(w.control_address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
  auto reader = stub->LoadShard(&ctx, req);
  v1::LoadProgress p;
  while (reader->Read(&p)) {
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("worker ", w.id, " (rank ", req.rank(), ", layers ", req.layer_begin(),
                                                      "-", req.layer_end() - 1, ") cannot load its shard: ", s.error_message()));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<Cluster>> Cluster::Start(const ClusterOptions& options) {
  std::unique_ptr<Cluster> c(new Cluster(options));
  Status s = c->BringUp();
  if (!s.ok()) return s;  // the destructor shuts down whatever started
  return c;
}

Status Cluster::BringUp() {
  auto log = Logger("coordinator");
  const ClusterOptions& o = options_;
  if (o.workers != o.stages * o.expert_groups)
    return absl::InvalidArgumentError(absl::StrCat(o.workers, " workers do not form a grid of ", o.stages, " stages x ",
                                                   o.expert_groups, " expert groups (one replica)"));
  TESSERA_ASSIGN_OR_RETURN(Checkpoint ckpt, Checkpoint::Open(o.model_dir));
  TESSERA_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(ckpt.config_dir() + "/config.json"));
  TESSERA_ASSIGN_OR_RETURN(std::vector<ShardAssignment> plan,
                           GridPlan(config.num_layers, config.num_experts, o.stages, o.expert_groups));

  service_ = std::make_unique<CoordinatorService>(&membership_, o.heartbeat_interval_ms);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(o.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", o.listen));
  address_ = absl::StrCat(o.listen.substr(0, o.listen.rfind(':')), ":", port);
  log->info("coordinator listening on {}", address_);

  if (o.spawn_local) {
    TESSERA_ASSIGN_OR_RETURN(local_, LocalWorkers::Spawn(o.self_exe, o.workers, address_, o.worker_args));
  }
  TESSERA_ASSIGN_OR_RETURN(workers_, membership_.WaitForWorkers(o.workers, o.register_timeout));

  // Every rank learns every peer's data address up front (the data-plane bootstrap).
  std::vector<v1::LoadShardRequest> reqs(plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const ShardAssignment& a = plan[i];
    v1::LoadShardRequest& r = reqs[i];
    r.set_model_dir(o.model_dir);
    r.set_rank(a.rank);
    r.set_stage(a.stage);
    r.set_num_stages(o.stages);
    r.set_group_rank(a.group_rank);
    r.set_group_size(o.expert_groups);
    r.set_layer_begin(a.layer_begin);
    r.set_layer_end(a.layer_end);
    for (int e : a.experts) r.add_experts(e);
    r.set_embedding(a.stage == 0);
    r.set_unembedding(a.stage == o.stages - 1 && a.group_rank == 0);
    r.set_kv_blocks(o.scheduler.kv_blocks);
    r.set_kv_block_tokens(o.scheduler.kv_block_tokens);
    r.set_data_plane("tcp");
    for (const ShardAssignment& b : plan) {
      v1::Peer* p = r.add_peers();
      p->set_rank(b.rank);
      p->set_stage(b.stage);
      p->set_group_rank(b.group_rank);
      p->set_data_address(workers_[b.rank].data_address);
    }
  }
  std::vector<Status> loaded(plan.size());
  std::vector<std::thread> loaders;
  for (std::size_t i = 0; i < plan.size(); ++i)
    loaders.emplace_back([&, i] { loaded[i] = Load(workers_[i], reqs[i]); });
  for (auto& t : loaders) t.join();
  for (const Status& s : loaded) TESSERA_RETURN_IF_ERROR(s);

  std::vector<WorkerHandle> handles;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    handles.push_back({workers_[i].id,
                       v1::Worker::NewStub(grpc::CreateChannel(workers_[i].control_address, grpc::InsecureChannelCredentials())),
                       plan[i].stage == o.stages - 1 && plan[i].group_rank == 0});
  }
  SchedulerOptions so = o.scheduler;
  so.max_context = config.max_context;
  engine_ = std::make_unique<Engine>(std::move(handles), so, o.step_timeout);
  healthy_ = true;
  monitor_ = std::thread([this] { Monitor(); });
  log->info("serving {} on {} workers ({} stages x {} expert groups)", o.model_dir, o.workers, o.stages, o.expert_groups);
  return absl::OkStatus();
}

void Cluster::Monitor() {
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.heartbeat_interval_ms));
    std::vector<std::string> lost;
    for (const std::string& id : membership_.CheckHealth()) lost.push_back(id + " (missed heartbeats)");
    for (const std::string& e : local_.Exited()) lost.push_back(e);
    if (!lost.empty() && healthy_) {
      healthy_ = false;
      const Status err = absl::UnavailableError(absl::StrCat("worker ", lost.front(), " lost; the replica cannot serve"));
      Logger("coordinator")->error("{}", std::string(err.message()));
      engine_->FailAll(err, /*sticky=*/true);
    }
  }
}

Cluster::~Cluster() {
  stop_ = true;
  if (monitor_.joinable()) monitor_.join();
  engine_.reset();
  for (const WorkerInfo& w : membership_.Snapshot()) {
    auto stub = v1::Worker::NewStub(grpc::CreateChannel(w.control_address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    v1::ShutdownRequest req;
    req.set_reason("coordinator shutting down");
    v1::ShutdownResponse resp;
    stub->Shutdown(&ctx, req, &resp);
  }
  local_.Stop(3000);
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace tessera
