#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tessera {
namespace {

TokenId Argmax(std::span<const float> logits) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = i;
  return static_cast<TokenId>(best);
}

double LogSumExp(std::span<const float> logits) {
  float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - mx);
  return mx + std::log(sum);
}

}  // namespace

std::vector<TokenLogprob> TopLogprobs(std::span<const float> logits, int k) {
  k = std::min<int>(k, static_cast<int>(logits.size()));
  if (k <= 0) return {};
  std::vector<TokenId> idx(logits.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](TokenId a, TokenId b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  const double lse = LogSumExp(logits);
  std::vector<TokenLogprob> out;
  for (int i = 0; i < k; ++i) out.push_back({idx[i], static_cast<float>(logits[idx[i]] - lse)});
  return out;
}

float Logprob(std::span<const float> logits, TokenId id) {
  return static_cast<float>(logits[id] - LogSumExp(logits));
}

Sampler::Sampler(const SamplingParams& params) : p_(params), state_(params.seed) {}

double Sampler::NextUniform() {
  // splitmix64: tiny, fully specified, identical everywhere.
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

TokenId Sampler::Sample(std::span<const float> logits) {
  if (p_.temperature <= 0.0f) return Argmax(logits);
  // Candidates sorted by logit; top-k and top-p cut the tail before drawing.
  std::vector<TokenId> idx(logits.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::size_t keep = logits.size();
  if (p_.top_k > 0) keep = std::min<std::size_t>(keep, p_.top_k);
  auto by_logit = [&](TokenId a, TokenId b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  if (keep < idx.size() || p_.top_p < 1.0f) {
    // Sorting the whole vocabulary is only needed for top-p; top-k needs a partial sort.
    if (p_.top_p < 1.0f) {
      std::sort(idx.begin(), idx.end(), by_logit);
    } else {
      std::partial_sort(idx.begin(), idx.begin() + keep, idx.end(), by_logit);
    }
  }
  const float mx = logits[p_.top_p < 1.0f || keep < idx.size() ? idx[0] : Argmax(logits)];
  std::vector<double> probs(keep);
  double total = 0.0;
  for (std::size_t i = 0; i < keep; ++i) total += probs[i] = std::exp((logits[idx[i]] - mx) / p_.temperature);
  if (p_.top_p < 1.0f) {
    double mass = 0.0;
    std::size_t cut = 0;
    while (cut < keep) {
      mass += probs[cut++] / total;
      if (mass >= p_.top_p) break;
    }
    keep = cut;
    total = std::accumulate(probs.begin(), probs.begin() + keep, 0.0);
  }
  double r = NextUniform() * total;
  for (std::size_t i = 0; i < keep; ++i) {
    r -= probs[i];
    if (r < 0.0) return idx[i];
  }
  return idx[keep - 1];
}

}  // namespace tessera
