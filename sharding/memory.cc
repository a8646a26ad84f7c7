#include "sharding/memory.h"

#include <algorithm>
#include <string>

namespace tessera {
namespace {

constexpr std::uint64_t kBf16 = 2;

// MXFP4 stores each row in blocks of 32 values: 16 bytes of nibbles + 1 shared exponent byte.
std::uint64_t MatrixBytes(std::uint64_t rows, std::uint64_t cols, ExpertFormat format) {
  if (format == ExpertFormat::kBf16) return rows * cols * kBf16;
  return rows * ((cols + 31) / 32) * 17;
}

}  // namespace

ModelBytes ComputeModelBytes(const ModelConfig& c, ExpertFormat expert_format) {
  ModelBytes b;
  const std::uint64_t h = c.hidden_size, q = c.q_width(), kv = c.kv_width(), e = c.num_experts;
  const std::uint64_t inter = c.intermediate_size;
  const std::uint64_t attention = (h * q + q) + 2 * (h * kv + kv) + (q * h + h) + c.num_heads + 2 * h;
  const std::uint64_t router = e * h + e;
  b.attention_per_layer = (attention + router) * kBf16;
  b.expert = MatrixBytes(2 * inter, h, expert_format) + MatrixBytes(h, inter, expert_format) + (2 * inter + h) * kBf16;
  b.embedding = static_cast<std::uint64_t>(c.vocab_size) * h * kBf16;
  b.unembedding = b.embedding + h * kBf16;
  b.kv_per_token_layer = 2 * kv * kBf16;
  b.sliding_ring_tokens = c.sliding_window > 0 ? std::min<std::int64_t>(c.sliding_window, c.max_context) : 0;
  b.num_layers = c.num_layers;
  b.num_experts = c.num_experts;
  for (int l = 0; l < c.num_layers; ++l) (c.is_sliding(l) ? b.sliding_layers : b.full_layers)++;
  return b;
}

std::string ModelName(const ModelConfig& c) {
  const bool oss = c.hidden_size == 2880 && c.num_heads == 64 && c.vocab_size == 201088;
  if (oss && c.num_layers == 36 && c.num_experts == 128) return "gpt-oss-120b";
  if (oss && c.num_layers == 24 && c.num_experts == 32) return "gpt-oss-20b";
  return absl::StrCat("gpt-oss model (", c.num_layers, " layers x ", c.num_experts, " experts, hidden ",
                      c.hidden_size, ")");
}

}  // namespace tessera
