// Reading chat input for the CLI: OpenAI Chat Completions JSON files rendered to a Harmony prompt.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/types.h"
#include "harmony/parser.h"
#include "tokenizer/tokenizer.h"

namespace tessera::cli {

struct ChatInput {
  std::string messages_file;  // a JSON list of messages, or an object with "messages"
  std::string prompt;         // or one user message
  std::string tools_file, response_format_file, reasoning = "medium", date;
};

struct RenderedPrompt {
  std::string text;
  std::vector<TokenId> ids;
};

StatusOr<RenderedPrompt> RenderChat(const ChatInput& in, const Tokenizer& tokenizer);

// Parses generated ids into channels, tool calls and errors, as JSON.
nlohmann::json ParseOutput(const std::vector<TokenId>& ids, const Tokenizer& tokenizer);

}  // namespace tessera::cli
