#include "coordinator/scheduler.h"

#include <algorithm>
#include <set>

namespace tessera {

bool BlockManager::TryAllocate(SeqId seq, std::int64_t tokens) {
  const std::int64_t need = BlocksFor(tokens);
  if (used_ + need > total_) return false;
  used_ += need;
  held_[seq] += need;
  return true;
}

void BlockManager::Free(SeqId seq) {
  auto it = held_.find(seq);
  if (it == held_.end()) return;
  used_ -= it->second;
  held_.erase(it);
}

StatusOr<std::future<Completion>> Scheduler::Enqueue(RequestSpec spec) {
  if (spec.prompt.empty()) return absl::InvalidArgumentError("the prompt is empty");
  if (spec.max_tokens < 1) return absl::InvalidArgumentError("max_tokens must be at least 1");
  const std::int64_t need = static_cast<std::int64_t>(spec.prompt.size()) + spec.max_tokens;
  if (need > o_.max_context)
    return absl::OutOfRangeError(absl::StrCat("prompt (", spec.prompt.size(), " tokens) + max_tokens (", spec.max_tokens,
                                              ") exceeds the context of ", o_.max_context, " tokens"));
  if (blocks_.BlocksFor(need) > blocks_.total())
    return absl::OutOfRangeError(absl::StrCat("the request needs ", blocks_.BlocksFor(need), " KV blocks, more than the ",
                                              blocks_.total(), " the cluster has"));
  std::lock_guard lock(mu_);
  if (static_cast<int>(queue_.size()) >= o_.max_queue)
    return absl::ResourceExhaustedError(absl::StrCat("the queue is full (", o_.max_queue, " requests waiting)"));
  auto s = std::make_unique<Seq>();
  s->id = next_id_++;
  s->spec = std::move(spec);
  std::future<Completion> f = s->done.get_future();
  queue_.push_back(std::move(s));
  return f;
}

void Scheduler::DropCancelled() {
  auto is_cancelled = [](const Seq& s) { return s.spec.cancelled && s.spec.cancelled->load(); };
  for (auto it = running_.begin(); it != running_.end();) {
    if (is_cancelled(*it->second)) {
      Finish(*it->second, "cancelled");
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (is_cancelled(**it)) {
      (*it)->result.finish_reason = "cancelled";
      (*it)->done.set_value(std::move((*it)->result));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<v1::StepRequest> Scheduler::NextStep() {
  std::lock_guard lock(mu_);
  DropCancelled();
  v1::StepRequest step;
  for (SeqId id : to_release_) step.add_release(id);
  to_release_.clear();
  // Admit waiting requests while there is room; KV blocks for the whole request are reserved
  // up front, so a running sequence never stalls for memory.
  while (!queue_.empty() && static_cast<int>(running_.size()) < o_.max_running) {
    Seq& s = *queue_.front();
    if (!blocks_.TryAllocate(s.id, static_cast<std::int64_t>(s.spec.prompt.size()) + s.spec.max_tokens)) break;
    running_[s.id] = std::move(queue_.front());
    queue_.pop_front();
  }
  int budget = o_.max_batch_tokens;
  // Decode tokens first (one per sequence whose prompt is done), then prefill chunks.
  for (auto& [id, s] : running_) {
    if (s->prefilled < s->spec.prompt.size() || budget <= 0) continue;
    v1::SeqStep* st = step.add_seqs();
    st->set_seq_id(id);
    st->add_tokens(s->result.output.back());
    st->set_sample(true);
    --budget;
  }
  for (auto& [id, s] : running_) {
    if (s->prefilled >= s->spec.prompt.size() || budget <= 0) continue;
    const std::size_t n = std::min<std::size_t>(budget, s->spec.prompt.size() - s->prefilled);
    v1::SeqStep* st = step.add_seqs();
    st->set_seq_id(id);
    for (std::size_t i = 0; i < n; ++i) st->add_tokens(s->spec.prompt[s->prefilled + i]);
    s->prefilled += n;
    st->set_sample(s->prefilled == s->spec.prompt.size());
    if (!s->started) {
      s->started = true;
      v1::SamplingParams* sp = st->mutable_sampling();
      sp->set_temperature(s->spec.sampling.temperature);
      sp->set_top_p(s->spec.sampling.top_p);
      sp->set_top_k(s->spec.sampling.top_k);
      sp->set_seed(s->spec.sampling.seed);
      st->set_top_logprobs(s->spec.top_logprobs);
    }
    budget -= static_cast<int>(n);
  }
  if (step.seqs().empty() && step.release().empty()) return std::nullopt;
  step.set_step_id(next_step_++);
  return step;
}

void Scheduler::Finish(Seq& s, std::string reason) {
  s.result.finish_reason = std::move(reason);
  s.done.set_value(std::move(s.result));
  blocks_.Free(s.id);
  to_release_.push_back(s.id);
}

void Scheduler::Complete(const v1::StepRequest& step, const v1::StepResponse& resp) {
  std::lock_guard lock(mu_);
  // A chunk that asked for a sample must get one; otherwise the sequence cannot continue.
  std::set<SeqId> sampled;
  for (const v1::SampledToken& t : resp.tokens()) sampled.insert(t.seq_id());
  for (const v1::SeqStep& st : step.seqs()) {
    if (!st.sample() || sampled.contains(st.seq_id())) continue;
    auto it = running_.find(st.seq_id());
    if (it != running_.end()) {
      it->second->result.status = absl::InternalError(absl::StrCat("no token came back for sequence ", st.seq_id()));
      Finish(*it->second, "error");
      running_.erase(it);
    }
  }
  for (const v1::SampledToken& t : resp.tokens()) {
    auto it = running_.find(t.seq_id());
    if (it == running_.end()) continue;
    Seq& s = *it->second;
    s.result.output.push_back(t.token());
    if (s.spec.top_logprobs > 0) {
      std::vector<TokenLogprob> alts;
      for (const v1::TokenLogprob& a : t.top()) alts.push_back({a.token(), a.logprob()});
      s.result.top_logprobs.push_back(std::move(alts));
    }
    if (s.spec.on_token) s.spec.on_token(t.token(), t.logprob());
    const bool stop = std::find(s.spec.stop_ids.begin(), s.spec.stop_ids.end(), t.token()) != s.spec.stop_ids.end();
    if (stop || static_cast<int>(s.result.output.size()) >= s.spec.max_tokens) {
      Finish(s, stop ? "stop" : "length");
      running_.erase(it);
    }
  }
}

void Scheduler::Fail(const v1::StepRequest& step, const Status& error) {
  std::lock_guard lock(mu_);
  for (const v1::SeqStep& st : step.seqs()) {
    auto it = running_.find(st.seq_id());
    if (it == running_.end()) continue;
    it->second->result.status = error;
    Finish(*it->second, "error");
    running_.erase(it);
  }
}

void Scheduler::FailAll(const Status& error) {
  std::lock_guard lock(mu_);
  for (auto& [id, s] : running_) {
    s->result.status = error;
    Finish(*s, "error");
  }
  running_.clear();
  for (auto& s : queue_) {
    s->result.status = error;
    s->result.finish_reason = "error";
    s->done.set_value(std::move(s->result));
  }
  queue_.clear();
}

std::size_t Scheduler::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}
std::size_t Scheduler::running() const {
  std::lock_guard lock(mu_);
  return running_.size();
}
std::int64_t Scheduler::kv_blocks_used() const {
  std::lock_guard lock(mu_);
  return blocks_.used();
}

}  // namespace tessera
