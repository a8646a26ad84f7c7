// Small parsers for command-line values.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tessera {

// "1,2,3" -> {1,2,3}; spaces allowed; empty input gives an empty list.
StatusOr<std::vector<std::int32_t>> ParseIdList(std::string_view text);

}  // namespace tessera
