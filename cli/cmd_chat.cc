// tessera chat: an interactive terminal chat on the in-process model. Streams the answer as it is
// sampled, with the reasoning (analysis channel) shown apart from the final answer.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "harmony/chat_completions.h"
#include "harmony/parser.h"
#include "harmony/render.h"
#include "model/cpu_model.h"
#include "model/default_model.h"
#include "model/load.h"
#include "model/sampler.h"
#include "tokenizer/tokenizer.h"

namespace tessera::cli {
namespace {

struct ChatOpts {
  std::string model, system, tools_file, reasoning = "medium";
  int max_tokens = 512;
  float temperature = 1.0f;
  std::uint64_t seed = 0;
};

Status RunChat(const ChatOpts& o) {
  std::string dir = o.model;
  if (dir.empty()) {
    TESSERA_ASSIGN_OR_RETURN(dir, DefaultModelDir());
  }
  TESSERA_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::FromModelDir(dir));
  TESSERA_ASSIGN_OR_RETURN(std::unique_ptr<CpuModel> loaded, LoadCpuModel(dir));
  CpuModel& model = *loaded;
  const ModelConfig& config = model.config();
  const bool tty = ::isatty(STDOUT_FILENO) && ::isatty(STDIN_FILENO);
  const char* dim = tty ? "\033[2m" : "";
  const char* plain = tty ? "\033[0m" : "";

  harmony::Json request = {{"messages", harmony::Json::array()}, {"reasoning_effort", o.reasoning}};
  if (!o.system.empty()) request["messages"].push_back({{"role", "system"}, {"content", o.system}});
  if (!o.tools_file.empty()) {
    std::ifstream in(o.tools_file);
    if (!in) return absl::NotFoundError("cannot read " + o.tools_file);
    harmony::Json tools = harmony::Json::parse(in, nullptr, false);
    if (tools.is_discarded()) return absl::InvalidArgumentError(o.tools_file + ": malformed JSON");
    request["tools"] = tools;
  }
  Sampler sampler({o.temperature, 1.0f, 0, o.seed});
  std::string line;
  for (SeqId seq = 1;; ++seq) {
    if (tty) std::cout << "\n> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    request["messages"].push_back({{"role", "user"}, {"content", line}});
    TESSERA_ASSIGN_OR_RETURN(harmony::Conversation conv, harmony::ConversationFromChatCompletions(request));
    TESSERA_ASSIGN_OR_RETURN(harmony::Prompt prompt, harmony::RenderForCompletion(conv));
    const std::vector<TokenId> ids = prompt.RenderIds(tokenizer);
    if (static_cast<std::int64_t>(ids.size()) + o.max_tokens > config.max_context)
      return absl::OutOfRangeError("the conversation no longer fits the context; start a new chat");
    harmony::StreamParser parser(harmony::TokenBytesFrom(tokenizer));
    std::vector<harmony::Event> events;
    std::string reasoning, answer;
    std::string channel;
    SeqChunk chunk{seq, ids, false};
    TESSERA_ASSIGN_OR_RETURN(std::vector<float> logits, model.Forward({&chunk, 1}));
    for (int i = 0; i < o.max_tokens && !parser.stopped(); ++i) {
      const TokenId t = sampler.Sample(logits);
      parser.Push(t, &events);
      for (const harmony::Event& e : events) {
        if (const auto* d = std::get_if<harmony::TextDelta>(&e)) {
          if (d->channel != channel) {
            channel = d->channel;
            std::cout << (channel == "analysis" ? std::string("\n") + dim + "[reasoning] " : std::string(plain) + "\n");
          }
          std::cout << d->text << std::flush;
          (channel == "analysis" ? reasoning : answer) += d->text;
        } else if (const auto* c = std::get_if<harmony::ToolCall>(&e)) {
          std::cout << plain << "\n[tool call] " << c->name << "(" << c->arguments << ")" << std::flush;
        } else if (const auto* err = std::get_if<harmony::ParseError>(&e)) {
          std::cout << plain << "\n[malformed output: " << err->message << "]" << std::flush;
        }
      }
      events.clear();
      if (parser.stopped() || i + 1 == o.max_tokens) break;
      SeqChunk next{seq, std::span<const TokenId>(&t, 1), false};
      TESSERA_ASSIGN_OR_RETURN(logits, model.Forward({&next, 1}));
    }
    parser.Finish(&events);
    for (const harmony::Event& e : events)
      if (const auto* err = std::get_if<harmony::ParseError>(&e)) std::cout << plain << "\n[" << err->message << "]";
    model.Release(seq);
    std::cout << plain << "\n" << (tty ? "" : "[end of turn]\n") << std::flush;
    harmony::Json reply = {{"role", "assistant"}, {"content", answer}};
    if (!reasoning.empty()) reply["reasoning"] = reasoning;
    request["messages"].push_back(std::move(reply));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterChat(CLI::App& app) {
  auto o = std::make_shared<ChatOpts>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat in the terminal (reasoning shown apart from the answer)");
  cmd->add_option("--model", o->model, "checkpoint folder (default: the built-in tiny model)");
  cmd->add_option("--system", o->system, "instructions (rendered as the developer message)");
  cmd->add_option("--tools", o->tools_file, "JSON file: a Chat Completions tools list");
  cmd->add_option("--reasoning", o->reasoning, "reasoning effort")->check(CLI::IsMember({"low", "medium", "high"}))->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "tokens per answer")->capture_default_str();
  cmd->add_option("--temperature", o->temperature, "0 for greedy")->capture_default_str();
  cmd->add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  cmd->callback([o] {
    if (Status s = RunChat(*o); !s.ok()) {
      std::cerr << "tessera chat: " << s.message() << "\n";
      ExitCode() = 1;
    }
  });
}

}  // namespace tessera::cli
