#include "cli/chat_input.h"

#include <fstream>
#include <sstream>

#include "harmony/chat_completions.h"
#include "harmony/render.h"

namespace tessera::cli {
namespace {

StatusOr<harmony::Json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  harmony::Json j = harmony::Json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": malformed JSON"));
  return j;
}

}  // namespace

StatusOr<RenderedPrompt> RenderChat(const ChatInput& in, const Tokenizer& tokenizer) {
  harmony::Json request = harmony::Json::object();
  if (!in.messages_file.empty()) {
    TESSERA_ASSIGN_OR_RETURN(harmony::Json m, ReadJsonFile(in.messages_file));
    if (m.is_object() && m.contains("messages")) {
      request = std::move(m);  // a whole request body
    } else {
      request["messages"] = std::move(m);
    }
  } else {
    request["messages"] = harmony::Json::array({{{"role", "user"}, {"content", in.prompt}}});
  }
  if (!in.tools_file.empty()) {
    TESSERA_ASSIGN_OR_RETURN(request["tools"], ReadJsonFile(in.tools_file));
  }
  if (!in.response_format_file.empty()) {
    TESSERA_ASSIGN_OR_RETURN(request["response_format"], ReadJsonFile(in.response_format_file));
  }
  if (!request.contains("reasoning_effort")) request["reasoning_effort"] = in.reasoning;
  harmony::ChatCompletionsOptions options;
  if (!in.date.empty()) options.system.current_date = in.date;
  TESSERA_ASSIGN_OR_RETURN(harmony::Conversation conv, harmony::ConversationFromChatCompletions(request, options));
  TESSERA_ASSIGN_OR_RETURN(harmony::Prompt prompt, harmony::RenderForCompletion(conv));
  return RenderedPrompt{prompt.RenderText(), prompt.RenderIds(tokenizer)};
}

nlohmann::json ParseOutput(const std::vector<TokenId>& ids, const Tokenizer& tokenizer) {
  harmony::StreamParser parser(harmony::TokenBytesFrom(tokenizer));
  std::vector<harmony::Event> events;
  for (TokenId id : ids) parser.Push(id, &events);
  parser.Finish(&events);
  nlohmann::json out = {{"messages", nlohmann::json::array()}, {"tool_calls", nlohmann::json::array()},
                        {"errors", nlohmann::json::array()}};
  for (const harmony::Event& e : events) {
    if (const auto* end = std::get_if<harmony::MessageEnd>(&e)) {
      const harmony::Message& m = end->message;
      const std::string* text = std::get_if<std::string>(&m.content);
      out["messages"].push_back({{"channel", m.channel}, {"recipient", m.recipient},
                                 {"content", text ? *text : std::string()}, {"truncated", end->truncated}});
    } else if (const auto* call = std::get_if<harmony::ToolCall>(&e)) {
      out["tool_calls"].push_back({{"name", call->name}, {"recipient", call->recipient}, {"arguments", call->arguments}});
    } else if (const auto* err = std::get_if<harmony::ParseError>(&e)) {
      out["errors"].push_back(err->message);
    } else if (const auto* stop = std::get_if<harmony::Stop>(&e)) {
      static const char* kNames[] = {"return", "call", "end_of_text", "truncated"};
      out["stop"] = kNames[static_cast<int>(stop->reason)];
    }
  }
  return out;
}

}  // namespace tessera::cli
