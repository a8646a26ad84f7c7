#include "model/load.h"

#include "checkpoint/checkpoint.h"

namespace tessera {

StatusOr<std::unique_ptr<CpuModel>> LoadCpuModel(const std::string& dir, const ShardSpec& shard, KvCacheOptions kv) {
  TESSERA_ASSIGN_OR_RETURN(Checkpoint ckpt, Checkpoint::Open(dir));
  TESSERA_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(ckpt.config_dir() + "/config.json"));
  TESSERA_ASSIGN_OR_RETURN(ModelWeights weights, ModelWeights::Load(ckpt, config, shard));
  return std::make_unique<CpuModel>(std::move(weights), kv);
}

}  // namespace tessera
