// Message-header parsing and UTF-8 scanning for the streaming parser.
//
// Header forms gpt-oss produces (after the role, which the prompt may already hold):
//   <|channel|>final
//   <|channel|>commentary to=functions.X <|constrain|>json     recipient after the channel
//    to=functions.X<|channel|>commentary <|constrain|>json     recipient before the channel
//   <|channel|>analysis to=python code                         built-in call on analysis
//   <|channel|>final <|constrain|>json                         structured output
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "harmony/parser_internal.h"

namespace tessera::harmony::internal {
namespace {

constexpr std::string_view kChannelMarker = "<|channel|>";
constexpr std::string_view kConstrainMarker = "<|constrain|>";

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string> SplitWords(std::string_view s) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsAsciiSpace(s[i])) ++i;
    std::size_t j = i;
    while (j < s.size() && !IsAsciiSpace(s[j])) ++j;
    if (j > i) words.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return words;
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos;
       pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

bool IsKnownChannel(std::string_view c) {
  return c == "analysis" || c == "commentary" || c == "final";
}

// Removes the first "<|channel|>NAME" from `h` and returns NAME (whitespace after the marker is
// tolerated; the name ends at whitespace or '<'). A space is left in its place so that glued
// neighbours ("to=x<|channel|>commentary<|constrain|>json") come apart.
std::string TakeChannel(std::string& h, std::vector<std::string>& problems) {
  std::size_t pos = h.find(kChannelMarker);
  if (pos == std::string::npos) return "";
  std::size_t begin = pos + kChannelMarker.size();
  while (begin < h.size() && IsAsciiSpace(h[begin])) ++begin;
  std::size_t end = begin;
  while (end < h.size() && !IsAsciiSpace(h[end]) && h[end] != '<') ++end;
  std::string channel = h.substr(begin, end - begin);
  h = h.substr(0, pos) + " " + h.substr(end);
  if (channel.empty()) problems.push_back("no channel name after <|channel|>");
  if (h.find(kChannelMarker) != std::string::npos) {
    problems.push_back("more than one <|channel|>");
    ReplaceAll(h, kChannelMarker, " ");
  }
  return channel;
}

}  // namespace

ParsedHeader ParseHeader(std::string_view header, bool role_known) {
  ParsedHeader out;
  std::string h(header);
  out.channel = TakeChannel(h, out.problems);
  if (!out.channel.empty() && !IsKnownChannel(out.channel)) {
    out.problems.push_back(absl::StrCat("unknown channel '", SanitizeUtf8(out.channel, 40), "'"));
  }
  ReplaceAll(h, kConstrainMarker, " <|constrain|>");
  std::vector<std::string> words = SplitWords(h);

  auto is_bare = [](const std::string& w) {
    return !w.starts_with("to=") && !w.starts_with(kConstrainMarker);
  };
  if (!words.empty()) {
    if (auto role = RoleFromName(words.front())) {
      out.role = *role;
      words.erase(words.begin());
    } else if (!role_known && words.size() > 1 && is_bare(words.front()) &&
               std::any_of(words.begin() + 1, words.end(),
                           [](const std::string& w) { return w.starts_with("to="); })) {
      // "<|start|>functions.X to=assistant": a message authored by a tool.
      out.role = Role::kTool;
      out.name = words.front();
      words.erase(words.begin());
    }
  }

  // Explicit markers first: "to=R" and "<|constrain|>T" are unambiguous wherever they stand.
  std::vector<std::string> bare;
  std::vector<std::string> leftover;
  for (std::string& w : words) {
    if (w.starts_with("to=")) {
      if (w.size() > 3 && out.recipient.empty()) {
        out.recipient = w.substr(3);
      } else {
        leftover.push_back(std::move(w));
      }
    } else if (w.starts_with(kConstrainMarker)) {
      if (out.content_type.empty()) {
        out.content_type = std::move(w);
      } else {
        leftover.push_back(std::move(w));
      }
    } else {
      bare.push_back(std::move(w));
    }
  }
  // Bare words by position, as the reference reads them: the last is the content type and the
  // one before it the recipient. A lone bare word is a content type ("final json"), not a
  // recipient: gpt-oss always writes recipients with "to=".
  std::string guessed_recipient;
  std::string guessed_type;
  if (out.recipient.empty()) {
    auto fn = std::find_if(bare.begin(), bare.end(),
                           [](const std::string& w) { return w.starts_with("functions."); });
    if (fn != bare.end()) {
      guessed_recipient = *fn;
      bare.erase(fn);
    }
  }
  if (!bare.empty() && out.content_type.empty()) {
    guessed_type = bare.back();
    bare.pop_back();
  }
  if (!bare.empty() && out.recipient.empty() && guessed_recipient.empty()) {
    guessed_recipient = bare.back();
    bare.pop_back();
  }
  leftover.insert(leftover.end(), bare.begin(), bare.end());
  if (leftover.empty()) {
    if (out.recipient.empty()) out.recipient = std::move(guessed_recipient);
    if (out.content_type.empty()) out.content_type = std::move(guessed_type);
  } else {
    // Free text in the header: positional guesses are not trusted (they would turn prose into
    // a tool call); only the explicit markers are kept.
    out.problems.push_back(absl::StrCat("unexpected text in message header: '",
                                        SanitizeUtf8(absl::StrJoin(leftover, " "), 80), "'"));
  }
  if (out.recipient == "all") out.recipient.clear();
  return out;
}

std::string SanitizeUtf8(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  while (!bytes.empty() && out.size() < max_bytes) {
    Utf8Scan scan = ScanUtf8(bytes);
    out.append(bytes.substr(0, scan.valid_up_to));
    bytes.remove_prefix(scan.valid_up_to);
    if (bytes.empty()) break;
    out.append("\xEF\xBF\xBD");
    bytes.remove_prefix(scan.error_len == 0 ? bytes.size() : scan.error_len);
  }
  if (out.size() > max_bytes) {
    // Cut on a character boundary.
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

}  // namespace tessera::harmony::internal
