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
  if (!o.policy && (o.replicas < 1 || o.workers != o.replicas * o.stages * o.expert_groups))
    return absl::InvalidArgumentError(absl::StrCat(o.workers, " workers do not form ", o.replicas, " replicas of ",
                                                   o.stages, " stages x ", o.expert_groups, " expert groups"));
  TESSERA_ASSIGN_OR_RETURN(Checkpoint ckpt, Checkpoint::Open(o.model_dir));
  TESSERA_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(ckpt.config_dir() + "/config.json"));

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

  TESSERA_ASSIGN_OR_RETURN(Layout layout, PlanLayout(config));
  const int num_stages = 1 + std::max_element(layout[0].begin(), layout[0].end(), [](const auto& a, const auto& b) {
                               return a.second.stage < b.second.stage;
                             })->second.stage;

  // Every rank learns every peer's data address up front (the data-plane bootstrap). Ranks are
  // numbered within a replica.
  std::vector<v1::LoadShardRequest> reqs;
  std::vector<int> req_worker;
  for (const auto& replica : layout) {
    for (const auto& [w, a] : replica) {
      v1::LoadShardRequest req;
      req.set_model_dir(o.model_dir);
      req.set_rank(a.rank);
      req.set_stage(a.stage);
      req.set_num_stages(num_stages);
      req.set_group_rank(a.group_rank);
      int group_size = 0;
      for (const auto& [w2, b] : replica) group_size += b.stage == a.stage;
      req.set_group_size(group_size);
      req.set_layer_begin(a.layer_begin);
      req.set_layer_end(a.layer_end);
      for (int e : a.experts) req.add_experts(e);
      req.set_embedding(a.stage == 0);
      req.set_unembedding(a.stage == num_stages - 1 && a.group_rank == 0);
      req.set_kv_blocks(o.scheduler.kv_blocks);
      req.set_kv_block_tokens(o.scheduler.kv_block_tokens);
      req.set_data_plane("tcp");
      for (const auto& [w2, b] : replica) {
        v1::Peer* p = req.add_peers();
        p->set_rank(b.rank);
        p->set_stage(b.stage);
        p->set_group_rank(b.group_rank);
        p->set_data_address(workers_[w2].data_address);
      }
      reqs.push_back(std::move(req));
      req_worker.push_back(w);
    }
  }
  std::vector<Status> loaded(reqs.size());
  std::vector<std::thread> loaders;
  for (std::size_t i = 0; i < reqs.size(); ++i)
    loaders.emplace_back([&, i] { loaded[i] = Load(workers_[req_worker[i]], reqs[i]); });
  for (auto& t : loaders) t.join();
  for (const Status& s : loaded) TESSERA_RETURN_IF_ERROR(s);

  SchedulerOptions so = o.scheduler;
  so.max_context = config.max_context;
  for (const auto& replica : layout) {
    auto rep = std::make_unique<Replica>();
    std::vector<WorkerHandle> handles;
    for (const auto& [w, a] : replica) {
      rep->worker_ids.push_back(workers_[w].id);
      handles.push_back({workers_[w].id,
                         v1::Worker::NewStub(grpc::CreateChannel(workers_[w].control_address, grpc::InsecureChannelCredentials())),
                         a.stage == num_stages - 1 && a.group_rank == 0});
    }
    rep->engine = std::make_unique<Engine>(std::move(handles), so, o.step_timeout);
    replicas_.push_back(std::move(rep));
  }
  healthy_ = true;
  monitor_ = std::thread([this] { Monitor(); });
  log->info("serving {} on {} workers: {} replicas x {} stages x {} ranks per stage", o.model_dir, o.workers,
            layout.size(), num_stages, layout[0].size() / num_stages);
  return absl::OkStatus();
}

StatusOr<Cluster::Layout> Cluster::PlanLayout(const ModelConfig& config) {
  const ClusterOptions& o = options_;
  Layout layout;
  if (!o.policy) {
    TESSERA_ASSIGN_OR_RETURN(std::vector<ShardAssignment> grid,
                             GridPlan(config.num_layers, config.num_experts, o.stages, o.expert_groups));
    const int per = static_cast<int>(grid.size());
    for (int r = 0; r < o.replicas; ++r) {
      layout.emplace_back();
      for (int i = 0; i < per; ++i) layout.back().push_back({r * per + i, grid[i]});
    }
    return layout;
  }
  // The planner places shards by the memory and bandwidth each worker reported.
  std::vector<DeviceSpec> devices;
  for (const WorkerInfo& w : workers_) {
    DeviceSpec d;
    d.kind = w.devices.empty() ? "cpu" : w.devices[0].kind();
    d.memory_bytes = w.devices.empty() ? 0 : w.devices[0].memory_bytes();
    d.hbm_bytes_per_s = w.devices.empty() || w.devices[0].bandwidth_bytes_per_s() <= 0
                            ? DefaultBandwidth(d.kind, d.memory_bytes)
                            : w.devices[0].bandwidth_bytes_per_s();
    d.name = w.id;
    devices.push_back(d);
  }
  PlanOptions po;
  po.min_kv_tokens = std::min<std::int64_t>(po.min_kv_tokens, config.max_context);
  TESSERA_ASSIGN_OR_RETURN(Plan plan, MakePlan(config, devices, *o.policy, po));
  layout.resize(plan.replicas.size());
  for (std::size_t d = 0; d < plan.assignments.size(); ++d) {
    const DeviceAssignment& a = plan.assignments[d];
    ShardAssignment s{a.stage * plan.groups_per_stage + a.group_rank, a.stage, a.group_rank,
                      a.layer_begin, a.layer_end, a.experts};
    layout[a.replica].push_back({static_cast<int>(d), s});
  }
  for (auto& replica : layout)
    std::sort(replica.begin(), replica.end(), [](const auto& x, const auto& y) { return x.second.rank < y.second.rank; });
  Logger("coordinator")->info("planned with the {} policy:\n{}", PolicyName(*o.policy), FormatPlan(plan));
  return layout;
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
