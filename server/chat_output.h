// Turns sampled tokens into the pieces of an OpenAI chat message: final-channel text is the
// content, analysis is the reasoning, calls to functions.NAME are tool calls. Stop strings cut the
// content; text that may be the start of a stop string is held back until it is decided.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harmony/parser.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {

struct ChatDelta {
  std::string content;
  std::string reasoning;
  nlohmann::ordered_json tool_call;  // null, or {"id", "type", "function": {"name", "arguments"}}
};

class ChatOutput {
 public:
  ChatOutput(const Tokenizer& tokenizer, std::vector<std::string> stop_strings);

  // Feeds one sampled token; appends what became visible. Nothing after a stop string.
  void Push(TokenId id, std::vector<ChatDelta>* out);
  // End of output: releases held-back text.
  void Finish(std::vector<ChatDelta>* out);

  const std::string& content() const { return content_; }
  const std::string& reasoning() const { return reasoning_; }
  const nlohmann::ordered_json& tool_calls() const { return tool_calls_; }  // array
  bool stop_string_hit() const { return stopped_; }

 private:
  void OnEvents(std::vector<ChatDelta>* out);
  void AddContent(const std::string& text, std::vector<ChatDelta>* out);

  harmony::StreamParser parser_;
  std::vector<std::string> stops_;
  std::vector<harmony::Event> events_;
  std::string content_, reasoning_;
  std::size_t emitted_ = 0;  // bytes of content_ already handed out
  nlohmann::ordered_json tool_calls_ = nlohmann::ordered_json::array();
  bool stopped_ = false;
};

// "call_" and 24 random alphanumerics.
std::string NewCallId();

}  // namespace tessera::server
