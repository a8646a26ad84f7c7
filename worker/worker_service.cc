#include "worker/worker_service.h"

#include "model/load.h"
#include "core/log.h"

namespace tessera {
namespace {

grpc::Status ToGrpc(const Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

StatusOr<std::unique_ptr<CpuModel>> LoadModel(const v1::LoadShardRequest& req) {
  ShardSpec spec;
  spec.layer_begin = req.layer_begin();
  spec.layer_end = req.layer_end();
  spec.embedding = req.embedding();
  spec.unembedding = req.unembedding();
  spec.experts.assign(req.experts().begin(), req.experts().end());
  if (spec.experts.empty())
    return absl::InvalidArgumentError("the shard holds no experts");
  KvCacheOptions kv;
  if (req.kv_block_tokens() > 0) kv.block_tokens = req.kv_block_tokens();
  if (req.kv_blocks() > 0) kv.max_blocks = req.kv_blocks();
  return LoadCpuModel(req.model_dir(), spec, kv);
}

}  // namespace

grpc::Status WorkerService::LoadShard(grpc::ServerContext*, const v1::LoadShardRequest* req,
                                      grpc::ServerWriter<v1::LoadProgress>* writer) {
  auto log = Logger("worker");
  state_ = v1::WORKER_STATE_LOADING;
  v1::LoadProgress progress;
  progress.set_phase("opening");
  writer->Write(progress);
  auto fail = [&](const Status& s) {
    state_ = v1::WORKER_STATE_FAILED;
    log->error("rank {}: cannot load shard (layers {}-{}): {}", req->rank(), req->layer_begin(),
               req->layer_end() - 1, std::string(s.message()));
    return ToGrpc(s);
  };
  StatusOr<Placement> placement = PlacementFromPeers(*req);
  if (!placement.ok()) return fail(placement.status());
  StatusOr<std::unique_ptr<CpuModel>> model = LoadModel(*req);
  if (!model.ok()) return fail(model.status());
  std::map<int, std::string> peers;
  for (const v1::Peer& p : req->peers()) peers[p.rank()] = p.data_address();
  transport_->Configure(req->rank(), std::move(peers));
  {
    std::lock_guard lock(step_mu_);
    runner_ = std::make_unique<ShardRunner>(std::move(*model), transport_, *placement, peer_timeout_);
  }
  state_ = v1::WORKER_STATE_READY;
  progress.set_phase("ready");
  progress.set_fraction(1.0f);
  writer->Write(progress);
  log->info("rank {}: stage {}/{} group rank {}, layers {}-{}, {} experts", req->rank(), req->stage(),
            req->num_stages(), req->group_rank(), req->layer_begin(), req->layer_end() - 1, req->experts_size());
  return grpc::Status::OK;
}

grpc::Status WorkerService::Step(grpc::ServerContext*, const v1::StepRequest* req, v1::StepResponse* resp) {
  std::lock_guard lock(step_mu_);
  if (!runner_) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no shard loaded");
  const auto start = std::chrono::steady_clock::now();
  StatusOr<v1::StepResponse> r = runner_->Step(*req);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!r.ok()) {
    Logger("worker")->error("step {} failed: {}", req->step_id(), std::string(r.status().message()));
    return ToGrpc(r.status());
  }
  *resp = std::move(*r);
  resp->set_compute_ms(ms);
  last_step_ms_ = ms;
  kv_blocks_used_ = static_cast<std::uint64_t>(runner_->kv_blocks_used());
  ++steps_done_;
  return grpc::Status::OK;
}

grpc::Status WorkerService::Drain(grpc::ServerContext*, const v1::DrainRequest*, v1::DrainResponse*) {
  state_ = v1::WORKER_STATE_DRAINING;
  return grpc::Status::OK;
}

grpc::Status WorkerService::Shutdown(grpc::ServerContext*, const v1::ShutdownRequest* req, v1::ShutdownResponse*) {
  Logger("worker")->info("shutdown requested: {}", req->reason());
  RequestShutdown();
  return grpc::Status::OK;
}

void WorkerService::RequestShutdown() {
  std::lock_guard lock(shutdown_mu_);
  shutdown_ = true;
  shutdown_cv_.notify_all();
}

bool WorkerService::WaitForShutdown(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(shutdown_mu_);
  return shutdown_cv_.wait_until(lock, deadline, [&] { return shutdown_; });
}

}  // namespace tessera
