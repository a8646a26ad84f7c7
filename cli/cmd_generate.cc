// tessera generate: greedy or sampled generation from token ids on the in-process CPU model.
#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "core/log.h"
#include "core/parse.h"
#include "model/cpu_model.h"
#include "model/default_model.h"
#include "model/generate.h"

namespace tessera::cli {
namespace {

struct GenerateOpts {
  std::string model, prompt_ids;
  int max_tokens = 16, top_logprobs = 0, top_k = 0;
  float temperature = 1.0f, top_p = 1.0f;
  std::uint64_t seed = 0;
  bool json = false, stop_at_harmony = false;
};

Status Run(const GenerateOpts& o) {
  std::string dir = o.model;
  if (dir.empty()) {
    TESSERA_ASSIGN_OR_RETURN(dir, DefaultModelDir());
  }
  TESSERA_ASSIGN_OR_RETURN(Checkpoint ckpt, Checkpoint::Open(dir));
  TESSERA_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(ckpt.config_dir() + "/config.json"));
  TESSERA_ASSIGN_OR_RETURN(ModelWeights weights, ModelWeights::Load(ckpt, config, ShardSpec{}));
  CpuModel model(std::move(weights));

  GenerateRequest req;
  TESSERA_ASSIGN_OR_RETURN(std::vector<std::int32_t> ids, ParseIdList(o.prompt_ids));
  req.prompt.assign(ids.begin(), ids.end());
  req.max_tokens = o.max_tokens;
  req.sampling = {o.temperature, o.top_p, o.top_k, o.seed};
  req.top_logprobs = o.top_logprobs;
  if (o.stop_at_harmony) req.stop_ids = {200002, 200012};  // <|return|>, <|call|>
  const auto start = std::chrono::steady_clock::now();
  TESSERA_ASSIGN_OR_RETURN(GenerateResult r, Generate(model, /*seq=*/1, req));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  nlohmann::json out;
  out["prompt_ids"] = req.prompt;
  out["output_ids"] = r.output;
  nlohmann::json tops = nlohmann::json::array();
  for (const auto& step : r.top_logprobs) {
    nlohmann::json alts = nlohmann::json::array();
    for (const TokenLogprob& t : step) alts.push_back({{"id", t.id}, {"logprob", t.logprob}});
    tops.push_back(alts);
  }
  out["top_logprobs"] = tops;
  out["finish_reason"] = r.finish_reason;
  if (o.json) {
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "output ids:";
    for (TokenId id : r.output) std::cout << " " << id;
    std::cout << "\nfinish: " << r.finish_reason << ", " << r.output.size() << " tokens in " << secs << " s\n";
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterGenerate(CLI::App& app) {
  auto o = std::make_shared<GenerateOpts>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate tokens from a prompt");
  cmd->add_option("--model", o->model, "checkpoint folder (default: the built-in tiny model)");
  cmd->add_option("--prompt-ids", o->prompt_ids, "prompt token ids, comma separated")->required();
  cmd->add_option("--max-tokens", o->max_tokens, "tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", o->temperature, "0 for greedy")->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "nucleus sampling mass")->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "sample among the k most likely (0: all)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  cmd->add_option("--top-logprobs", o->top_logprobs, "report the k most likely tokens per step")->capture_default_str();
  cmd->add_flag("--stop-at-harmony", o->stop_at_harmony, "stop at <|return|> or <|call|>");
  cmd->add_flag("--json", o->json, "print one JSON object");
  cmd->callback([o] {
    if (Status s = Run(*o); !s.ok()) {
      std::cerr << "tessera generate: " << s.message() << "\n";
      ExitCode() = 1;
    }
  });
}

}  // namespace tessera::cli
