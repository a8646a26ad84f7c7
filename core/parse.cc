#include "core/parse.h"

#include <charconv>
#include <string>

namespace tessera {

StatusOr<std::vector<std::int32_t>> ParseIdList(std::string_view text) {
  std::vector<std::int32_t> ids;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      std::int32_t v = 0;
      auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (ec != std::errc() || ptr != item.data() + item.size() || v < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", std::string(item), "' is not a token id (a non-negative integer)"));
      }
      ids.push_back(v);
    } else if (comma != text.size() || pos != 0) {
      if (!(pos == text.size() && comma == text.size()))
        return absl::InvalidArgumentError("empty entry in id list");
    }
    pos = comma + 1;
  }
  return ids;
}

}  // namespace tessera
