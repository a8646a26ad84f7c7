// A worker that dies while serving: its requests fail with an error naming it, within seconds,
// and nothing hangs; the cluster reports itself unhealthy.
#include <csignal>
#include <cstdlib>

#include <gtest/gtest.h>

#include "coordinator/cluster.h"
#include "model/default_model.h"

namespace tessera {
namespace {

// Local worker processes serving the built-in model: `replicas` copies of a 2-stage pipeline.
StatusOr<std::unique_ptr<Cluster>> StartPipelines(int replicas) {
  TESSERA_ASSIGN_OR_RETURN(std::string dir, DefaultModelDir());
  ClusterOptions o;
  o.model_dir = dir;
  o.replicas = replicas;
  o.stages = 2;
  o.workers = 2 * replicas;
  o.self_exe = std::string(TESSERA_BINARY_DIR) + "/bin/tessera";
  o.step_timeout = std::chrono::milliseconds(10000);
  return Cluster::Start(o);
}

TEST(WorkerFailure, RequestsFailFastWithTheWorkerNamed) {
  auto cluster = StartPipelines(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  RequestSpec spec;
  spec.prompt = {200006, 1428, 200008, 13225};
  spec.max_tokens = 3000;  // long enough to be mid-decode when the worker dies
  spec.sampling.temperature = 0;
  std::atomic<int> seen{0};
  spec.on_token = [&](TokenId, float) { ++seen; };
  auto f = (*cluster)->engine().Submit(spec);
  ASSERT_TRUE(f.ok());
  while (seen < 5) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // "[w]orker" keeps pkill from matching the shell that runs it.
  const std::string kill = "pkill -KILL -f '[w]orker --coordinator " + (*cluster)->address() + " --id local-1'";
  ASSERT_EQ(std::system(kill.c_str()), 0);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(f->wait_for(std::chrono::seconds(15)), std::future_status::ready) << "request hung after a worker died";
  Completion c = f->get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_EQ(c.finish_reason, "error");
  EXPECT_FALSE(c.status.ok());
  EXPECT_NE(c.status.message().find("local-1"), std::string::npos) << c.status;
  EXPECT_LT(c.output.size(), 3000u);
  // The monitor notices too: the cluster stops claiming health.
  for (int i = 0; i < 40 && (*cluster)->healthy(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE((*cluster)->healthy());
  // New work is refused with the reason rather than queued forever.
  spec.max_tokens = 4;
  spec.on_token = nullptr;
  auto g = (*cluster)->engine().Submit(spec);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(g.status().message().find("local-1"), std::string::npos) << g.status();
}

TEST(WorkerFailure, TheOtherReplicaKeepsServing) {
  auto cluster = StartPipelines(2);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string kill = "pkill -KILL -f '[w]orker --coordinator " + (*cluster)->address() + " --id local-2'";
  ASSERT_EQ(std::system(kill.c_str()), 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the monitor retires that replica
  EXPECT_TRUE((*cluster)->healthy());
  RequestSpec spec;
  spec.prompt = {200006, 1428, 200008, 13225};
  spec.max_tokens = 8;
  spec.sampling.temperature = 0;
  for (int i = 0; i < 3; ++i) {
    auto f = (*cluster)->Submit(spec);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->wait_for(std::chrono::seconds(15)), std::future_status::ready);
    Completion c = f->get();
    EXPECT_TRUE(c.status.ok()) << c.status;
    EXPECT_EQ(c.output.size(), 8u);
  }
}

}  // namespace
}  // namespace tessera
