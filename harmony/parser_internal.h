// Pieces of the streaming parser that are easier to test on their own; not part of the public API.
#pragma once

#include "core/utf8.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "harmony/chat.h"

namespace tessera::harmony::internal {

struct ParsedHeader {
  Role role = Role::kAssistant;
  std::string name;  // tool author, e.g. "functions.get_weather"
  std::string channel;
  std::string recipient;
  std::string content_type;
  std::vector<std::string> problems;  // malformed parts; the fields hold the best reading
};

// Parses the text between <|start|> and <|message|> (control tokens spelled out). `role_known`:
// the role was already given by the prompt, so a leading unknown word is not a tool author.
ParsedHeader ParseHeader(std::string_view header, bool role_known);

using tessera::ScanUtf8;
using tessera::Utf8Scan;

// `bytes` with every invalid sequence replaced by U+FFFD, cut to about `max_bytes`.
std::string SanitizeUtf8(std::string_view bytes, std::size_t max_bytes = std::string::npos);

}  // namespace tessera::harmony::internal
