// Token selection from logits: greedy, or temperature with top-k / top-p, seeded.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/types.h"

namespace tessera {

struct SamplingParams {
  float temperature = 1.0f;  // 0: greedy
  float top_p = 1.0f;        // nucleus mass kept, (0, 1]
  int top_k = 0;             // 0: no limit
  std::uint64_t seed = 0;
};

struct TokenLogprob {
  TokenId id;
  float logprob;
};

// log_softmax of the raw logits, k most likely first (ties: lower id first).
std::vector<TokenLogprob> TopLogprobs(std::span<const float> logits, int k);
float Logprob(std::span<const float> logits, TokenId id);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // Same params and seed give the same sequence of choices on every machine.
  TokenId Sample(std::span<const float> logits);

 private:
  double NextUniform();  // [0, 1) from the generator's raw bits (no std:: distributions)
  SamplingParams p_;
  std::uint64_t state_;
};

}  // namespace tessera
