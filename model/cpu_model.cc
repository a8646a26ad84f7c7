#include "model/cpu_model.h"

#include <algorithm>
#include <cmath>

#include "core/bf16.h"
#include "model/cpu_kernels.h"

namespace tessera {

CpuModel::CpuModel(ModelWeights weights, KvCacheOptions kv)
    : w_(std::move(weights)),
      rope_(w_.config().rope, w_.config().head_dim),
      cache_(w_.layer_end() - w_.layer_begin(), w_.config().kv_width(), kv.block_tokens,
             kv.max_blocks) {}

StatusOr<std::vector<float>> CpuModel::Embed(std::span<const SeqChunk> batch) const {
  if (!w_.embedding()) return absl::FailedPreconditionError("this shard holds no embedding");
  const int H = config().hidden_size;
  std::size_t tokens = 0;
  for (const SeqChunk& c : batch) tokens += c.tokens.size();
  std::vector<float> hidden(tokens * H);
  std::size_t row = 0;
  for (const SeqChunk& c : batch) {
    for (TokenId id : c.tokens) {
      if (id >= static_cast<TokenId>(config().vocab_size)) {
        return absl::InvalidArgumentError(absl::StrCat("token id ", id, " is outside the vocabulary (",
                                                       config().vocab_size, " ids)"));
      }
      const std::uint16_t* src = w_.embedding() + static_cast<std::size_t>(id) * H;
      for (int i = 0; i < H; ++i) hidden[row * H + i] = Bf16ToFloat(src[i]);
      ++row;
    }
  }
  return hidden;
}

Status CpuModel::RunLayers(std::span<const SeqChunk> batch, std::vector<float>& hidden,
                           const MoeReduce& reduce) {
  // Validate the whole batch before touching any state, so a bad request cannot leave the
  // cache half-written.
  std::vector<std::int64_t> pos;  // position of every token in the batch
  std::int64_t blocks_needed = 0;
  for (std::size_t i = 0; i < batch.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (batch[i].seq == batch[j].seq)
        return absl::InvalidArgumentError(absl::StrCat("sequence ", batch[i].seq, " appears twice in one step"));
  for (const SeqChunk& c : batch) {
    if (c.tokens.empty()) return absl::InvalidArgumentError(absl::StrCat("sequence ", c.seq, ": empty chunk"));
    const std::int64_t start = cache_.length(c.seq);
    const std::int64_t end = start + static_cast<std::int64_t>(c.tokens.size());
    if (end > config().max_context) {
      return absl::OutOfRangeError(absl::StrCat("sequence ", c.seq, " would reach ", end,
                                                " tokens, over the context of ", config().max_context));
    }
    const std::int64_t bt = cache_.block_tokens();
    blocks_needed += (end + bt - 1) / bt - (start + bt - 1) / bt;
    for (std::int64_t p = start; p < end; ++p) pos.push_back(p);
  }
  if (hidden.size() != pos.size() * config().hidden_size)
    return absl::InvalidArgumentError("hidden state size does not match the batch");
  if (blocks_needed > cache_.free_blocks()) {
    return absl::ResourceExhaustedError(absl::StrCat("KV cache full: the step needs ", blocks_needed,
                                                     " blocks, ", cache_.free_blocks(), " free"));
  }
  for (const SeqChunk& c : batch) {
    TESSERA_RETURN_IF_ERROR(cache_.Reserve(c.seq, cache_.length(c.seq) + c.tokens.size()));
  }
  const int tokens = static_cast<int>(pos.size());
  for (int l = w_.layer_begin(); l < w_.layer_end(); ++l) {
    Attention(l, batch, pos, hidden);
    // A failed reduction (a peer died) leaves this step's cache entries unused: lengths are
    // only advanced below, so the sequence can be retried or released.
    TESSERA_RETURN_IF_ERROR(Moe(l, tokens, hidden, reduce));
  }
  for (const SeqChunk& c : batch) cache_.SetLength(c.seq, cache_.length(c.seq) + c.tokens.size());
  return absl::OkStatus();
}

void CpuModel::Attention(int layer, std::span<const SeqChunk> batch,
                         const std::vector<std::int64_t>& pos, std::vector<float>& hidden) {
  const ModelConfig& c = config();
  const LayerWeights& lw = w_.layer(layer);
  const int T = static_cast<int>(pos.size()), H = c.hidden_size, D = c.head_dim;
  const int QW = c.q_width(), KW = c.kv_width(), group = c.num_heads / c.num_kv_heads;
  const int local = layer - w_.layer_begin();

  std::vector<float> xn(static_cast<std::size_t>(T) * H);
  cpu::RmsNorm(hidden.data(), T, H, lw.attn_norm.data(), c.rms_norm_eps, xn.data());
  std::vector<float> q(static_cast<std::size_t>(T) * QW), k(static_cast<std::size_t>(T) * KW),
      v(static_cast<std::size_t>(T) * KW);
  cpu::MatmulBf16(xn.data(), T, H, lw.q, QW, lw.q_bias.data(), q.data());
  cpu::MatmulBf16(xn.data(), T, H, lw.k, KW, lw.k_bias.data(), k.data());
  cpu::MatmulBf16(xn.data(), T, H, lw.v, KW, lw.v_bias.data(), v.data());

  // Rotate and append this step's keys and values before attending: a token sees itself.
  std::vector<SeqId> seq_of(T);
  int row = 0;
  for (const SeqChunk& chunk : batch) {
    for (std::size_t i = 0; i < chunk.tokens.size(); ++i, ++row) {
      seq_of[row] = chunk.seq;
      rope_.Apply(&q[static_cast<std::size_t>(row) * QW], c.num_heads, pos[row]);
      rope_.Apply(&k[static_cast<std::size_t>(row) * KW], c.num_kv_heads, pos[row]);
      std::copy_n(&k[static_cast<std::size_t>(row) * KW], KW, cache_.Key(chunk.seq, local, pos[row]));
      std::copy_n(&v[static_cast<std::size_t>(row) * KW], KW, cache_.Value(chunk.seq, local, pos[row]));
    }
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const bool sliding = c.is_sliding(layer);
  std::vector<float> out(static_cast<std::size_t>(T) * QW);
#pragma omp parallel
  {
    std::vector<float> scores, acc(D);
#pragma omp for schedule(dynamic, 1)
    for (int th = 0; th < T * c.num_heads; ++th) {
      const int t = th / c.num_heads, h = th % c.num_heads;
      const std::int64_t p = pos[t];
      const std::int64_t lo = sliding ? std::max<std::int64_t>(0, p - c.sliding_window + 1) : 0;
      const KvCache::LayerView kv = cache_.View(seq_of[t], local);
      const float* qh = &q[static_cast<std::size_t>(t) * QW + h * D];
      const int kvh = h / group;
      const int n = static_cast<int>(p - lo + 1);
      scores.resize(n);
      for (int j = 0; j < n; ++j) scores[j] = cpu::Dot(qh, kv.Key(lo + j) + kvh * D, D) * scale;
      cpu::SinkSoftmax(scores.data(), n, lw.sinks[h]);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int j = 0; j < n; ++j) {
        const float* vj = kv.Value(lo + j) + kvh * D;
        for (int d = 0; d < D; ++d) acc[d] += scores[j] * vj[d];
      }
      std::copy(acc.begin(), acc.end(), &out[static_cast<std::size_t>(t) * QW + h * D]);
    }
  }
  std::vector<float> proj(static_cast<std::size_t>(T) * H);
  cpu::MatmulBf16(out.data(), T, QW, lw.o, H, lw.o_bias.data(), proj.data());
  for (std::size_t i = 0; i < hidden.size(); ++i) hidden[i] += proj[i];
}

Routing CpuModel::Route(int layer, std::span<const float> normed, int tokens) const {
  const ModelConfig& c = config();
  const LayerWeights& lw = w_.layer(layer);
  const int E = c.num_experts, K = c.experts_per_token;
  std::vector<float> logits(static_cast<std::size_t>(tokens) * E);
  cpu::MatmulBf16(normed.data(), tokens, c.hidden_size, lw.router, E, lw.router_bias.data(), logits.data());
  Routing r;
  r.k = K;
  r.experts.resize(static_cast<std::size_t>(tokens) * K);
  r.weights.resize(static_cast<std::size_t>(tokens) * K);
  for (int t = 0; t < tokens; ++t) {
    cpu::TopKSoftmax(&logits[static_cast<std::size_t>(t) * E], E, K, &r.experts[t * K], &r.weights[t * K]);
  }
  return r;
}

void CpuModel::ApplyExperts(int layer, std::span<const float> normed, int tokens, const Routing& r,
                            std::span<float> out) const {
  const ModelConfig& c = config();
  const ExpertWeights& x = w_.layer(layer).experts;
  const int H = c.hidden_size, I = c.intermediate_size;
  // Group tokens by expert so each expert's weights are streamed once per step.
  std::vector<std::vector<std::pair<int, float>>> by_expert(c.num_experts);
  for (int t = 0; t < tokens; ++t)
    for (int i = 0; i < r.k; ++i) by_expert[r.experts[t * r.k + i]].push_back({t, r.weights[t * r.k + i]});
  std::vector<float> xin, gate_up, act, y;
  for (int e = 0; e < c.num_experts; ++e) {
    const auto& group = by_expert[e];
    if (group.empty() || !w_.has_expert(e)) continue;
    const int n = static_cast<int>(group.size());
    xin.resize(static_cast<std::size_t>(n) * H);
    for (int i = 0; i < n; ++i)
      std::copy_n(&normed[static_cast<std::size_t>(group[i].first) * H], H, &xin[static_cast<std::size_t>(i) * H]);
    gate_up.resize(static_cast<std::size_t>(n) * 2 * I);
    act.resize(static_cast<std::size_t>(n) * I);
    y.resize(static_cast<std::size_t>(n) * H);
    const float* gub = &x.gate_up_bias[static_cast<std::size_t>(e) * 2 * I];
    const float* db = &x.down_bias[static_cast<std::size_t>(e) * H];
    if (x.format == ExpertFormat::kMxfp4) {
      const std::size_t gu_rows = static_cast<std::size_t>(e) * 2 * I, dn_rows = static_cast<std::size_t>(e) * H;
      cpu::MatmulMxfp4(xin.data(), n, H, x.gate_up_blocks + gu_rows * (H / 32) * 16,
                       x.gate_up_scales + gu_rows * (H / 32), 2 * I, gub, gate_up.data());
      cpu::SwiGlu(gate_up.data(), n, I, c.swiglu_alpha, c.swiglu_limit, act.data());
      cpu::MatmulMxfp4(act.data(), n, I, x.down_blocks + dn_rows * (I / 32) * 16,
                       x.down_scales + dn_rows * (I / 32), H, db, y.data());
    } else {
      cpu::MatmulBf16InOut(xin.data(), n, H, x.gate_up + static_cast<std::size_t>(e) * H * 2 * I, 2 * I, gub,
                           gate_up.data());
      cpu::SwiGlu(gate_up.data(), n, I, c.swiglu_alpha, c.swiglu_limit, act.data());
      cpu::MatmulBf16InOut(act.data(), n, I, x.down + static_cast<std::size_t>(e) * I * H, H, db, y.data());
    }
    for (int i = 0; i < n; ++i) {
      float* o = &out[static_cast<std::size_t>(group[i].first) * H];
      const float* yi = &y[static_cast<std::size_t>(i) * H];
      for (int d = 0; d < H; ++d) o[d] += group[i].second * yi[d];
    }
  }
}

Status CpuModel::Moe(int layer, int tokens, std::vector<float>& hidden, const MoeReduce& reduce) const {
  const ModelConfig& c = config();
  std::vector<float> xn(hidden.size()), out(hidden.size(), 0.0f);
  cpu::RmsNorm(hidden.data(), tokens, c.hidden_size, w_.layer(layer).mlp_norm.data(), c.rms_norm_eps, xn.data());
  Routing r = Route(layer, xn, tokens);
  ApplyExperts(layer, xn, tokens, r, out);
  if (reduce) TESSERA_RETURN_IF_ERROR(reduce(layer, out));
  for (std::size_t i = 0; i < hidden.size(); ++i) hidden[i] += out[i];
  return absl::OkStatus();
}

std::vector<float> CpuModel::Logits(std::span<const float> hidden, int rows) const {
  const ModelConfig& c = config();
  std::vector<float> xn(static_cast<std::size_t>(rows) * c.hidden_size);
  cpu::RmsNorm(hidden.data(), rows, c.hidden_size, w_.final_norm().data(), c.rms_norm_eps, xn.data());
  std::vector<float> logits(static_cast<std::size_t>(rows) * c.vocab_size);
  cpu::MatmulBf16(xn.data(), rows, c.hidden_size, w_.unembedding(), c.vocab_size, nullptr, logits.data());
  return logits;
}

StatusOr<std::vector<float>> CpuModel::Forward(std::span<const SeqChunk> batch) {
  if (!w_.unembedding() || w_.layer_begin() != 0 || w_.layer_end() != config().num_layers)
    return absl::FailedPreconditionError("Forward needs the whole model; this shard holds part of it");
  TESSERA_ASSIGN_OR_RETURN(std::vector<float> hidden, Embed(batch));
  TESSERA_RETURN_IF_ERROR(RunLayers(batch, hidden));
  // Keep only the rows whose logits were asked for.
  const int H = config().hidden_size;
  std::vector<float> rows;
  std::size_t t = 0;
  for (const SeqChunk& chunk : batch) {
    const std::size_t n = chunk.tokens.size();
    const std::size_t first = chunk.all_logits ? t : t + n - 1;
    rows.insert(rows.end(), hidden.begin() + first * H, hidden.begin() + (t + n) * H);
    t += n;
  }
  return Logits(rows, static_cast<int>(rows.size() / H));
}

}  // namespace tessera
