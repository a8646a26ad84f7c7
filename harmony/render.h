// Harmony renderer: turns a Conversation into the exact prompt text gpt-oss was trained on.
//
// The result is a sequence of segments, each either a text fragment or a control token, so that
// RenderText() can be compared with reference renderings without a tokenizer, and RenderIds()
// encodes every text fragment on its own with EncodeOrdinary (control-token strings inside user
// text never become control tokens).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "harmony/chat.h"
#include "tokenizer/tokenizer.h"

namespace tessera::harmony {

struct Segment {
  enum class Kind { kText, kControl };
  Kind kind = Kind::kText;
  std::string text;   // kText
  TokenId token = 0;  // kControl: one of harmony_tokens::
};

// The spelled-out form of a control token ("<|start|>"), or "" for ids that are not Harmony
// control tokens.
std::string_view ControlTokenText(TokenId id);

class Prompt {
 public:
  void AddText(std::string text);  // empty text adds nothing
  void AddControl(TokenId id);
  void Append(const Prompt& other);

  const std::vector<Segment>& segments() const { return segments_; }

  // Text with control tokens spelled out, e.g. "<|start|>user<|message|>Hi<|end|>".
  std::string RenderText() const;
  // Token ids: each text segment encoded separately with EncodeOrdinary. Defined only when
  // tessera_harmony is built with tessera_tokenizer.
  std::vector<TokenId> RenderIds(const Tokenizer& tokenizer) const;

 private:
  std::vector<Segment> segments_;
};

struct RenderOptions {
  // Chain-of-thought retention: analysis messages that precede a final answer which the
  // conversation has moved past are dropped (the rule gpt-oss was trained with). Analysis after
  // the last final answer is kept, so a turn still busy with tool calls keeps its reasoning.
  // false renders every message.
  bool drop_old_analysis = true;
};

// One message, e.g. "<|start|>user<|message|>Hi<|end|>". `conversation_has_function_tools` adds
// the "Calls to these tools must go to the commentary channel" line to a system message.
// Errors: a tool message without a name; system/developer content in a message of another role.
[[nodiscard]] StatusOr<Prompt> RenderMessage(const Message& message,
                                             bool conversation_has_function_tools = false);

// Every message of the conversation (after the analysis-dropping rule), nothing appended. When the
// conversation ends with a final answer, that turn's analysis is kept (training-style rendering).
[[nodiscard]] StatusOr<Prompt> RenderConversation(const Conversation& conversation,
                                                  const RenderOptions& options = {});

// The prompt for sampling the next assistant turn: the conversation followed by
// "<|start|>assistant". Every final answer already given counts as a finished turn.
[[nodiscard]] StatusOr<Prompt> RenderForCompletion(const Conversation& conversation,
                                                   const RenderOptions& options = {});

// JSON Schema to the TypeScript-like type text of the reference renderer (property order = key
// order of the schema object). `indent` prefixes nested lines.
std::string JsonSchemaToTypeScript(const Json& schema, const std::string& indent = "");

// Text of a system / developer message body, as rendered between <|message|> and <|end|>.
std::string RenderSystemContent(const SystemContent& content, bool conversation_has_function_tools);
std::string RenderDeveloperContent(const DeveloperContent& content);

}  // namespace tessera::harmony
