// Transport over TCP (Boost.Asio) for CPU workers and machines without GPUs. Each ordered pair
// of ranks uses its own connection, opened by the sender on first use; frames carry a length so
// a receiver can check it got the message it expected.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "transport/transport.h"

namespace tessera {

class TcpTransport : public Transport {
 public:
  // Listens on `listen_address` ("host:port"; port 0 picks a free one).
  static StatusOr<std::unique_ptr<TcpTransport>> Listen(const std::string& listen_address);
  ~TcpTransport() override;

  // The address peers should dial ("host:port" with the real port).
  const std::string& address() const { return address_; }
  // Fixes this process's rank and where every other rank listens. Call before Send/Recv.
  void Configure(int rank, std::map<int, std::string> peers);

  int rank() const override { return rank_; }
  Status Send(int peer, std::span<const std::byte> data) override;
  Status Recv(int peer, std::span<std::byte> data, std::chrono::milliseconds timeout) override;

  // Bytes sent by this process since start (for control/data traffic accounting).
  std::uint64_t bytes_sent() const { return bytes_sent_; }

 private:
  struct Impl;
  TcpTransport();
  void AcceptLoop();

  std::unique_ptr<Impl> impl_;
  std::string address_;
  int rank_ = -1;
  std::map<int, std::string> peers_;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable arrived_;
  std::atomic<std::uint64_t> bytes_sent_{0};
};

}  // namespace tessera
