// tessera generate: greedy or sampled generation from token ids on the in-process CPU model.
#include <chrono>
#include <optional>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/chat_input.h"
#include "cli/commands.h"
#include "coordinator/cluster.h"
#include "core/log.h"
#include "core/parse.h"
#include "model/cpu_model.h"
#include "model/default_model.h"
#include "model/generate.h"
#include "model/load.h"

namespace tessera::cli {
namespace {

struct GenerateOpts {
  std::string model, prompt_ids;
  int max_tokens = 16, top_logprobs = 0, top_k = 0;
  float temperature = 1.0f, top_p = 1.0f;
  std::uint64_t seed = 0;
  bool json = false, stop_at_harmony = false;
  int workers = 0, replicas = 1, stages = 1, expert_groups = 1;
  std::string policy;  // with --workers: let the planner choose the grid
  ChatInput chat;  // --prompt / --messages: render with Harmony, parse the output
};

nlohmann::json ToJson(const std::vector<TokenId>& prompt, const GenerateResult& r) {
  nlohmann::json out;
  out["prompt_ids"] = prompt;
  out["output_ids"] = r.output;
  nlohmann::json tops = nlohmann::json::array();
  for (const auto& step : r.top_logprobs) {
    nlohmann::json alts = nlohmann::json::array();
    for (const TokenLogprob& t : step) alts.push_back({{"id", t.id}, {"logprob", t.logprob}});
    tops.push_back(alts);
  }
  out["top_logprobs"] = tops;
  out["finish_reason"] = r.finish_reason;
  return out;
}

// Runs every prompt at once through a local coordinator and worker processes.
StatusOr<std::vector<GenerateResult>> RunDistributed(const GenerateOpts& o, const std::string& dir,
                                                     const std::vector<GenerateRequest>& reqs) {
  ClusterOptions co;
  co.model_dir = dir;
  co.workers = o.workers;
  co.replicas = o.replicas;
  if (!o.policy.empty()) {
    TESSERA_ASSIGN_OR_RETURN(Policy p, ParsePolicy(o.policy));
    co.policy = p;
  }
  co.stages = o.stages;
  co.expert_groups = o.expert_groups;
  TESSERA_ASSIGN_OR_RETURN(std::unique_ptr<Cluster> cluster, Cluster::Start(co));
  std::vector<std::future<Completion>> futures;
  for (const GenerateRequest& r : reqs) {
    RequestSpec spec;
    static_cast<GenerationParams&>(spec) = r;
    TESSERA_ASSIGN_OR_RETURN(std::future<Completion> f, cluster->Submit(std::move(spec)));
    futures.push_back(std::move(f));
  }
  std::vector<GenerateResult> out;
  for (auto& f : futures) {
    Completion c = f.get();
    TESSERA_RETURN_IF_ERROR(c.status);
    out.push_back({std::move(c.output), std::move(c.top_logprobs), c.finish_reason});
  }
  const EngineStats st = cluster->engine().stats();
  Logger("coordinator")->info("{} steps, {} round trips, {:.1f} KB sent, {:.1f} KB received, {:.1f} ms step wall, {:.1f} ms worker compute",
                              st.steps, st.round_trips, st.request_bytes / 1e3, st.response_bytes / 1e3, st.step_wall_ms,
                              st.worker_compute_ms);
  return out;
}

Status Run(const GenerateOpts& o) {
  std::string dir = o.model;
  if (dir.empty()) {
    TESSERA_ASSIGN_OR_RETURN(dir, DefaultModelDir());
  }
  // Text prompts are rendered as a Harmony chat and stop at <|return|> / <|call|>.
  const bool chat = !o.chat.prompt.empty() || !o.chat.messages_file.empty();
  std::optional<Tokenizer> tokenizer;
  std::vector<TokenId> chat_ids;
  if (chat) {
    if (!o.prompt_ids.empty()) return absl::InvalidArgumentError("give --prompt-ids or --prompt/--messages, not both");
    TESSERA_ASSIGN_OR_RETURN(Tokenizer t, Tokenizer::FromModelDir(dir));
    TESSERA_ASSIGN_OR_RETURN(RenderedPrompt rendered, RenderChat(o.chat, t));
    chat_ids = std::move(rendered.ids);
    tokenizer.emplace(std::move(t));
  } else if (o.prompt_ids.empty()) {
    return absl::InvalidArgumentError("give --prompt-ids, --prompt or --messages");
  }
  // Prompts separated by ';' run concurrently (distributed) or one after another.
  std::vector<GenerateRequest> reqs;
  for (std::string_view rest = o.prompt_ids; chat ? reqs.empty() : (!rest.empty() || reqs.empty());) {
    const std::size_t semi = rest.find(';');
    GenerateRequest req;
    if (chat) {
      req.prompt = chat_ids;
    } else {
      TESSERA_ASSIGN_OR_RETURN(std::vector<std::int32_t> ids, ParseIdList(rest.substr(0, semi)));
      req.prompt.assign(ids.begin(), ids.end());
    }
    req.max_tokens = o.max_tokens;
    req.sampling = {o.temperature, o.top_p, o.top_k, o.seed};
    req.top_logprobs = o.top_logprobs;
    if (o.stop_at_harmony || chat) req.stop_ids = {200002, 200012};  // <|return|>, <|call|>
    reqs.push_back(std::move(req));
    if (chat || semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<GenerateResult> results;
  if (o.workers > 0) {
    TESSERA_ASSIGN_OR_RETURN(results, RunDistributed(o, dir, reqs));
  } else {
    TESSERA_ASSIGN_OR_RETURN(std::unique_ptr<CpuModel> model, LoadCpuModel(dir));
    for (std::size_t i = 0; i < reqs.size(); ++i) {
      TESSERA_ASSIGN_OR_RETURN(GenerateResult r, Generate(*model, i + 1, reqs[i]));
      results.push_back(std::move(r));
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.json) {
    nlohmann::json out;
    if (results.size() == 1) {
      out = ToJson(reqs[0].prompt, results[0]);
      if (tokenizer) {
        StatusOr<std::string> text = tokenizer->Decode(results[0].output);
        out["text"] = text.ok() ? *text : std::string();
        out["parsed"] = ParseOutput(results[0].output, *tokenizer);
      }
    } else {
      out["results"] = nlohmann::json::array();
      for (std::size_t i = 0; i < results.size(); ++i) out["results"].push_back(ToJson(reqs[i].prompt, results[i]));
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    for (const GenerateResult& r : results) {
      std::cout << "output ids:";
      for (TokenId id : r.output) std::cout << " " << id;
      std::cout << "\nfinish: " << r.finish_reason << ", " << r.output.size() << " tokens\n";
    }
    std::cout << results.size() << " request(s) in " << secs << " s\n";
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterGenerate(CLI::App& app) {
  auto o = std::make_shared<GenerateOpts>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate tokens from a prompt");
  cmd->add_option("--model", o->model, "checkpoint folder (default: the built-in tiny model)");
  cmd->add_option("--prompt-ids", o->prompt_ids, "prompt token ids, comma separated; ';' separates prompts");
  cmd->add_option("--prompt", o->chat.prompt, "a user message, rendered as a Harmony chat");
  cmd->add_option("--messages", o->chat.messages_file, "JSON file of chat messages, rendered as a Harmony chat");
  AddChatFlags(cmd, o->chat);
  cmd->add_option("--max-tokens", o->max_tokens, "tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", o->temperature, "0 for greedy")->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "nucleus sampling mass")->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "sample among the k most likely (0: all)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  cmd->add_option("--top-logprobs", o->top_logprobs, "report the k most likely tokens per step")->capture_default_str();
  cmd->add_flag("--stop-at-harmony", o->stop_at_harmony, "stop at <|return|> or <|call|>");
  cmd->add_flag("--json", o->json, "print one JSON object");
  cmd->add_option("--workers", o->workers, "run through a local coordinator and this many worker processes");
  cmd->add_option("--replicas", o->replicas, "with --workers: model copies")->capture_default_str();
  cmd->add_option("--policy", o->policy, "with --workers: let the planner choose the grid (latency or throughput)");
  cmd->add_option("--stages", o->stages, "with --workers: pipeline stages")->capture_default_str();
  cmd->add_option("--expert-groups", o->expert_groups, "with --workers: ranks per stage sharing the experts")->capture_default_str();
  cmd->callback([o] {
    if (Status s = Run(*o); !s.ok()) {
      std::cerr << "tessera generate: " << s.message() << "\n";
      ExitCode() = 1;
    }
  });
}

}  // namespace tessera::cli
