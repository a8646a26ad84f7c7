// Vocabulary shared by every module.
#pragma once

#include <cstdint>

namespace tessera {

using TokenId = std::uint32_t;  // an id in the o200k_harmony vocabulary
using SeqId = std::uint64_t;    // a sequence being generated, unique within a process

}  // namespace tessera
