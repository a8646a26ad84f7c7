// The built-in model: the "tiny" preset synthesized with a fixed seed, written once to a cache
// folder so that every command works on a fresh machine without weights.
#pragma once

#include <string>

#include "core/status.h"

namespace tessera {

// $TESSERA_HOME/models/<name>, else $XDG_CACHE_HOME/tessera/models/<name>, else
// ~/.cache/tessera/models/<name>. Creates the checkpoint on first use.
StatusOr<std::string> DefaultModelDir();

}  // namespace tessera
