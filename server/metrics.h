// Prometheus text-format metrics of the HTTP front end: request counts by status, token
// counters, latency histograms, and the scheduler's gauges read at scrape time.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace tessera {
class Scheduler;
}

namespace tessera::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Appends the _bucket/_sum/_count series (HELP and TYPE lines included).
  void Render(const std::string& name, const std::string& help, std::string* out) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; last one is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  void CountRequest(int status);
  void AddTokens(std::int64_t prompt, std::int64_t generated);
  void ObserveTimeToFirstToken(double seconds);
  void ObserveInterTokenLatency(double seconds);
  // The whole exposition; the gauges sum over `schedulers` (one per replica).
  std::string Render(const std::vector<const Scheduler*>& schedulers) const;

 private:
  mutable std::mutex mu_;
  std::map<int, std::uint64_t> requests_;
  std::uint64_t prompt_tokens_ = 0, generation_tokens_ = 0;
  Histogram ttft_, itl_;
};

}  // namespace tessera::server
