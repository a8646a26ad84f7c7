// Streaming parser for gpt-oss output in the Harmony format.
//
// Fed one sampled token at a time, it reports events: a message starts (header parsed), text
// arrives (valid UTF-8 only), a message ends, a tool call is complete, sampling should stop, or
// the output is malformed. It tolerates the header variants gpt-oss produces (recipient before or
// after the channel, "<|constrain|>json", calls on the analysis channel, glued markers, a missing
// channel) and recovers from malformed output instead of failing: bad input becomes a ParseError
// event and parsing resumes at the next message. Memory is bounded per message.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "harmony/chat.h"
#include "tokenizer/tokenizer.h"

namespace tessera::harmony {

// Sampling stops on these: end of the final answer, and a tool call.
inline constexpr TokenId kStopTokens[] = {harmony_tokens::kReturn, harmony_tokens::kCall};
// Tokens that end a message. <|end|> does not stop sampling: analysis ends with it and the model
// goes on with the next message.
inline constexpr TokenId kEndOfMessageTokens[] = {harmony_tokens::kReturn, harmony_tokens::kEnd,
                                                  harmony_tokens::kCall};

// True for the tokens sampling must stop on: <|return|>, <|call|> and <|endoftext|>.
bool IsStopToken(TokenId id);

// The bytes of an ordinary token; nullopt when the id is not in the vocabulary. The view must
// stay valid until the next call.
using TokenBytes = std::function<std::optional<std::string_view>(TokenId)>;

// TokenBytes backed by a tokenizer, which must outlive it. Defined only when tessera_harmony is
// built with tessera_tokenizer.
TokenBytes TokenBytesFrom(const Tokenizer& tokenizer);

struct MessageStart {
  Role role = Role::kAssistant;
  std::string name;  // author name of a tool-authored message
  std::string channel;
  std::string recipient;
  std::string content_type;
};

struct TextDelta {
  std::string channel;
  std::string recipient;
  std::string text;  // complete UTF-8 characters only
};

struct MessageEnd {
  Message message;         // the whole message as parsed (text content)
  bool truncated = false;  // the stream ended or a new message began before a terminator
};

// An assistant message addressed to a recipient, complete.
struct ToolCall {
  std::string name;       // recipient without a leading "functions."
  std::string recipient;  // e.g. "functions.get_weather", "browser.search", "python"
  std::string channel;
  std::string content_type;
  std::string arguments;  // message text, normally JSON
};

enum class StopReason {
  kReturn,     // <|return|>: the final answer is complete
  kCall,       // <|call|>: run the tool and sample again
  kEndOfText,  // <|endoftext|>
  kTruncated,  // Finish() before any stop token: output cut off (length limit or error)
};

struct Stop {
  StopReason reason = StopReason::kTruncated;
};

struct ParseError {
  std::string message;
};

using Event = std::variant<MessageStart, TextDelta, MessageEnd, ToolCall, Stop, ParseError>;

// One line describing an event, for logs and test failure messages.
std::string EventToString(const Event& event);

class StreamParser {
 public:
  struct Options {
    // The prompt ended with "<|start|>assistant": the first tokens are that message's header.
    // false: expect "<|start|>" first.
    bool start_in_header = true;
    // A header longer than this is abandoned (garbage) and parsing skips to the next <|start|>.
    std::size_t max_header_bytes = 1024;
    // Message text kept for MessageEnd / ToolCall beyond this is dropped (deltas still flow).
    std::size_t max_message_bytes = std::size_t{8} << 20;
  };

  explicit StreamParser(TokenBytes token_bytes);
  StreamParser(TokenBytes token_bytes, Options options);

  // Feeds one token; appends the events it causes to `out`.
  void Push(TokenId id, std::vector<Event>* out);
  // End of stream: flushes a partial message and reports truncation when no stop token came.
  void Finish(std::vector<Event>* out);

  // The last token pushed was a stop token (sampling should end there), or Finish() was called.
  bool stopped() const { return stopped_; }

 private:
  enum class State { kExpectStart, kHeader, kContent };

  void OnHeaderToken(TokenId id, std::vector<Event>* out);
  void OnContentToken(TokenId id, std::vector<Event>* out);
  void OnBetweenMessages(TokenId id, std::vector<Event>* out);
  void BeginHeader(bool role_known);
  void StartContent(std::vector<Event>* out);
  void RecoverHeaderWithoutMessage(TokenId terminator, std::vector<Event>* out);
  void AppendContent(std::string_view bytes, std::vector<Event>* out);
  void FlushPendingBytes(std::vector<Event>* out);
  void EndMessage(TokenId terminator, bool truncated, std::vector<Event>* out);
  void EmitStop(TokenId terminator, std::vector<Event>* out);
  void Error(std::string message, std::vector<Event>* out);

  TokenBytes token_bytes_;
  Options options_;
  State state_;
  bool role_known_ = true;  // header of the first message omits the role (it is in the prompt)
  bool reported_garbage_ = false;
  bool stopped_ = false;
  bool content_capped_ = false;
  std::string header_;
  std::string pending_utf8_;  // incomplete UTF-8 sequence carried to the next token
  Message current_;
};

}  // namespace tessera::harmony
