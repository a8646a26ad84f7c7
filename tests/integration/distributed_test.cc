// Multi-process tests of the distributed runtime on loopback: a coordinator and worker
// processes started by the tessera binary must produce exactly the tokens of the single-process
// forward pass, serve concurrent requests independently, and fail fast on a bad shard.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <future>

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kTessera = std::string(TESSERA_BINARY_DIR) + "/bin/tessera";

struct ShellResult {
  int exit_code;
  std::string out;
};

// Runs a shell command, capturing stdout (stderr goes to a file shown on failure).
ShellResult Sh(const std::string& cmd) {
  ShellResult r{-1, ""};
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

class Distributed : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Per process: CTest runs the cases of this suite in parallel processes.
    dir_ = testing::TempDir() + "/distributed_model_" + std::to_string(::getpid());
    fs::remove_all(dir_);
    // A checkpoint no other test uses: 4 layers, 8 experts, GQA, a window of 8.
    json config = {{"model_type", "gpt_oss"}, {"num_hidden_layers", 4}, {"hidden_size", 64},
                   {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 16},
                   {"num_local_experts", 8}, {"num_experts_per_tok", 2}, {"intermediate_size", 32},
                   {"vocab_size", 1000}, {"sliding_window", 8}, {"max_position_embeddings", 4096},
                   {"rope_theta", 150000}, {"rope_scaling", {{"rope_type", "yarn"}, {"factor", 32.0},
                   {"beta_fast", 32.0}, {"beta_slow", 1.0}, {"original_max_position_embeddings", 128},
                   {"truncate", false}}}, {"quantization_config", {{"quant_method", "mxfp4"}}}};
    const std::string cfg = dir_ + ".config.json";
    std::ofstream(cfg) << config.dump();
    ShellResult r = Sh(kTessera + " --log-level warn synth --config " + cfg + " --seed 21 --out " + dir_);
    ASSERT_EQ(r.exit_code, 0);
  }

  static json Generate(const std::string& prompts, const std::string& extra) {
    ShellResult r = Sh(kTessera + " --log-level warn generate --model " + dir_ + " --prompt-ids '" + prompts +
               "' --max-tokens 12 --temperature 0 --top-logprobs 2 --json " + extra + " 2>" + dir_ + ".err");
    EXPECT_EQ(r.exit_code, 0) << "stderr in " << dir_ << ".err";
    return r.exit_code == 0 ? json::parse(r.out) : json();
  }

  static std::string dir_;
};
std::string Distributed::dir_;

const char* kPrompt = "5,17,300,42,8,999,0,12,77,13,250,6";  // longer than the window

TEST_F(Distributed, PipelineOnlyMatchesSingleProcess) {
  json single = Generate(kPrompt, "");
  json dist = Generate(kPrompt, "--workers 2 --stages 2 --expert-groups 1");
  ASSERT_FALSE(single.is_null());
  EXPECT_EQ(dist["output_ids"], single["output_ids"]);
  EXPECT_EQ(single["output_ids"].size(), 12u);
}

TEST_F(Distributed, ExpertOnlyMatchesSingleProcess) {
  json single = Generate(kPrompt, "");
  json dist = Generate(kPrompt, "--workers 2 --stages 1 --expert-groups 2");
  EXPECT_EQ(dist["output_ids"], single["output_ids"]);
}

TEST_F(Distributed, MixedFourWorkersMatchesSingleProcess) {
  json single = Generate(kPrompt, "");
  json dist = Generate(kPrompt, "--workers 4 --stages 2 --expert-groups 2");
  EXPECT_EQ(dist["output_ids"], single["output_ids"]);
  // Logprobs agree too (summation order across expert groups differs only in rounding).
  for (std::size_t i = 0; i < single["top_logprobs"].size(); ++i)
    EXPECT_NEAR(dist["top_logprobs"][i][0]["logprob"].get<double>(), single["top_logprobs"][i][0]["logprob"].get<double>(), 1e-4);
}

TEST_F(Distributed, EightConcurrentRequestsEachMatchTheirSoloRun) {
  std::vector<std::string> prompts;
  std::string all;
  for (int i = 0; i < 8; ++i) {
    std::string p;
    for (int j = 0; j <= i + 2; ++j) p += (j ? "," : "") + std::to_string((i * 131 + j * 17) % 1000);
    prompts.push_back(p);
    all += (i ? ";" : "") + p;
  }
  json together = Generate(all, "--workers 4 --stages 2 --expert-groups 2");
  ASSERT_EQ(together["results"].size(), 8u);
  for (int i = 0; i < 8; ++i) {
    json solo = Generate(prompts[i], "");
    EXPECT_EQ(together["results"][i]["output_ids"], solo["output_ids"]) << "request " << i;
  }
}

TEST_F(Distributed, TwoReplicasServeConcurrentRequestsLikeOne) {
  std::string all;
  std::vector<std::string> prompts;
  for (int i = 0; i < 6; ++i) {
    prompts.push_back(std::to_string(10 + i) + ",20,30," + std::to_string(900 - i));
    all += (i ? ";" : "") + prompts.back();
  }
  json together = Generate(all, "--workers 4 --replicas 2 --stages 2 --expert-groups 1");
  ASSERT_EQ(together["results"].size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(together["results"][i]["output_ids"], Generate(prompts[i], "")["output_ids"]);
}

TEST_F(Distributed, PlannerChosenGridMatchesSingleProcess) {
  json single = Generate(kPrompt, "");
  for (const char* policy : {"latency", "throughput"})
    EXPECT_EQ(Generate(kPrompt, std::string("--workers 3 --policy ") + policy)["output_ids"], single["output_ids"]) << policy;
}

TEST_F(Distributed, ServeExitsWithClearErrorWhenAWorkerCannotLoad) {
  const std::string bad = testing::TempDir() + "/distributed_bad_" + std::to_string(::getpid());
  fs::remove_all(bad);
  // Sharded copy whose last file (the unembedding, held by the last stage only) is corrupt.
  ShellResult r = Sh(kTessera + " --log-level warn synth --config tiny --seed 3 --shard-mb 40 --out " + bad);
  ASSERT_EQ(r.exit_code, 0);
  std::vector<fs::path> shards;
  for (const auto& e : fs::directory_iterator(bad))
    if (e.path().extension() == ".safetensors") shards.push_back(e.path());
  ASSERT_GE(shards.size(), 2u);
  std::sort(shards.begin(), shards.end());
  {
    std::fstream f(shards.back(), std::ios::in | std::ios::out | std::ios::binary);
    const char junk[8] = {'\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\x7f'};
    f.write(junk, 8);
  }
  const auto start = std::chrono::steady_clock::now();
  r = Sh("timeout 60 " + kTessera + " serve --workers 2 --stages 2 --model " + bad + " 2>&1");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.out;  // not 124: it did not hang
  EXPECT_LT(secs, 30.0);
  EXPECT_NE(r.out.find("cannot load its shard"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(shards.back().filename().string()), std::string::npos) << r.out;
}

// grpc.health.v1.Health/Check with an empty service name; returns the status enum (1 = SERVING).
int HealthCheck(const std::string& address) {
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty(std::string{});  // an empty HealthCheckRequest serializes to no bytes
  grpc::ByteBuffer req(&empty, 1), resp;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                 [&](grpc::Status s) { done.set_value(s); });
  if (!done.get_future().get().ok()) return -1;
  std::vector<grpc::Slice> slices;
  resp.Dump(&slices);
  std::string bytes;
  for (const auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  // HealthCheckResponse: field 1 (status), varint.
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

TEST_F(Distributed, ServeAnswersGrpcHealthChecks) {
  const std::string log = testing::TempDir() + "/serve_health.log";
  FILE* p = ::popen(("exec " + kTessera + " serve --workers 2 --stages 2 --model " + dir_ + " 2>" + log).c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[512] = {};
  std::string address;
  while (std::fgets(line, sizeof line, p)) {
    std::string l(line);
    if (l.rfind("ready: coordinator on ", 0) == 0) {
      address = l.substr(22, l.find_last_not_of("\n") - 21);
      break;
    }
  }
  ASSERT_FALSE(address.empty()) << "serve never became ready; see " << log;
  EXPECT_EQ(HealthCheck(address), 1);
  std::system(("pkill -INT -f 'serve --workers 2 --stages 2 --model " + dir_ + "'").c_str());
  ::pclose(p);
}

}  // namespace
