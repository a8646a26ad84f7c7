// The gRPC generation API of `tessera serve --grpc-port 0`: Tokenize/Detokenize, streamed chat
// generation ending in usage and finish, raw-token generation, and errors as gRPC status codes.
#include <unistd.h>

#include <cstdio>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "tessera/v1/generation.grpc.pb.h"

namespace {

using namespace tessera;

class Grpc : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string log = testing::TempDir() + "/grpc_serve_" + std::to_string(::getpid()) + ".log";
    pipe_ = ::popen(("exec " + std::string(TESSERA_BINARY_DIR) + "/bin/tessera serve --grpc-port 0 2>" + log).c_str(), "r");
    ASSERT_NE(pipe_, nullptr);
    char line[512];
    while (std::fgets(line, sizeof line, pipe_)) {
      const std::string l(line);
      const auto at = l.find("grpc: listening on ");
      if (at != std::string::npos) {
        address_ = l.substr(at + 19);
        address_.erase(address_.find_last_not_of("\n") + 1);
        break;
      }
    }
    ASSERT_FALSE(address_.empty()) << "serve did not start; see " << log;
    stub_ = v1::Generation::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  static void TearDownTestSuite() {
    stub_.reset();
    std::system(("pkill -INT -f '[s]erve --grpc-port 0' -P " + std::to_string(::getpid())).c_str());
    if (pipe_) ::pclose(pipe_);
  }
  static std::vector<v1::GenerateEvent> Run(const v1::GenerateRequest& req, grpc::Status* status) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto reader = stub_->Generate(&ctx, req);
    std::vector<v1::GenerateEvent> events;
    v1::GenerateEvent e;
    while (reader->Read(&e)) events.push_back(e);
    *status = reader->Finish();
    return events;
  }

  static FILE* pipe_;
  static std::string address_;
  static std::unique_ptr<v1::Generation::Stub> stub_;
};
FILE* Grpc::pipe_ = nullptr;
std::string Grpc::address_;
std::unique_ptr<v1::Generation::Stub> Grpc::stub_;

TEST_F(Grpc, TokenizeAndDetokenize) {
  grpc::ClientContext ctx;
  v1::TokenizeRequest req;
  req.set_text("What is 2 + 2?");
  v1::TokenizeResponse resp;
  ASSERT_TRUE(stub_->Tokenize(&ctx, req, &resp).ok());
  EXPECT_EQ(std::vector<std::uint32_t>(resp.ids().begin(), resp.ids().end()),
            (std::vector<std::uint32_t>{4827, 382, 220, 17, 659, 220, 17, 30}));
  grpc::ClientContext ctx2;
  v1::DetokenizeRequest d;
  for (auto id : resp.ids()) d.add_ids(id);
  v1::DetokenizeResponse text;
  ASSERT_TRUE(stub_->Detokenize(&ctx2, d, &text).ok());
  EXPECT_EQ(text.text(), "What is 2 + 2?");
}

TEST_F(Grpc, ChatGenerationStreamsAndEndsWithUsageAndFinish) {
  v1::GenerateRequest req;
  auto* m = req.mutable_chat()->add_messages();
  m->set_role("user");
  m->set_content("Hello");
  req.set_max_tokens(6);
  req.mutable_sampling()->set_temperature(0);
  grpc::Status status;
  auto events = Run(req, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(events.size(), 2u);
  ASSERT_TRUE(events[events.size() - 2].has_usage());
  EXPECT_GT(events[events.size() - 2].usage().prompt_tokens(), 0);
  EXPECT_LE(events[events.size() - 2].usage().completion_tokens(), 6);
  ASSERT_TRUE(events.back().has_finish());
}

TEST_F(Grpc, RawTokensStreamOneEventPerToken) {
  v1::GenerateRequest req;
  for (std::uint32_t id : {1u, 2u, 3u}) req.mutable_tokens()->add_ids(id);
  req.set_max_tokens(5);
  req.mutable_sampling()->set_temperature(0);
  grpc::Status status;
  auto events = Run(req, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  int tokens = 0;
  for (const auto& e : events) tokens += e.has_token();
  EXPECT_EQ(tokens, events[events.size() - 2].usage().completion_tokens());
  EXPECT_GE(tokens, 1);
}

TEST_F(Grpc, BadInputGetsStatusCodes) {
  grpc::Status status;
  v1::GenerateRequest bad_role;
  auto* m = bad_role.mutable_chat()->add_messages();
  m->set_role("robot");
  Run(bad_role, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("robot"), std::string::npos);
  v1::GenerateRequest bad_id;
  bad_id.mutable_tokens()->add_ids(999999);
  Run(bad_id, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::GenerateRequest too_long;
  too_long.mutable_tokens()->add_ids(1);
  too_long.set_max_tokens(100000);
  Run(too_long, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::GenerateRequest other_model;
  other_model.set_model("llama");
  other_model.mutable_tokens()->add_ids(1);
  Run(other_model, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
