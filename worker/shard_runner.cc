#include "worker/shard_runner.h"

#include <algorithm>

namespace tessera {

StatusOr<Placement> PlacementFromPeers(const v1::LoadShardRequest& req) {
  Placement p;
  p.rank = req.rank();
  p.stage = req.stage();
  p.num_stages = req.num_stages();
  p.group_rank = req.group_rank();
  if (p.num_stages < 1 || p.stage < 0 || p.stage >= p.num_stages)
    return absl::InvalidArgumentError(absl::StrCat("stage ", p.stage, " of ", p.num_stages, " is out of range"));
  std::vector<std::pair<int, int>> group;  // (group rank, rank)
  for (const v1::Peer& peer : req.peers()) {
    if (peer.stage() == p.stage) group.push_back({peer.group_rank(), peer.rank()});
    if (peer.stage() == p.stage - 1 && peer.group_rank() == 0) p.prev_leader = peer.rank();
    if (peer.stage() == p.stage + 1) p.next_stage.push_back(peer.rank());
  }
  std::sort(group.begin(), group.end());
  for (auto [g, r] : group) p.group.push_back(r);
  if (static_cast<int>(p.group.size()) != req.group_size())
    return absl::InvalidArgumentError(absl::StrCat("stage ", p.stage, " lists ", p.group.size(), " ranks, expected ", req.group_size()));
  if (p.stage > 0 && p.prev_leader < 0) return absl::InvalidArgumentError("no leader for the previous stage");
  if (p.stage + 1 < p.num_stages && p.next_stage.empty()) return absl::InvalidArgumentError("no ranks for the next stage");
  std::sort(p.next_stage.begin(), p.next_stage.end());
  return p;
}

ShardRunner::ShardRunner(std::unique_ptr<CpuModel> model, Transport* transport, Placement placement,
                         std::chrono::milliseconds peer_timeout)
    : model_(std::move(model)), transport_(transport), p_(std::move(placement)), timeout_(peer_timeout) {}

StatusOr<v1::StepResponse> ShardRunner::Step(const v1::StepRequest& req) {
  for (std::uint64_t seq : req.release()) {
    model_->Release(seq);
    sampling_.erase(seq);
  }
  v1::StepResponse resp;
  resp.set_step_id(req.step_id());
  if (req.seqs().empty()) return resp;

  // Every rank of the replica receives the same request, so chunks line up across stages.
  std::vector<std::vector<TokenId>> tokens(req.seqs_size());
  std::vector<SeqChunk> batch;
  std::size_t total = 0;
  for (int i = 0; i < req.seqs_size(); ++i) {
    const v1::SeqStep& s = req.seqs(i);
    tokens[i].assign(s.tokens().begin(), s.tokens().end());
    batch.push_back({s.seq_id(), tokens[i], false});
    total += tokens[i].size();
    if (s.has_sampling() && p_.samples()) {
      const v1::SamplingParams& sp = s.sampling();
      sampling_.insert_or_assign(s.seq_id(), SeqSampling{Sampler({sp.temperature(), sp.top_p(), sp.top_k(), sp.seed()}),
                                                         s.top_logprobs()});
    }
  }
  const int H = model_->config().hidden_size;
  std::vector<float> hidden;
  if (p_.stage == 0) {
    TESSERA_ASSIGN_OR_RETURN(hidden, model_->Embed(batch));
  } else {
    hidden.resize(total * H);
    TESSERA_RETURN_IF_ERROR(transport_->Recv(p_.prev_leader, std::as_writable_bytes(std::span(hidden)), timeout_));
  }
  MoeReduce reduce;
  if (p_.group.size() > 1) {
    reduce = [this](int, std::span<float> partial) { return transport_->AllReduceSum(partial, p_.group, timeout_); };
  }
  TESSERA_RETURN_IF_ERROR(model_->RunLayers(batch, hidden, reduce));
  if (p_.stage + 1 < p_.num_stages) {
    if (p_.group_rank == 0)
      for (int r : p_.next_stage) TESSERA_RETURN_IF_ERROR(transport_->Send(r, std::as_bytes(std::span(hidden))));
    return resp;
  }
  if (!p_.samples()) return resp;

  // Last stage: logits only for the last token of each chunk that wants a sample.
  std::vector<float> rows;
  std::vector<int> which;
  std::size_t row = 0;
  for (int i = 0; i < req.seqs_size(); ++i) {
    row += tokens[i].size();
    if (!req.seqs(i).sample()) continue;
    rows.insert(rows.end(), hidden.begin() + (row - 1) * H, hidden.begin() + row * H);
    which.push_back(i);
  }
  if (which.empty()) return resp;
  const std::vector<float> logits = model_->Logits(rows, static_cast<int>(which.size()));
  const int V = model_->config().vocab_size;
  for (std::size_t j = 0; j < which.size(); ++j) {
    const std::uint64_t seq = req.seqs(which[j]).seq_id();
    auto it = sampling_.find(seq);
    if (it == sampling_.end())
      return absl::FailedPreconditionError(absl::StrCat("sequence ", seq, " has no sampling parameters"));
    std::span<const float> l(logits.data() + j * V, V);
    const TokenId t = it->second.sampler.Sample(l);
    v1::SampledToken* out = resp.add_tokens();
    out->set_seq_id(seq);
    out->set_token(t);
    out->set_logprob(Logprob(l, t));
    for (const TokenLogprob& tl : TopLogprobs(l, it->second.top_logprobs)) {
      v1::TokenLogprob* a = out->add_top();
      a->set_token(tl.id);
      a->set_logprob(tl.logprob);
    }
  }
  return resp;
}

}  // namespace tessera
