#include "model/generate.h"

#include <algorithm>

namespace tessera {
namespace {

StatusOr<GenerateResult> Run(CpuModel& model, SeqId seq, const GenerateRequest& req) {
  if (req.prompt.empty()) return absl::InvalidArgumentError("the prompt is empty");
  if (req.max_tokens < 0) return absl::InvalidArgumentError("max_tokens must not be negative");
  const std::int64_t need = static_cast<std::int64_t>(req.prompt.size()) + req.max_tokens;
  if (need > model.config().max_context) {
    return absl::OutOfRangeError(absl::StrCat("prompt (", req.prompt.size(), " tokens) + max_tokens (",
                                              req.max_tokens, ") exceeds the context of ",
                                              model.config().max_context, " tokens"));
  }
  GenerateResult result;
  result.finish_reason = "length";
  if (req.max_tokens == 0) return result;
  Sampler sampler(req.sampling);
  std::vector<float> logits;
  const std::size_t chunk = std::max(1, req.prefill_chunk);
  for (std::size_t begin = 0; begin < req.prompt.size(); begin += chunk) {
    const std::size_t n = std::min(chunk, req.prompt.size() - begin);
    SeqChunk c{seq, std::span<const TokenId>(req.prompt).subspan(begin, n), false};
    TESSERA_ASSIGN_OR_RETURN(logits, model.Forward({&c, 1}));
  }
  for (int step = 0; step < req.max_tokens; ++step) {
    const TokenId next = sampler.Sample(logits);
    result.output.push_back(next);
    if (req.top_logprobs > 0) result.top_logprobs.push_back(TopLogprobs(logits, req.top_logprobs));
    if (std::find(req.stop_ids.begin(), req.stop_ids.end(), next) != req.stop_ids.end()) {
      result.finish_reason = "stop";
      break;
    }
    if (step + 1 == req.max_tokens) break;
    SeqChunk c{seq, std::span<const TokenId>(&result.output.back(), 1), false};
    TESSERA_ASSIGN_OR_RETURN(logits, model.Forward({&c, 1}));
  }
  return result;
}

}  // namespace

StatusOr<GenerateResult> Generate(CpuModel& model, SeqId seq, const GenerateRequest& request) {
  StatusOr<GenerateResult> r = Run(model, seq, request);
  model.Release(seq);
  return r;
}

}  // namespace tessera
