// Opening a checkpoint folder as a runnable CPU model: the checkpoint, its config.json and the
// weights of one shard (all of the model by default).
#pragma once

#include <memory>
#include <string>

#include "model/cpu_model.h"

namespace tessera {

StatusOr<std::unique_ptr<CpuModel>> LoadCpuModel(const std::string& dir, const ShardSpec& shard = {},
                                                 KvCacheOptions kv = {});

}  // namespace tessera
