#include "coordinator/engine.h"

#include <grpcpp/grpcpp.h>

#include "core/log.h"

namespace tessera {

Engine::Engine(std::vector<WorkerHandle> workers, SchedulerOptions options, std::chrono::milliseconds step_timeout)
    : workers_(std::move(workers)), scheduler_(options), step_timeout_(step_timeout), loop_([this] { Loop(); }) {}

Engine::~Engine() {
  stop_ = true;
  wake_.notify_all();
  loop_.join();
  scheduler_.FailAll(absl::CancelledError("the server is shutting down"));
}

void Engine::FailAll(const Status& error, bool sticky) {
  if (sticky) {
    std::lock_guard lock(unavailable_mu_);
    unavailable_ = error;
  }
  scheduler_.FailAll(error);
}

StatusOr<std::future<Completion>> Engine::Submit(RequestSpec spec) {
  {
    std::lock_guard lock(unavailable_mu_);
    if (!unavailable_.ok()) return unavailable_;
  }
  auto f = scheduler_.Enqueue(std::move(spec));
  wake_.notify_all();
  return f;
}

EngineStats Engine::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void Engine::Loop() {
  while (!stop_) {
    std::optional<v1::StepRequest> step = scheduler_.NextStep();
    if (!step) {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(20));
      continue;
    }
    v1::StepResponse sampled;
    Status s = RunStep(*step, sampled);
    if (s.ok()) {
      scheduler_.Complete(*step, sampled);
    } else {
      Logger("coordinator")->error("step {} failed: {}", step->step_id(), std::string(s.message()));
      scheduler_.Fail(*step, s);
    }
  }
}

Status Engine::RunStep(const v1::StepRequest& step, v1::StepResponse& sampled) {
  const auto start = std::chrono::steady_clock::now();
  const std::size_t n = workers_.size();
  std::vector<grpc::Status> status(n);
  std::vector<v1::StepResponse> resp(n);
  std::vector<std::unique_ptr<grpc::ClientContext>> ctx(n);
  // All ranks must see the step at once: they exchange activations during it. gRPC's callback
  // API sends every call without a thread per worker.
  std::mutex mu;
  std::condition_variable done;
  std::size_t pending = n;
  for (std::size_t i = 0; i < n; ++i) {
    ctx[i] = std::make_unique<grpc::ClientContext>();
    ctx[i]->set_deadline(std::chrono::system_clock::now() + step_timeout_);
    workers_[i].stub->async()->Step(ctx[i].get(), &step, &resp[i], [&, i](grpc::Status s) {
      std::lock_guard lock(mu);
      status[i] = std::move(s);
      if (--pending == 0) done.notify_one();
    });
  }
  {
    std::unique_lock lock(mu);
    done.wait(lock, [&] { return pending == 0; });
  }
  double compute = 0;
  std::uint64_t resp_bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!status[i].ok()) {
      return absl::UnavailableError(absl::StrCat("worker ", workers_[i].id, " failed step ", step.step_id(), ": ",
                                                 status[i].error_message()));
    }
    compute = std::max(compute, resp[i].compute_ms());
    resp_bytes += resp[i].ByteSizeLong();
    if (workers_[i].samples) sampled = std::move(resp[i]);
  }
  std::lock_guard lock(stats_mu_);
  stats_.steps++;
  stats_.round_trips += n;
  stats_.request_bytes += step.ByteSizeLong() * n;
  stats_.response_bytes += resp_bytes;
  stats_.step_wall_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  stats_.worker_compute_ms += compute;
  for (const v1::SeqStep& s : step.seqs()) stats_.tokens += s.tokens_size();
  return absl::OkStatus();
}

}  // namespace tessera
