#include "coordinator/scheduler.h"

#include <gtest/gtest.h>

#include "coordinator/cluster.h"

namespace tessera {
namespace {

RequestSpec Req(int prompt, int max_tokens) {
  RequestSpec r;
  for (int i = 0; i < prompt; ++i) r.prompt.push_back(static_cast<TokenId>(i + 1));
  r.max_tokens = max_tokens;
  return r;
}

// Answers every sampling chunk of a step with `token`.
v1::StepResponse Answer(const v1::StepRequest& step, TokenId token) {
  v1::StepResponse r;
  for (const auto& s : step.seqs()) {
    if (!s.sample()) continue;
    auto* t = r.add_tokens();
    t->set_seq_id(s.seq_id());
    t->set_token(token);
  }
  return r;
}

TEST(Scheduler, ChunkedPrefillThenDecodeThenRelease) {
  SchedulerOptions o;
  o.max_batch_tokens = 8;
  Scheduler s(o);
  auto f = s.Enqueue(Req(12, 2));
  ASSERT_TRUE(f.ok());
  auto step = s.NextStep();
  ASSERT_TRUE(step);
  ASSERT_EQ(step->seqs_size(), 1);
  EXPECT_EQ(step->seqs(0).tokens_size(), 8);
  EXPECT_FALSE(step->seqs(0).sample());
  EXPECT_TRUE(step->seqs(0).has_sampling());  // parameters travel with the first chunk only
  s.Complete(*step, Answer(*step, 0));
  step = s.NextStep();
  EXPECT_EQ(step->seqs(0).tokens_size(), 4);
  EXPECT_TRUE(step->seqs(0).sample());
  EXPECT_FALSE(step->seqs(0).has_sampling());
  s.Complete(*step, Answer(*step, 42));
  step = s.NextStep();  // decode: the sampled token goes back in
  ASSERT_EQ(step->seqs(0).tokens_size(), 1);
  EXPECT_EQ(step->seqs(0).tokens(0), 42u);
  s.Complete(*step, Answer(*step, 43));
  Completion c = f->get();
  EXPECT_TRUE(c.status.ok());
  EXPECT_EQ(c.output, (std::vector<TokenId>{42, 43}));
  EXPECT_EQ(c.finish_reason, "length");
  EXPECT_EQ(s.kv_blocks_used(), 0);
  step = s.NextStep();  // the finished sequence is released on the workers
  ASSERT_TRUE(step);
  EXPECT_EQ(step->release_size(), 1);
  EXPECT_FALSE(s.NextStep());
}

TEST(Scheduler, AdmitsByKvBlocksAndBoundsTheQueue) {
  SchedulerOptions o;
  o.kv_blocks = 4;
  o.kv_block_tokens = 4;
  o.max_queue = 2;
  Scheduler s(o);
  auto a = s.Enqueue(Req(8, 4));  // 3 blocks
  auto b = s.Enqueue(Req(4, 4));  // 2 blocks: waits for a
  ASSERT_TRUE(a.ok() && b.ok());
  auto full = s.Enqueue(Req(1, 1));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  auto huge = Scheduler(o).Enqueue(Req(20, 1));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kOutOfRange);
  auto step = s.NextStep();
  EXPECT_EQ(step->seqs_size(), 1);
  EXPECT_EQ(s.running(), 1u);
  EXPECT_EQ(s.queued(), 1u);
  EXPECT_EQ(s.kv_blocks_used(), 3);
}

TEST(Scheduler, StopTokenAndFailure) {
  Scheduler s(SchedulerOptions{});
  RequestSpec r = Req(3, 10);
  r.stop_ids = {7};
  auto f = s.Enqueue(r);
  auto g = s.Enqueue(Req(2, 10));
  auto step = s.NextStep();
  ASSERT_EQ(step->seqs_size(), 2);
  v1::StepResponse resp = Answer(*step, 5);
  resp.mutable_tokens(0)->set_token(7);  // the first sequence meets its stop token
  s.Complete(*step, resp);
  EXPECT_EQ(f->get().finish_reason, "stop");
  step = s.NextStep();
  s.Fail(*step, absl::UnavailableError("worker w1 failed"));
  Completion c = g->get();
  EXPECT_EQ(c.finish_reason, "error");
  EXPECT_NE(c.status.message().find("w1"), std::string::npos);
  EXPECT_EQ(s.running(), 0u);
}

TEST(Scheduler, MissingSampleFailsTheSequence) {
  Scheduler s(SchedulerOptions{});
  auto f = s.Enqueue(Req(3, 4));
  auto step = s.NextStep();
  s.Complete(*step, v1::StepResponse{});
  EXPECT_EQ(f->get().finish_reason, "error");
  EXPECT_EQ(s.running(), 0u);
}

TEST(Scheduler, CancelledRequestsEndAndFreeTheirBlocks) {
  Scheduler s(SchedulerOptions{});
  RequestSpec running = Req(3, 10), waiting = Req(2, 10);
  running.cancelled = std::make_shared<std::atomic<bool>>(false);
  auto f = s.Enqueue(running);
  auto step = s.NextStep();
  s.Complete(*step, Answer(*step, 9));
  running.cancelled->store(true);  // the client went away mid-decode
  waiting.cancelled = std::make_shared<std::atomic<bool>>(true);
  auto g = s.Enqueue(waiting);
  step = s.NextStep();
  ASSERT_TRUE(step);
  EXPECT_EQ(step->seqs_size(), 0);     // nothing left to run
  EXPECT_EQ(step->release_size(), 1);  // the workers free its cache
  Completion c = f->get();
  EXPECT_EQ(c.finish_reason, "cancelled");
  EXPECT_EQ(c.output.size(), 1u);
  EXPECT_EQ(g->get().finish_reason, "cancelled");
  EXPECT_EQ(s.kv_blocks_used(), 0);
  EXPECT_EQ(s.running(), 0u);
  EXPECT_EQ(s.queued(), 0u);
}

TEST(GridPlan, CoversEveryLayerAndExpertOnce) {
  auto p = GridPlan(5, 8, 2, 3);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 6u);
  std::vector<int> layer_cover(5, 0), expert_cover(8, 0);
  for (const auto& a : *p) {
    if (a.group_rank == 0)
      for (int l = a.layer_begin; l < a.layer_end; ++l) layer_cover[l]++;
    if (a.stage == 0)
      for (int e : a.experts) expert_cover[e]++;
  }
  EXPECT_EQ(layer_cover, std::vector<int>(5, 1));
  EXPECT_EQ(expert_cover, std::vector<int>(8, 1));
  EXPECT_FALSE(GridPlan(2, 8, 3, 1).ok());
}

}  // namespace
}  // namespace tessera
