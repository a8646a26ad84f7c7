// OpenAI Chat Completions request -> Harmony conversation.
//
// Mapping (docs: gpt-oss spec §6.1):
//   * a system message always comes first: `options.system` (identity, cutoff, current date,
//     built-in tools) with the request's reasoning effort ("reasoning_effort", or
//     "reasoning": {"effort"}).
//   * system/developer messages before the first other message become the developer message's
//     instructions (joined by a blank line); later ones become developer messages in place.
//   * "tools" (type function) -> developer "functions" namespace; "response_format" of type
//     json_schema -> developer "# Response Formats".
//   * user -> user; content is a string or an array of {"type": "text", "text"} parts.
//   * assistant -> "reasoning" / "reasoning_content" / "thinking" as an analysis message, then
//     either the content as the final answer, or (with tool_calls) the content as a commentary
//     preamble followed by one call message per tool call (to=functions.NAME, <|constrain|>json).
//   * tool -> a message from functions.NAME (found through tool_call_id) to the assistant on
//     the commentary channel.
// Analysis of finished turns is dropped later, by the renderer.
#pragma once

#include <string_view>

#include "core/status.h"
#include "harmony/chat.h"

namespace tessera::harmony {

struct ChatCompletionsOptions {
  // The system message to use; its reasoning effort is replaced by the request's when given.
  // Set current_date to the serving date to match what gpt-oss saw in training.
  SystemContent system;
};

// Errors (InvalidArgument, naming the field): unknown role, wrong JSON types, unsupported content
// parts or tool types, a tool message whose tool_call_id matches no earlier call, a bad
// reasoning effort.
[[nodiscard]] StatusOr<Conversation> ConversationFromChatCompletions(
    const Json& request, const ChatCompletionsOptions& options = {});

// Same, from the request body text (parsed keeping key order).
[[nodiscard]] StatusOr<Conversation> ConversationFromChatCompletionsText(
    std::string_view body, const ChatCompletionsOptions& options = {});

}  // namespace tessera::harmony
