// Helpers shared by the renderer's source files; not part of the public API.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "harmony/chat.h"

namespace tessera::harmony::internal {

// Lines of `text` split like Rust's str::lines: on '\n', a trailing '\r' removed from each line,
// and no empty last line after a final '\n' ("" gives no lines).
std::vector<std::string_view> Lines(std::string_view text);

std::string Join(const std::vector<std::string>& parts, std::string_view separator);

// "# Tools" followed by one "## name" block per namespace, in the order given.
std::string RenderToolsSection(const std::vector<const ToolNamespace*>& namespaces);

// Compact JSON that never throws (invalid UTF-8 is replaced).
std::string DumpJson(const Json& value);

}  // namespace tessera::harmony::internal
