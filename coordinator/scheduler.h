// Continuous batching: a bounded queue of requests, admission by KV-cache blocks, and steps that
// mix prefill chunks of new sequences with one decode token for every running sequence.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "model/generate.h"
#include "tessera/v1/control.pb.h"

namespace tessera {

struct RequestSpec : GenerationParams {
  // Called for each generated token as it arrives (optional; from the step loop's thread).
  std::function<void(TokenId, float logprob)> on_token;
  // Set by the caller (a client that went away) to end the request at the next step: it
  // completes with finish_reason "cancelled" and its KV blocks are freed. Optional.
  std::shared_ptr<std::atomic<bool>> cancelled;
};

struct Completion {
  Status status;
  std::vector<TokenId> output;
  std::vector<std::vector<TokenLogprob>> top_logprobs;
  std::string finish_reason;  // "stop", "length", "cancelled", or "error"
};

struct SchedulerOptions {
  int max_batch_tokens = 512;   // tokens per step, prefill chunks included
  int max_running = 64;         // sequences decoding at once
  int max_queue = 256;          // waiting requests; beyond this Enqueue refuses
  std::int64_t kv_blocks = 4096;
  int kv_block_tokens = 16;
  std::int64_t max_context = 131072;
};

// Counts KV blocks per sequence, mirroring the workers' caches so admission never overruns them.
class BlockManager {
 public:
  BlockManager(std::int64_t blocks, int block_tokens) : total_(blocks), block_tokens_(block_tokens) {}
  std::int64_t BlocksFor(std::int64_t tokens) const { return (tokens + block_tokens_ - 1) / block_tokens_; }
  bool TryAllocate(SeqId seq, std::int64_t tokens);
  void Free(SeqId seq);
  std::int64_t used() const { return used_; }
  std::int64_t total() const { return total_; }

 private:
  std::int64_t total_, used_ = 0;
  int block_tokens_;
  std::map<SeqId, std::int64_t> held_;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions o) : o_(o), blocks_(o.kv_blocks, o.kv_block_tokens) {}

  // Queues a request. ResourceExhausted when the queue is full; InvalidArgument or OutOfRange
  // when it could never run (empty prompt, longer than the context or the whole cache).
  StatusOr<std::future<Completion>> Enqueue(RequestSpec spec);

  // The next step to run, or nullopt when there is nothing to do.
  std::optional<v1::StepRequest> NextStep();
  // Applies a step's sampled tokens; finished sequences complete and are released next step.
  void Complete(const v1::StepRequest& step, const v1::StepResponse& resp);
  // Fails every sequence of the step (a worker error) and releases them.
  void Fail(const v1::StepRequest& step, const Status& error);
  // Fails everything queued and running (shutdown, lost worker).
  void FailAll(const Status& error);

  std::size_t queued() const;
  std::size_t running() const;
  std::int64_t kv_blocks_used() const;

 private:
  struct Seq {
    SeqId id;
    RequestSpec spec;
    std::promise<Completion> done;
    Completion result;
    std::size_t prefilled = 0;  // prompt tokens already sent
    bool started = false;       // sampling parameters sent to the workers
  };
  void Finish(Seq& s, std::string reason);
  void DropCancelled();

  SchedulerOptions o_;
  mutable std::mutex mu_;
  BlockManager blocks_;
  SeqId next_id_ = 1;
  std::uint64_t next_step_ = 1;
  std::deque<std::unique_ptr<Seq>> queue_;
  std::map<SeqId, std::unique_ptr<Seq>> running_;
  std::vector<SeqId> to_release_;
};

}  // namespace tessera
