// Renders a Plan: the table `tessera plan` prints, and JSON for tools.
#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "sharding/planner.h"

namespace tessera {
namespace {

using json = nlohmann::json;

// Latencies print as whole nanoseconds' worth of microseconds, not 1.4999999999999999e-05.
double Micros(double seconds) { return std::round(seconds * 1e9) / 1e3; }

double ToGiB(std::uint64_t bytes) { return static_cast<double>(bytes) / kGiB; }

std::string Range(int begin, int end) {
  return end - begin == 1 ? absl::StrCat(begin) : absl::StrCat(begin, "-", end - 1);
}

std::string Time(double s) {
  return s >= 1e-3 ? absl::StrFormat("%.2f ms", s * 1e3) : absl::StrFormat("%.0f us", s * 1e6);
}

// Greedy word wrap so the paragraph reads well in a terminal.
std::string Wrap(const std::string& text, std::size_t width) {
  std::istringstream words(text);
  std::string word, out, line;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line + "\n";
}

json MemoryJson(const DeviceMemory& m) {
  return {{"attention", m.attention}, {"embedding", m.embedding}, {"unembedding", m.unembedding},
          {"experts", m.experts},     {"weights", m.weights()},   {"kv", m.kv},
          {"reserve", m.reserve},     {"total", m.total()},       {"capacity", m.capacity}};
}

}  // namespace

std::string FormatRanges(const std::vector<int>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i + 1;
    while (j < ids.size() && ids[j] == ids[j - 1] + 1) ++j;
    absl::StrAppend(&out, out.empty() ? "" : ",", Range(ids[i], ids[j - 1] + 1));
    i = j;
  }
  return out.empty() ? "-" : out;
}

json PlanToJson(const Plan& p) {
  json j;
  j["model"] = p.model_name;
  j["devices_spec"] = FormatDevices(p.devices);
  j["policy"] = PolicyName(p.policy);
  j["expert_format"] = p.expert_format == ExpertFormat::kMxfp4 ? "mxfp4" : "bf16";
  j["shape"] = {{"replicas", p.replicas.size()},
                {"stages", p.stages_per_replica},
                {"expert_groups", p.groups_per_stage}};
  const PlanOptions& o = p.options;
  j["options"] = {{"reserve_fraction", o.reserve_fraction},
                  {"reserve_min_bytes", o.reserve_min_bytes},
                  {"min_kv_tokens", o.min_kv_tokens},
                  {"batch", o.batch},
                  {"hop_latency_us", Micros(o.hop_latency_s)},
                  {"cross_host_hop_latency_us", Micros(o.cross_host_hop_latency_s)},
                  {"all_to_all_latency_us", Micros(o.all_to_all_latency_s)},
                  {"cross_host_all_to_all_latency_us", Micros(o.cross_host_all_to_all_latency_s)}};
  const ModelBytes& m = p.model;
  j["model_bytes"] = {{"weights", m.total_weights()},        {"attention_per_layer", m.attention_per_layer},
                      {"expert", m.expert},                  {"embedding", m.embedding},
                      {"unembedding", m.unembedding},        {"kv_per_token_layer", m.kv_per_token_layer},
                      {"sliding_ring_tokens", m.sliding_ring_tokens}};
  json reps = json::array();
  for (const Replica& r : p.replicas) {
    json stages = json::array();
    for (const Stage& s : r.stages) {
      json groups = json::array();
      for (const ExpertGroup& g : s.groups)
        groups.push_back({{"device", g.device}, {"name", p.devices[g.device].name}, {"experts", g.experts}});
      stages.push_back({{"layer_begin", s.layer_begin}, {"layer_end", s.layer_end},
                        {"token_time_s", s.token_time_s}, {"groups", groups}});
    }
    reps.push_back({{"kv_tokens", r.kv_tokens}, {"token_time_s", r.token_time_s}, {"step_time_s", r.step_time_s},
                    {"bytes_per_token", r.bytes_per_token}, {"stages", stages}});
  }
  j["replicas"] = reps;
  json devs = json::array();
  for (std::size_t i = 0; i < p.devices.size(); ++i) {
    const DeviceSpec& d = p.devices[i];
    const DeviceAssignment& a = p.assignments[i];
    devs.push_back({{"name", d.name}, {"kind", d.kind}, {"host", d.host}, {"memory_bytes", d.memory_bytes},
                    {"hbm_bytes_per_s", d.hbm_bytes_per_s}, {"replica", a.replica}, {"stage", a.stage},
                    {"group_rank", a.group_rank}, {"layer_begin", a.layer_begin}, {"layer_end", a.layer_end},
                    {"experts", FormatRanges(a.experts)}, {"kv_tokens", p.replicas[a.replica].kv_tokens},
                    {"memory", MemoryJson(a.memory)}});
  }
  j["devices"] = devs;
  j["prediction"] = {{"token_time_s", p.token_time_s},
                     {"batch", o.batch},
                     {"step_time_s", p.step_time_s},
                     {"throughput_tokens_per_s", p.throughput_tokens_per_s},
                     {"bytes_per_token", p.bytes_per_token},
                     {"hop_bytes_per_token", p.hop_bytes_per_token}};
  j["cost_model"] = p.cost_model;
  return j;
}

std::string FormatPlan(const Plan& p) {
  std::string out = absl::StrFormat(
      "%s on %s, %s policy: %d replica%s x %d stage%s x %d expert group%s (%s experts)\n\n", p.model_name,
      FormatDevices(p.devices), PolicyName(p.policy), p.replicas.size(), p.replicas.size() == 1 ? "" : "s",
      p.stages_per_replica, p.stages_per_replica == 1 ? "" : "s", p.groups_per_stage,
      p.groups_per_stage == 1 ? "" : "s", p.expert_format == ExpertFormat::kMxfp4 ? "MXFP4" : "bf16");
  const char* row = "%-7s %4s %3s %5s %4s  %-7s %-13s %8s %8s %10s %8s %17s\n";
  absl::StrAppendFormat(&out, row, "device", "host", "rep", "stage", "rank", "layers", "experts", "weights",
                        "KV", "KV tokens", "reserve", "total / capacity");
  for (std::size_t i = 0; i < p.devices.size(); ++i) {
    const DeviceSpec& d = p.devices[i];
    const DeviceAssignment& a = p.assignments[i];
    const DeviceMemory& m = a.memory;
    std::string experts = FormatRanges(a.experts);
    if (experts.size() > 13) experts = absl::StrCat(a.experts.size(), " experts");
    absl::StrAppendFormat(&out, row, d.name, absl::StrCat(d.host), absl::StrCat(a.replica), absl::StrCat(a.stage),
                          absl::StrCat(a.group_rank), Range(a.layer_begin, a.layer_end), experts,
                          absl::StrFormat("%.2f", ToGiB(m.weights())), absl::StrFormat("%.2f", ToGiB(m.kv)),
                          absl::StrCat(p.replicas[a.replica].kv_tokens), absl::StrFormat("%.2f", ToGiB(m.reserve)),
                          absl::StrFormat("%.1f / %.1f GiB", ToGiB(m.total()), ToGiB(m.capacity)));
  }
  out += "\n" + Wrap(absl::StrFormat(
                         "weights: attention, router and norms of the held layers, embedding, unembedding and "
                         "held experts. KV: the replica's context (KV tokens, full-attention layers) plus "
                         "sliding-window rings for %d sequences; it takes what the replica's tightest device "
                         "leaves. reserve: activations and workspace. total = weights + KV + reserve.",
                         p.options.batch),
                     100) + "\n";
  absl::StrAppendFormat(&out, "model weights: %.2f GiB (one copy); KV: %d bytes per token per layer\n",
                        ToGiB(p.model.total_weights()), p.model.kv_per_token_layer);
  absl::StrAppendFormat(&out,
                        "batch 1:  %s per token (%.0f tokens/s per sequence); %.2f GB of weights read per "
                        "token, all devices\n",
                        Time(p.token_time_s), 1.0 / p.token_time_s, p.bytes_per_token / 1e9);
  absl::StrAppendFormat(&out, "batch %d: %s per step, %.0f tokens/s over %d replica%s\n", p.options.batch,
                        Time(p.step_time_s), p.throughput_tokens_per_s, p.replicas.size(),
                        p.replicas.size() == 1 ? "" : "s");
  if (p.stages_per_replica > 1)
    absl::StrAppendFormat(&out, "pipeline hops send %d bytes per token (fp32 hidden state)\n", p.hop_bytes_per_token);
  return out + "\n" + Wrap("cost model: " + p.cost_model, 100);
}

}  // namespace tessera
