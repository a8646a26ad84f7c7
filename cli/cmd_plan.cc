// tessera plan: how a model would be sharded over a set of devices, its memory per device and
// the predicted decode speed. Prints a table, or the plan as JSON.
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "sharding/planner.h"

namespace tessera::cli {
namespace {

struct PlanFlags {
  std::string model, config, devices, policy = "latency", experts;
  int batch = 32;
  bool json = false;
  double reserve = 0.10, reserve_min_gib = 1.0;
  std::int64_t min_kv_tokens = 32768;
  int replicas = 0, stages = 0, expert_groups = 0;
  double hop_us = 15, cross_host_hop_us = 50, all_to_all_us = 15, cross_host_all_to_all_us = 50;
};

StatusOr<ModelConfig> ResolveConfig(const PlanFlags& f) {
  if (!f.model.empty()) {
    // HF folders carry config.json at the top; OpenAI's layout only under original/.
    for (const char* rel : {"config.json", "original/config.json"}) {
      const std::filesystem::path p = std::filesystem::path(f.model) / rel;
      if (std::filesystem::exists(p)) return LoadModelConfig(p.string());
    }
    return absl::NotFoundError(absl::StrCat("no config.json or original/config.json in ", f.model));
  }
  const std::string name = f.config.empty() ? "tiny" : f.config;
  if (name == "tiny" || name == "20b" || name == "120b") return PresetModelConfig(name);
  return LoadModelConfig(name);
}

int Run(const PlanFlags& f) {
  auto fail = [](const Status& s, int code) {
    std::cerr << "tessera plan: " << s.message() << "\n";
    return code;
  };
  StatusOr<ModelConfig> config = ResolveConfig(f);
  if (!config.ok()) return fail(config.status(), 2);
  StatusOr<std::vector<DeviceSpec>> devices = ParseDevices(f.devices);
  if (!devices.ok()) return fail(devices.status(), 2);
  StatusOr<Policy> policy = ParsePolicy(f.policy);
  if (!policy.ok()) return fail(policy.status(), 2);

  PlanOptions o;
  o.batch = f.batch;
  o.reserve_fraction = f.reserve;
  o.reserve_min_bytes = static_cast<std::uint64_t>(f.reserve_min_gib * static_cast<double>(kGiB));
  o.min_kv_tokens = f.min_kv_tokens;
  if (!f.experts.empty()) o.expert_format = f.experts == "bf16" ? ExpertFormat::kBf16 : ExpertFormat::kMxfp4;
  o.replicas = f.replicas;
  o.stages = f.stages;
  o.expert_groups = f.expert_groups;
  o.hop_latency_s = f.hop_us * 1e-6;
  o.cross_host_hop_latency_s = f.cross_host_hop_us * 1e-6;
  o.all_to_all_latency_s = f.all_to_all_us * 1e-6;
  o.cross_host_all_to_all_latency_s = f.cross_host_all_to_all_us * 1e-6;

  StatusOr<Plan> plan = MakePlan(*config, *devices, *policy, o);
  if (!plan.ok()) return fail(plan.status(), 1);
  if (f.json)
    std::cout << PlanToJson(*plan).dump(2) << "\n";
  else
    std::cout << FormatPlan(*plan);
  return 0;
}

}  // namespace

void RegisterPlan(CLI::App& app) {
  auto f = std::make_shared<PlanFlags>();
  CLI::App* cmd = app.add_subcommand("plan", "Plan how a model is sharded over devices, with memory and speed");
  auto* model = cmd->add_option("--model", f->model, "checkpoint folder (reads config.json or original/config.json)");
  cmd->add_option("--config", f->config, "tiny, 20b, 120b, or a config.json (default: tiny)")->excludes(model);
  cmd->add_option("--devices", f->devices,
                  "[COUNT x][cpu]SIZE[:BANDWIDTH][@HOST],...: 2x80G,4x24G or 4xcpu64G or 8x80G:3.35T@1")
      ->required();
  cmd->add_option("--policy", f->policy, "latency or throughput")
      ->check(CLI::IsMember({"latency", "throughput"}))->capture_default_str();
  cmd->add_option("--batch", f->batch, "concurrent sequences for the throughput estimate and KV sizing")
      ->check(CLI::Range(1, 1 << 20))->capture_default_str();
  cmd->add_flag("--json", f->json, "print the plan as JSON");
  cmd->add_option("--experts", f->experts, "expert weight format: mxfp4 or bf16 (default: the checkpoint's)")
      ->check(CLI::IsMember({"mxfp4", "bf16"}));
  cmd->add_option("--reserve", f->reserve, "fraction of each device kept for activations and workspace")
      ->check(CLI::Range(0.0, 0.9))->capture_default_str();
  cmd->add_option("--reserve-min-gib", f->reserve_min_gib, "at least this much reserve per device (GiB)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--min-kv-tokens", f->min_kv_tokens, "KV tokens every replica must hold")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--replicas", f->replicas, "force the replica count (default: chosen by the policy)");
  cmd->add_option("--stages", f->stages, "force pipeline stages per replica");
  cmd->add_option("--expert-groups", f->expert_groups, "force expert groups per stage");
  cmd->add_option("--hop-us", f->hop_us, "latency per pipeline hop within a host (us)")->capture_default_str();
  cmd->add_option("--cross-host-hop-us", f->cross_host_hop_us, "latency per pipeline hop across hosts (us)")
      ->capture_default_str();
  cmd->add_option("--all-to-all-us", f->all_to_all_us, "expert all-to-all per layer within a host (us)")
      ->capture_default_str();
  cmd->add_option("--cross-host-all-to-all-us", f->cross_host_all_to_all_us,
                  "expert all-to-all per layer across hosts (us)")->capture_default_str();
  cmd->callback([f] { ExitCode() = Run(*f); });
}

}  // namespace tessera::cli
