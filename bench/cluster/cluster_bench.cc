// Distributed runtime on CPU workers: throughput and control-plane cost per step.
//
//   cluster_bench --tessera build/bin/tessera --model DIR --grid 1x1,2x1,1x2,2x2
//                 [--requests 8] [--prompt 32] [--tokens 32]
//
// For each grid (stages x expert groups) it starts a local coordinator and worker processes,
// submits all requests at once, and reports generated tokens/s, steps, Step RPC round trips
// and bytes per step against the workers' compute time per step.
#include <chrono>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "coordinator/cluster.h"
#include "core/log.h"

using namespace tessera;

int main(int argc, char** argv) {
  CLI::App app{"distributed runtime benchmark"};
  std::string tessera_bin, model, grids = "1x1,2x1,1x2,2x2";
  int requests = 8, prompt = 32, tokens = 32;
  app.add_option("--tessera", tessera_bin, "the tessera binary (spawns the workers)")->required();
  app.add_option("--model", model, "checkpoint folder")->required();
  app.add_option("--grid", grids, "comma-separated stages x expert-groups")->capture_default_str();
  app.add_option("--requests", requests)->capture_default_str();
  app.add_option("--prompt", prompt)->capture_default_str();
  app.add_option("--tokens", tokens)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  SetLogLevel("warn");

  for (std::size_t pos = 0; pos < grids.size();) {
    std::size_t comma = grids.find(',', pos);
    if (comma == std::string::npos) comma = grids.size();
    const std::string g = grids.substr(pos, comma - pos);
    pos = comma + 1;
    ClusterOptions o;
    o.model_dir = model;
    o.self_exe = tessera_bin;
    o.stages = std::stoi(g.substr(0, g.find('x')));
    o.expert_groups = std::stoi(g.substr(g.find('x') + 1));
    o.workers = o.stages * o.expert_groups;
    o.worker_args = {};
    auto cluster = Cluster::Start(o);
    if (!cluster.ok()) {
      std::cerr << g << ": " << cluster.status() << "\n";
      return 1;
    }
    std::vector<std::future<Completion>> fs;
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < requests; ++r) {
      RequestSpec spec;
      for (int i = 0; i < prompt; ++i) spec.prompt.push_back(static_cast<TokenId>((r * 7919 + i * 104729) % 1000));
      spec.max_tokens = tokens;
      spec.sampling.temperature = 0;
      fs.push_back(std::move(*(*cluster)->Submit(std::move(spec))));
    }
    int generated = 0;
    for (auto& f : fs) generated += static_cast<int>(f.get().output.size());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const EngineStats st = (*cluster)->engine().stats();
    nlohmann::json row = {{"grid", g},
                          {"workers", o.workers},
                          {"generated_tokens_per_s", generated / secs},
                          {"steps", st.steps},
                          {"round_trips_per_step", double(st.round_trips) / st.steps},
                          {"request_bytes_per_step", double(st.request_bytes) / st.steps},
                          {"response_bytes_per_step", double(st.response_bytes) / st.steps},
                          {"step_wall_ms", st.step_wall_ms / st.steps},
                          {"worker_compute_ms", st.worker_compute_ms / st.steps},
                          {"control_overhead_ms", (st.step_wall_ms - st.worker_compute_ms) / st.steps}};
    std::cout << row.dump() << std::endl;
  }
  return 0;
}
