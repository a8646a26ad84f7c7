#include "transport/tcp_transport.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace tessera {
namespace {

using namespace std::chrono_literals;

std::vector<std::unique_ptr<TcpTransport>> Mesh(int n) {
  std::vector<std::unique_ptr<TcpTransport>> ts;
  std::map<int, std::string> addrs;
  for (int i = 0; i < n; ++i) {
    auto t = TcpTransport::Listen("127.0.0.1:0");
    EXPECT_TRUE(t.ok()) << t.status();
    addrs[i] = (*t)->address();
    ts.push_back(std::move(*t));
  }
  for (int i = 0; i < n; ++i) ts[i]->Configure(i, addrs);
  return ts;
}

TEST(TcpTransport, SendRecvInOrder) {
  auto ts = Mesh(2);
  std::vector<int> a = {1, 2, 3}, b = {4, 5};
  ASSERT_TRUE(ts[0]->Send(1, std::as_bytes(std::span(a))).ok());
  ASSERT_TRUE(ts[0]->Send(1, std::as_bytes(std::span(b))).ok());
  std::vector<int> ra(3), rb(2);
  ASSERT_TRUE(ts[1]->Recv(0, std::as_writable_bytes(std::span(ra)), 5s).ok());
  ASSERT_TRUE(ts[1]->Recv(0, std::as_writable_bytes(std::span(rb)), 5s).ok());
  EXPECT_EQ(ra, a);
  EXPECT_EQ(rb, b);
}

TEST(TcpTransport, SizeMismatchAndTimeoutAreErrors) {
  auto ts = Mesh(2);
  std::vector<int> a = {1, 2, 3};
  ASSERT_TRUE(ts[0]->Send(1, std::as_bytes(std::span(a))).ok());
  std::vector<int> wrong(2);
  Status s = ts[1]->Recv(0, std::as_writable_bytes(std::span(wrong)), 5s);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  std::vector<int> none(1);
  s = ts[0]->Recv(1, std::as_writable_bytes(std::span(none)), 200ms);  // rank 1 never sends
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
}

TEST(TcpTransport, UnreachablePeerFailsInsteadOfHanging) {
  auto t = TcpTransport::Listen("127.0.0.1:0");
  ASSERT_TRUE(t.ok());
  (*t)->Configure(0, {{0, (*t)->address()}, {1, "127.0.0.1:1"}});
  int x = 1;
  Status s = (*t)->Send(1, std::as_bytes(std::span(&x, 1)));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST(TcpTransport, AllReduceSumIsIdenticalOnEveryRank) {
  constexpr int n = 3;
  auto ts = Mesh(n);
  std::vector<std::vector<float>> data(n);
  for (int r = 0; r < n; ++r) data[r] = {0.1f * (r + 1), 1e8f * (r == 1), -1e8f * (r == 2), 3.0f};
  std::vector<int> group = {0, 1, 2};
  std::vector<std::thread> threads;
  std::vector<Status> status(n);
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] { status[r] = ts[r]->AllReduceSum(data[r], group, 5s); });
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r) ASSERT_TRUE(status[r].ok()) << status[r];
  EXPECT_FLOAT_EQ(data[0][3], 9.0f);
  for (int r = 1; r < n; ++r) EXPECT_EQ(data[r], data[0]);  // bit-identical
}

}  // namespace
}  // namespace tessera
