// One sequence's generation on an in-process model: chunked prefill, then token-by-token decode.
#pragma once

#include <string>
#include <vector>

#include "model/cpu_model.h"
#include "model/sampler.h"

namespace tessera {

// What every generation request carries, whichever engine runs it (in process here, or the
// coordinator's scheduler).
struct GenerationParams {
  std::vector<TokenId> prompt;
  int max_tokens = 16;
  SamplingParams sampling;
  int top_logprobs = 0;           // alternatives reported per generated token
  std::vector<TokenId> stop_ids;  // generation ends after emitting one of these
};

struct GenerateRequest : GenerationParams {
  int prefill_chunk = 512;  // prompt tokens per forward step (bounds activation memory)
};

struct GenerateResult {
  std::vector<TokenId> output;
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // one list per output token
  std::string finish_reason;                            // "stop" or "length"
};

// Runs `request` as sequence `seq` and releases its cache afterwards, also on error.
StatusOr<GenerateResult> Generate(CpuModel& model, SeqId seq, const GenerateRequest& request);

}  // namespace tessera
