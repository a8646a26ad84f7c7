#include "server/metrics.h"

#include <algorithm>
#include <cstdio>

#include "coordinator/scheduler.h"

namespace tessera::server {
namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void Header(const std::string& name, const std::string& help, const char* type, std::string* out) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[it - bounds_.begin()];
  sum_ += value;
  ++count_;
}

void Histogram::Render(const std::string& name, const std::string& help, std::string* out) const {
  Header(name, help, "histogram", out);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    *out += name + "_bucket{le=\"" + Num(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  *out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  *out += name + "_sum " + Num(sum_) + "\n";
  *out += name + "_count " + std::to_string(count_) + "\n";
}

// Buckets span a fast local step (ms) to a long queue wait (minutes).
ServerMetrics::ServerMetrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}) {}

void ServerMetrics::CountRequest(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[status];
}

void ServerMetrics::AddTokens(std::int64_t prompt, std::int64_t generated) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(prompt, 0));
  generation_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(generated, 0));
}

void ServerMetrics::ObserveTimeToFirstToken(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ttft_.Observe(seconds);
}

void ServerMetrics::ObserveInterTokenLatency(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  itl_.Observe(seconds);
}

std::string ServerMetrics::Render(const std::vector<const Scheduler*>& schedulers) const {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Header("tessera_requests_total", "API requests answered, by HTTP status.", "counter", &out);
    for (const auto& [status, n] : requests_) {
      out += "tessera_requests_total{status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
    }
    Header("tessera_prompt_tokens_total", "Prompt tokens of completed requests.", "counter", &out);
    out += "tessera_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
    Header("tessera_generation_tokens_total", "Tokens generated for completed requests.", "counter", &out);
    out += "tessera_generation_tokens_total " + std::to_string(generation_tokens_) + "\n";
    ttft_.Render("tessera_time_to_first_token_seconds", "Submission to first generated token.", &out);
    itl_.Render("tessera_inter_token_latency_seconds", "Time between consecutive generated tokens.", &out);
  }
  std::size_t queued = 0, running = 0;
  std::int64_t blocks = 0;
  for (const Scheduler* s : schedulers) {
    queued += s->queued();
    running += s->running();
    blocks += s->kv_blocks_used();
  }
  Header("tessera_queue_depth", "Requests waiting for admission.", "gauge", &out);
  out += "tessera_queue_depth " + std::to_string(queued) + "\n";
  Header("tessera_running_sequences", "Sequences being generated.", "gauge", &out);
  out += "tessera_running_sequences " + std::to_string(running) + "\n";
  Header("tessera_kv_blocks_used", "KV-cache blocks held by running sequences.", "gauge", &out);
  out += "tessera_kv_blocks_used " + std::to_string(blocks) + "\n";
  return out;
}

}  // namespace tessera::server
