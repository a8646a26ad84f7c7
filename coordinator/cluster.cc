#include "coordinator/cluster.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>

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
  if (o.replicas < 1 || o.workers != o.replicas * o.stages * o.expert_groups)
    return absl::InvalidArgumentError(absl::StrCat(o.workers, " workers do not form ", o.replicas, " replicas of ",
                                                   o.stages, " stages x ", o.expert_groups, " expert groups"));
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

  // Every rank learns every peer's data address up front (the data-plane bootstrap). Ranks are
  // numbered within a replica; replica r uses workers [r * per, (r + 1) * per).
  const std::size_t per = plan.size();
  std::vector<v1::LoadShardRequest> reqs(per * o.replicas);
  for (int r = 0; r < o.replicas; ++r) {
    for (std::size_t i = 0; i < per; ++i) {
      const ShardAssignment& a = plan[i];
      v1::LoadShardRequest& req = reqs[r * per + i];
      req.set_model_dir(o.model_dir);
      req.set_rank(a.rank);
      req.set_stage(a.stage);
      req.set_num_stages(o.stages);
      req.set_group_rank(a.group_rank);
      req.set_group_size(o.expert_groups);
      req.set_layer_begin(a.layer_begin);
      req.set_layer_end(a.layer_end);
      for (int e : a.experts) req.add_experts(e);
      req.set_embedding(a.stage == 0);
      req.set_unembedding(a.stage == o.stages - 1 && a.group_rank == 0);
      req.set_kv_blocks(o.scheduler.kv_blocks);
      req.set_kv_block_tokens(o.scheduler.kv_block_tokens);
      req.set_data_plane("tcp");
      for (const ShardAssignment& b : plan) {
        v1::Peer* p = req.add_peers();
        p->set_rank(b.rank);
        p->set_stage(b.stage);
        p->set_group_rank(b.group_rank);
        p->set_data_address(workers_[r * per + b.rank].data_address);
      }
    }
  }
  std::vector<Status> loaded(reqs.size());
  std::vector<std::thread> loaders;
  for (std::size_t i = 0; i < reqs.size(); ++i)
    loaders.emplace_back([&, i] { loaded[i] = Load(workers_[i], reqs[i]); });
  for (auto& t : loaders) t.join();
  for (const Status& s : loaded) TESSERA_RETURN_IF_ERROR(s);

  SchedulerOptions so = o.scheduler;
  so.max_context = config.max_context;
  for (int r = 0; r < o.replicas; ++r) {
    auto rep = std::make_unique<Replica>();
    std::vector<WorkerHandle> handles;
    for (std::size_t i = 0; i < per; ++i) {
      const WorkerInfo& w = workers_[r * per + i];
      rep->worker_ids.push_back(w.id);
      handles.push_back({w.id, v1::Worker::NewStub(grpc::CreateChannel(w.control_address, grpc::InsecureChannelCredentials())),
                         plan[i].stage == o.stages - 1 && plan[i].group_rank == 0});
    }
    rep->engine = std::make_unique<Engine>(std::move(handles), so, o.step_timeout);
    replicas_.push_back(std::move(rep));
  }
  healthy_ = true;
  monitor_ = std::thread([this] { Monitor(); });
  log->info("serving {} on {} workers ({} replicas x {} stages x {} expert groups)", o.model_dir, o.workers,
            o.replicas, o.stages, o.expert_groups);
  return absl::OkStatus();
}

StatusOr<std::future<Completion>> Cluster::Submit(RequestSpec spec) {
  Replica* best = nullptr;
  std::size_t best_load = 0;
  Status why = absl::UnavailableError("no replica is serving");
  for (auto& r : replicas_) {
    if (!r->healthy) {
      why = r->lost;
      continue;
    }
    const std::size_t load = r->engine->scheduler().queued() + r->engine->scheduler().running();
    if (!best || load < best_load) best = r.get(), best_load = load;
  }
  if (!best) return why;
  return best->engine->Submit(std::move(spec));
}

void Cluster::Monitor() {
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.heartbeat_interval_ms));
    std::vector<std::string> lost;
    for (const std::string& id : membership_.CheckHealth()) lost.push_back(id + " (missed heartbeats)");
    for (const std::string& e : local_.Exited()) lost.push_back(e);
    for (const std::string& what : lost) {
      const std::string id = what.substr(0, what.find(" ("));
      for (std::size_t r = 0; r < replicas_.size(); ++r) {
        Replica& rep = *replicas_[r];
        if (!rep.healthy || std::find(rep.worker_ids.begin(), rep.worker_ids.end(), id) == rep.worker_ids.end()) continue;
        rep.lost = absl::UnavailableError(absl::StrCat("worker ", what, " lost; replica ", r, " cannot serve"));
        rep.healthy = false;
        Logger("coordinator")->error("{}", std::string(rep.lost.message()));
        rep.engine->FailAll(rep.lost, /*sticky=*/true);
      }
    }
    bool any = false;
    for (const auto& r : replicas_) any = any || r->healthy;
    healthy_ = any;
  }
}

Cluster::~Cluster() {
  stop_ = true;
  if (monitor_.joinable()) monitor_.join();
  replicas_.clear();
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
