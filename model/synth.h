// Random-weight checkpoints in the real layouts, for tests, benchmarks and the built-in model.
// Values depend only on the seed and the tensor's role, not on the layout, so the same seed
// written in HF and original naming describes the same model.
#pragma once

#include <cstdint>
#include <string>

#include "model/config.h"

namespace tessera {

struct SynthOptions {
  std::uint64_t seed = 0;
  ConfigSpelling spelling = ConfigSpelling::kPublished;
  bool original_layout = false;               // write OpenAI's original/ layout instead of HF's
  std::uint64_t shard_bytes = 4ull << 30;     // HF layout: split into shards with an index
};

// Writes config.json (with config.expert_format deciding MXFP4 or bf16 experts) and the
// safetensors files into `dir`, creating it.
Status WriteSyntheticCheckpoint(const ModelConfig& config, const SynthOptions& options,
                                const std::string& dir);

}  // namespace tessera
