// tessera render: chat messages (OpenAI Chat Completions shapes) to the Harmony prompt.
#include <iostream>

#include "cli/chat_input.h"
#include "cli/commands.h"

namespace tessera::cli {

void AddChatFlags(CLI::App* cmd, ChatInput& in) {
  cmd->add_option("--tools", in.tools_file, "JSON file: a Chat Completions tools list");
  cmd->add_option("--response-format", in.response_format_file, "JSON file: a response_format object");
  cmd->add_option("--reasoning", in.reasoning, "reasoning effort")
      ->check(CLI::IsMember({"low", "medium", "high"}))->capture_default_str();
  cmd->add_option("--date", in.date, "current date for the system message (YYYY-MM-DD)");
}

void RegisterRender(CLI::App& app) {
  struct Opts {
    ChatInput in;
    std::string model;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("render", "Render chat messages into the Harmony prompt");
  cmd->add_option("--messages", o->in.messages_file, "JSON file: a messages list or a whole request")->required();
  AddChatFlags(cmd, o->in);
  cmd->add_option("--model", o->model, "checkpoint folder with tokenizer.json (default: shipped o200k_base)");
  cmd->add_flag("--json", o->json, "print {\"text\":..,\"ids\":[..]}");
  cmd->callback([o] {
    StatusOr<Tokenizer> t = o->model.empty() ? Tokenizer::Default() : Tokenizer::FromModelDir(o->model);
    StatusOr<RenderedPrompt> r = t.ok() ? RenderChat(o->in, *t) : StatusOr<RenderedPrompt>(t.status());
    if (!r.ok()) {
      std::cerr << "tessera render: " << r.status().message() << "\n";
      ExitCode() = 1;
      return;
    }
    if (o->json) {
      std::cout << nlohmann::json{{"text", r->text}, {"ids", r->ids}}.dump() << "\n";
    } else {
      std::cout << r->text << "\n";
    }
  });
}

}  // namespace tessera::cli
