#include "server/chat_output.h"

#include <random>

namespace tessera::server {

std::string NewCallId() {
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlnum[rng() % (sizeof kAlnum - 1)];
  return id;
}

ChatOutput::ChatOutput(const Tokenizer& tokenizer, std::vector<std::string> stop_strings)
    : parser_(harmony::TokenBytesFrom(tokenizer)), stops_(std::move(stop_strings)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

void ChatOutput::Push(TokenId id, std::vector<ChatDelta>* out) {
  if (stopped_ || parser_.stopped()) return;
  parser_.Push(id, &events_);
  OnEvents(out);
}

void ChatOutput::Finish(std::vector<ChatDelta>* out) {
  if (!parser_.stopped()) parser_.Finish(&events_);
  OnEvents(out);
  if (!stopped_ && emitted_ < content_.size()) {
    out->push_back({content_.substr(emitted_), "", nullptr});
    emitted_ = content_.size();
  }
}

void ChatOutput::OnEvents(std::vector<ChatDelta>* out) {
  for (harmony::Event& e : events_) {
    if (stopped_) break;
    if (auto* d = std::get_if<harmony::TextDelta>(&e)) {
      // Text addressed to a recipient is a call's arguments, reported whole by ToolCall.
      if (!d->recipient.empty()) continue;
      if (d->channel == "analysis") {
        reasoning_ += d->text;
        out->push_back({"", d->text, nullptr});
      } else {
        // final, and commentary preambles (shown to the user by the reference clients).
        AddContent(d->text, out);
      }
    } else if (auto* call = std::get_if<harmony::ToolCall>(&e)) {
      if (call->recipient.rfind("functions.", 0) != 0) continue;  // built-in tools are not served
      nlohmann::ordered_json tc = {{"id", NewCallId()},
                           {"type", "function"},
                           {"function", {{"name", call->name}, {"arguments", call->arguments}}}};
      tool_calls_.push_back(tc);
      out->push_back({"", "", tc});
    }
  }
  events_.clear();
}

void ChatOutput::AddContent(const std::string& text, std::vector<ChatDelta>* out) {
  const std::size_t before = content_.size();
  content_ += text;
  std::size_t longest = 0;
  for (const std::string& s : stops_) longest = std::max(longest, s.size());
  // Search only where a new match can be: it must end in the new text.
  const std::size_t from = before >= longest ? before - longest + 1 : 0;
  std::size_t cut = std::string::npos;
  for (const std::string& s : stops_) cut = std::min(cut, content_.find(s, from));
  if (cut != std::string::npos) {
    content_.resize(cut);
    stopped_ = true;
    if (emitted_ < cut) out->push_back({content_.substr(emitted_), "", nullptr});
    emitted_ = content_.size();
    return;
  }
  // Hold back the longest tail that begins some stop string; it starts on a character boundary.
  std::size_t hold = 0;
  for (const std::string& s : stops_) {
    for (std::size_t n = std::min(s.size() - 1, content_.size()); n > hold; --n) {
      if (content_.compare(content_.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  const std::size_t visible = content_.size() - hold;
  if (visible > emitted_) {
    out->push_back({content_.substr(emitted_, visible - emitted_), "", nullptr});
    emitted_ = visible;
  }
}

}  // namespace tessera::server
