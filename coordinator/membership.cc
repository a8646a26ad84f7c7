#include "coordinator/membership.h"

#include "core/log.h"

namespace tessera {

Status Membership::Register(const v1::RegisterRequest& req) {
  if (req.worker_id().empty() || req.control_address().empty() || req.data_address().empty())
    return absl::InvalidArgumentError("registration needs a worker id, a control address and a data address");
  std::lock_guard lock(mu_);
  auto [it, fresh] = workers_.try_emplace(req.worker_id());
  WorkerInfo& w = it->second;
  w.id = req.worker_id();
  w.control_address = req.control_address();
  w.data_address = req.data_address();
  w.devices.assign(req.devices().begin(), req.devices().end());
  w.healthy = true;
  w.last_heartbeat = std::chrono::steady_clock::now();
  if (fresh) order_.push_back(w.id);
  Logger("coordinator")->info("worker {} registered ({}), {} known", w.id, w.control_address, workers_.size());
  changed_.notify_all();
  return absl::OkStatus();
}

bool Membership::Heartbeat(const v1::HeartbeatRequest& req) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(req.worker_id());
  if (it == workers_.end()) return false;
  WorkerInfo& w = it->second;
  w.last_heartbeat = std::chrono::steady_clock::now();
  w.state = req.state();
  w.steps_done = req.steps_done();
  w.last_step_ms = req.last_step_ms();
  w.kv_blocks_used = req.kv_blocks_used();
  if (!w.healthy) Logger("coordinator")->info("worker {} is healthy again", w.id);
  w.healthy = true;
  return true;
}

std::vector<std::string> Membership::CheckHealth() {
  std::lock_guard lock(mu_);
  std::vector<std::string> lost;
  const auto now = std::chrono::steady_clock::now();
  for (auto& [id, w] : workers_) {
    if (w.healthy && now - w.last_heartbeat > timeout_) {
      w.healthy = false;
      lost.push_back(id);
      Logger("coordinator")->warn("worker {} missed heartbeats for {} ms: unhealthy", id, timeout_.count());
    }
  }
  return lost;
}

StatusOr<std::vector<WorkerInfo>> Membership::WaitForWorkers(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!changed_.wait_for(lock, timeout, [&] { return order_.size() >= n; }))
    return absl::DeadlineExceededError(absl::StrCat("only ", order_.size(), " of ", n, " workers registered within ",
                                                    timeout.count(), " ms"));
  std::vector<WorkerInfo> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(workers_.at(order_[i]));
  return out;
}

std::vector<WorkerInfo> Membership::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<WorkerInfo> out;
  for (const std::string& id : order_) out.push_back(workers_.at(id));
  return out;
}

grpc::Status CoordinatorService::Register(grpc::ServerContext*, const v1::RegisterRequest* req,
                                          v1::RegisterResponse* resp) {
  Status s = membership_->Register(*req);
  if (!s.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
  resp->set_heartbeat_interval_ms(interval_ms_);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req,
                                           v1::HeartbeatResponse* resp) {
  resp->set_known(membership_->Heartbeat(*req));
  return grpc::Status::OK;
}

}  // namespace tessera
