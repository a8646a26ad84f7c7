// Streaming Harmony parser: ExpectStart -> Header -> Content state machine over token ids.
#include "harmony/parser.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "harmony/parser_internal.h"
#include "harmony/render.h"

namespace tessera::harmony {
namespace ht = harmony_tokens;

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Every id from <|startoftext|> up is a special token in o200k_harmony.
bool IsControl(TokenId id) { return id >= ht::kStartOfText; }

bool IsTerminator(TokenId id) {
  return id == ht::kEnd || id == ht::kReturn || id == ht::kCall || id == ht::kEndOfText;
}

std::string TokenName(TokenId id) {
  std::string_view text = ControlTokenText(id);
  return text.empty() ? absl::StrCat("token ", id) : std::string(text);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

bool IsStopToken(TokenId id) {
  return id == ht::kReturn || id == ht::kCall || id == ht::kEndOfText;
}

StreamParser::StreamParser(TokenBytes token_bytes) : StreamParser(std::move(token_bytes), {}) {}

StreamParser::StreamParser(TokenBytes token_bytes, Options options)
    : token_bytes_(std::move(token_bytes)),
      options_(options),
      state_(options.start_in_header ? State::kHeader : State::kExpectStart) {}

void StreamParser::Push(TokenId id, std::vector<Event>* out) {
  stopped_ = false;
  switch (state_) {
    case State::kExpectStart:
      OnBetweenMessages(id, out);
      break;
    case State::kHeader:
      OnHeaderToken(id, out);
      break;
    case State::kContent:
      OnContentToken(id, out);
      break;
  }
}

void StreamParser::Finish(std::vector<Event>* out) {
  if (state_ == State::kContent) {
    Error("output ended inside a message", out);
    EndMessage(0, /*truncated=*/true, out);
  } else if (state_ == State::kHeader && !header_.empty()) {
    Error("output ended inside a message header", out);
  }
  state_ = State::kExpectStart;
  header_.clear();
  if (!stopped_) {
    out->push_back(Stop{StopReason::kTruncated});
    stopped_ = true;
  }
}

void StreamParser::Error(std::string message, std::vector<Event>* out) {
  out->push_back(ParseError{std::move(message)});
}

void StreamParser::BeginHeader(bool role_known) {
  state_ = State::kHeader;
  role_known_ = role_known;
  header_.clear();
  reported_garbage_ = false;
}

void StreamParser::OnBetweenMessages(TokenId id, std::vector<Event>* out) {
  if (id == ht::kStart) {
    BeginHeader(/*role_known=*/false);
  } else if (IsStopToken(id)) {
    if (id != ht::kEndOfText) Error(TokenName(id) + " outside a message", out);
    EmitStop(id, out);
  } else if (id == ht::kChannel) {
    // "<|start|>assistant" left out: read on as an assistant header.
    Error("message began without <|start|>; read as an assistant message", out);
    BeginHeader(/*role_known=*/true);
    header_ = ControlTokenText(ht::kChannel);
  } else if (!reported_garbage_) {
    // Text or stray markers after a message: reported once, skipped up to the next <|start|>.
    Error(absl::StrCat("unexpected ", TokenName(id), " between messages; skipping to <|start|>"),
          out);
    reported_garbage_ = true;
  }
}

void StreamParser::OnHeaderToken(TokenId id, std::vector<Event>* out) {
  if (id == ht::kMessage) {
    StartContent(out);
    return;
  }
  if (id == ht::kStart) {
    if (!header_.empty()) Error("message header interrupted by <|start|>", out);
    BeginHeader(/*role_known=*/false);
    return;
  }
  if (IsTerminator(id)) {
    RecoverHeaderWithoutMessage(id, out);
    return;
  }
  std::string_view piece;
  if (id == ht::kChannel || id == ht::kConstrain) {
    piece = ControlTokenText(id);
  } else if (IsControl(id)) {
    Error(absl::StrCat("unexpected ", TokenName(id), " in a message header; ignored"), out);
    return;
  } else if (auto bytes = token_bytes_(id)) {
    piece = *bytes;
  } else {
    Error(absl::StrCat("unknown token id ", id, " in a message header; ignored"), out);
    return;
  }
  if (header_.size() + piece.size() > options_.max_header_bytes) {
    Error(absl::StrCat("message header longer than ", options_.max_header_bytes,
                       " bytes; skipping to <|start|>"),
          out);
    header_.clear();
    state_ = State::kExpectStart;
    reported_garbage_ = true;
    return;
  }
  header_.append(piece);
}

void StreamParser::StartContent(std::vector<Event>* out) {
  internal::ParsedHeader h = internal::ParseHeader(header_, role_known_);
  for (const std::string& problem : h.problems) {
    Error(absl::StrCat("malformed message header '", internal::SanitizeUtf8(header_, 120),
                       "': ", problem),
          out);
  }
  current_ = Message{};
  current_.role = h.role;
  current_.name = std::move(h.name);
  current_.channel = std::move(h.channel);
  current_.recipient = std::move(h.recipient);
  current_.content_type = std::move(h.content_type);
  current_.content = std::string();
  content_capped_ = false;
  pending_utf8_.clear();
  header_.clear();
  state_ = State::kContent;
  out->push_back(MessageStart{current_.role, current_.name, current_.channel, current_.recipient,
                              current_.content_type});
}

// A terminator arrived before <|message|> (seen in sampled output): keep the channel and any
// recipient, and take the rest of the header as the message text.
void StreamParser::RecoverHeaderWithoutMessage(TokenId terminator, std::vector<Event>* out) {
  Error(absl::StrCat("message header ended by ", TokenName(terminator),
                     " without <|message|>; rest of the header read as text"),
        out);
  std::size_t split = 0;
  if (std::size_t pos = header_.find("<|channel|>"); pos != std::string::npos) {
    split = pos + ControlTokenText(ht::kChannel).size();
    while (split < header_.size() && IsSpace(header_[split])) ++split;
    while (split < header_.size() && !IsSpace(header_[split]) && header_[split] != '<') ++split;
  } else {
    std::size_t end = 0;
    while (end < header_.size() && !IsSpace(header_[end])) ++end;
    if (RoleFromName(std::string_view(header_).substr(0, end))) split = end;
  }
  // Recipient and content-type words right after the channel still belong to the header.
  for (;;) {
    std::size_t begin = split;
    while (begin < header_.size() && IsSpace(header_[begin])) ++begin;
    std::string_view rest = std::string_view(header_).substr(begin);
    if (!rest.starts_with("to=") && !rest.starts_with("<|constrain|>")) break;
    std::size_t end = begin + 1;
    while (end < header_.size() && !IsSpace(header_[end]) && header_[end] != '<') ++end;
    split = end;
  }
  std::string text = header_.substr(split);
  std::size_t first = 0;
  while (first < text.size() && IsSpace(text[first])) ++first;
  text.erase(0, first);
  if (header_.find_first_not_of(" \t\r\n") != std::string::npos) {
    header_.resize(split);
    StartContent(out);
    AppendContent(text, out);
    EndMessage(terminator, /*truncated=*/false, out);
  } else {
    header_.clear();
    state_ = State::kExpectStart;
    if (IsStopToken(terminator)) EmitStop(terminator, out);
  }
}

void StreamParser::OnContentToken(TokenId id, std::vector<Event>* out) {
  if (IsTerminator(id)) {
    EndMessage(id, /*truncated=*/false, out);
  } else if (id == ht::kStart) {
    Error("message not terminated before <|start|>", out);
    EndMessage(0, /*truncated=*/true, out);
    BeginHeader(/*role_known=*/false);
  } else if (IsControl(id)) {
    Error(absl::StrCat("unexpected ", TokenName(id), " in message text; ignored"), out);
  } else if (auto bytes = token_bytes_(id)) {
    AppendContent(*bytes, out);
  } else {
    Error(absl::StrCat("unknown token id ", id, " in message text"), out);
    FlushPendingBytes(out);
    AppendContent(kReplacement, out);
  }
}

void StreamParser::AppendContent(std::string_view bytes, std::vector<Event>* out) {
  std::string buf = std::move(pending_utf8_);
  pending_utf8_.clear();
  buf.append(bytes);
  std::string text;
  std::string_view rest = buf;
  while (!rest.empty()) {
    internal::Utf8Scan scan = internal::ScanUtf8(rest);
    text.append(rest.substr(0, scan.valid_up_to));
    rest.remove_prefix(scan.valid_up_to);
    if (rest.empty()) break;
    if (scan.error_len == 0) {  // a character continues in the next token
      pending_utf8_.assign(rest);
      break;
    }
    text.append(kReplacement);
    rest.remove_prefix(scan.error_len);
  }
  if (text.empty()) return;
  std::string& whole = std::get<std::string>(current_.content);
  if (content_capped_) {
    // Kept text stays a prefix of what was streamed.
  } else if (whole.size() + text.size() <= options_.max_message_bytes) {
    whole += text;
  } else {
    content_capped_ = true;
    Error(absl::StrCat("message text longer than ", options_.max_message_bytes,
                       " bytes; the message and tool call keep only the start"),
          out);
  }
  out->push_back(TextDelta{current_.channel, current_.recipient, std::move(text)});
}

void StreamParser::FlushPendingBytes(std::vector<Event>* out) {
  if (pending_utf8_.empty()) return;
  // An incomplete character at the end of a message becomes one U+FFFD.
  pending_utf8_.clear();
  AppendContent(kReplacement, out);
}

void StreamParser::EndMessage(TokenId terminator, bool truncated, std::vector<Event>* out) {
  FlushPendingBytes(out);
  state_ = State::kExpectStart;
  reported_garbage_ = false;
  const bool is_call = current_.role == Role::kAssistant && !current_.recipient.empty();
  if (terminator == ht::kCall && !is_call) {
    Error("<|call|> ends a message that has no recipient", out);
  }
  out->push_back(MessageEnd{current_, truncated});
  if (is_call && !truncated) {
    std::string_view name = current_.recipient;
    if (name.starts_with("functions.")) name.remove_prefix(std::string_view("functions.").size());
    out->push_back(ToolCall{std::string(name), current_.recipient, current_.channel,
                            current_.content_type, std::get<std::string>(current_.content)});
  }
  current_ = Message{};
  if (IsStopToken(terminator)) EmitStop(terminator, out);
}

void StreamParser::EmitStop(TokenId terminator, std::vector<Event>* out) {
  StopReason reason = terminator == ht::kReturn ? StopReason::kReturn
                      : terminator == ht::kCall ? StopReason::kCall
                                                : StopReason::kEndOfText;
  out->push_back(Stop{reason});
  stopped_ = true;
}

namespace {

std::string Quoted(const std::string& s) { return absl::StrCat("\"", s, "\""); }

struct EventPrinter {
  std::string operator()(const MessageStart& e) const {
    return absl::StrCat("MessageStart{role=", std::string(RoleName(e.role)),
                        e.name.empty() ? "" : " name=", e.name, " channel=", e.channel,
                        " recipient=", e.recipient, " content_type=", e.content_type, "}");
  }
  std::string operator()(const TextDelta& e) const {
    return absl::StrCat("TextDelta{channel=", e.channel, " recipient=", e.recipient,
                        " text=", Quoted(e.text), "}");
  }
  std::string operator()(const MessageEnd& e) const {
    const Message& m = e.message;
    return absl::StrCat("MessageEnd{role=", std::string(RoleName(m.role)), " channel=", m.channel,
                        " recipient=", m.recipient,
                        " text=", Quoted(std::get<std::string>(m.content)),
                        e.truncated ? " truncated}" : "}");
  }
  std::string operator()(const ToolCall& e) const {
    return absl::StrCat("ToolCall{name=", e.name, " channel=", e.channel,
                        " arguments=", Quoted(e.arguments), "}");
  }
  std::string operator()(const Stop& e) const {
    switch (e.reason) {
      case StopReason::kReturn:
        return "Stop{return}";
      case StopReason::kCall:
        return "Stop{call}";
      case StopReason::kEndOfText:
        return "Stop{end_of_text}";
      case StopReason::kTruncated:
        return "Stop{truncated}";
    }
    return "Stop{?}";
  }
  std::string operator()(const ParseError& e) const {
    return absl::StrCat("ParseError{", e.message, "}");
  }
};

}  // namespace

std::string EventToString(const Event& event) { return std::visit(EventPrinter{}, event); }

}  // namespace tessera::harmony
