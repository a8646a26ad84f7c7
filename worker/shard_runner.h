// Executes steps for the shard a worker holds: receives hidden states from the previous stage
// (or embeds tokens on the first), runs its layers with the expert group summing MoE partials,
// and hands the result to the next stage or samples tokens on the last.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "model/cpu_model.h"
#include "model/sampler.h"
#include "tessera/v1/control.pb.h"
#include "transport/transport.h"

namespace tessera {

// Where a worker sits in its replica's grid of pipeline stages x expert-group ranks.
struct Placement {
  int rank = 0;
  int stage = 0;
  int num_stages = 1;
  int group_rank = 0;
  std::vector<int> group;       // ranks of this stage, by group rank
  int prev_leader = -1;         // group rank 0 of the previous stage
  std::vector<int> next_stage;  // every rank of the next stage
  bool samples() const { return stage == num_stages - 1 && group_rank == 0; }
};

// Builds a Placement from the peer table of a LoadShardRequest.
StatusOr<Placement> PlacementFromPeers(const v1::LoadShardRequest& req);

class ShardRunner {
 public:
  ShardRunner(std::unique_ptr<CpuModel> model, Transport* transport, Placement placement,
              std::chrono::milliseconds peer_timeout);

  StatusOr<v1::StepResponse> Step(const v1::StepRequest& req);
  std::int64_t kv_blocks_used() const { return model_->cache().used_blocks(); }

 private:
  struct SeqSampling {
    Sampler sampler;
    int top_logprobs = 0;
  };

  std::unique_ptr<CpuModel> model_;
  Transport* transport_;
  Placement p_;
  std::chrono::milliseconds timeout_;
  std::map<SeqId, SeqSampling> sampling_;
};

}  // namespace tessera
