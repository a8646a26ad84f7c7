#include "transport/tcp_transport.h"

#include <poll.h>

#include <atomic>
#include <boost/asio.hpp>

#include "core/log.h"

namespace tessera {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr std::uint32_t kHelloMagic = 0x54534c4f;  // first bytes of every connection
constexpr std::uint32_t kFrameMagic = 0x54534652;

struct Hello {
  std::uint32_t magic;
  std::int32_t rank;
};
struct FrameHeader {
  std::uint32_t magic;
  std::uint32_t reserved;
  std::uint64_t bytes;
};

StatusOr<tcp::endpoint> Resolve(asio::io_context& io, const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("address '", address, "' has no port"));
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(address.substr(0, colon), address.substr(colon + 1), ec);
  if (ec || results.empty())
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve '", address, "': ", ec.message()));
  return results.begin()->endpoint();
}

// Waits until `fd` is readable or `timeout` passes.
bool WaitReadable(int fd, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

// Reads exactly buf.size() bytes, or fails at the deadline.
Status ReadFull(tcp::socket& s, std::span<std::byte> buf, std::chrono::steady_clock::time_point deadline,
                const std::string& what) {
  std::size_t done = 0;
  while (done < buf.size()) {
    if (!WaitReadable(s.native_handle(), deadline))
      return absl::DeadlineExceededError(absl::StrCat("timed out waiting for ", what));
    boost::system::error_code ec;
    done += s.read_some(asio::buffer(buf.data() + done, buf.size() - done), ec);
    if (ec) return absl::UnavailableError(absl::StrCat("connection lost while reading ", what, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

struct TcpTransport::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::map<int, std::unique_ptr<tcp::socket>> out, in;
  std::map<int, std::unique_ptr<std::mutex>> send_mu;
  std::atomic<bool> stopping{false};
};

TcpTransport::TcpTransport() : impl_(std::make_unique<Impl>()) {}

StatusOr<std::unique_ptr<TcpTransport>> TcpTransport::Listen(const std::string& listen_address) {
  std::unique_ptr<TcpTransport> t(new TcpTransport());
  TESSERA_ASSIGN_OR_RETURN(tcp::endpoint ep, Resolve(t->impl_->io, listen_address));
  boost::system::error_code ec;
  t->impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) t->impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) t->impl_->acceptor.bind(ep, ec);
  if (!ec) t->impl_->acceptor.listen(64, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen_address, ": ", ec.message()));
  const tcp::endpoint local = t->impl_->acceptor.local_endpoint();
  t->address_ = absl::StrCat(local.address().to_string(), ":", local.port());
  t->acceptor_ = std::thread([raw = t.get()] { raw->AcceptLoop(); });
  return t;
}

TcpTransport::~TcpTransport() {
  impl_->stopping = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  if (acceptor_.joinable()) acceptor_.join();
}

void TcpTransport::Configure(int rank, std::map<int, std::string> peers) {
  std::lock_guard lock(mu_);
  rank_ = rank;
  peers_ = std::move(peers);
}

void TcpTransport::AcceptLoop() {
  while (!impl_->stopping) {
    // Poll so the loop notices shutdown without a pending accept.
    if (!WaitReadable(impl_->acceptor.native_handle(), std::chrono::steady_clock::now() + std::chrono::milliseconds(200)))
      continue;
    auto sock = std::make_unique<tcp::socket>(impl_->io);
    boost::system::error_code ec;
    impl_->acceptor.accept(*sock, ec);
    if (ec) continue;
    sock->set_option(tcp::no_delay(true), ec);
    Hello hello{};
    Status s = ReadFull(*sock, std::as_writable_bytes(std::span(&hello, 1)),
                        std::chrono::steady_clock::now() + std::chrono::seconds(5), "a peer's hello");
    if (!s.ok() || hello.magic != kHelloMagic) {
      Logger("transport")->warn("dropped a data connection without a valid hello");
      continue;
    }
    std::lock_guard lock(mu_);
    impl_->in[hello.rank] = std::move(sock);
    arrived_.notify_all();
  }
}

Status TcpTransport::Send(int peer, std::span<const std::byte> data) {
  tcp::socket* sock = nullptr;
  std::mutex* peer_mu = nullptr;
  {
    std::lock_guard lock(mu_);
    auto& m = impl_->send_mu[peer];
    if (!m) m = std::make_unique<std::mutex>();
    peer_mu = m.get();
  }
  std::lock_guard send_lock(*peer_mu);
  {
    std::lock_guard lock(mu_);
    auto it = impl_->out.find(peer);
    if (it != impl_->out.end()) sock = it->second.get();
  }
  if (!sock) {
    std::string address;
    {
      std::lock_guard lock(mu_);
      auto p = peers_.find(peer);
      if (p == peers_.end()) return absl::NotFoundError(absl::StrCat("no address for rank ", peer));
      address = p->second;
    }
    TESSERA_ASSIGN_OR_RETURN(tcp::endpoint ep, Resolve(impl_->io, address));
    auto s = std::make_unique<tcp::socket>(impl_->io);
    boost::system::error_code ec;
    // The peer may still be starting: retry for a few seconds.
    for (int attempt = 0; attempt < 50; ++attempt) {
      s->connect(ep, ec);
      if (!ec) break;
      s->close();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (ec) return absl::UnavailableError(absl::StrCat("cannot reach rank ", peer, " at ", address, ": ", ec.message()));
    s->set_option(tcp::no_delay(true), ec);
    Hello hello{kHelloMagic, rank_};
    asio::write(*s, asio::buffer(&hello, sizeof hello), ec);
    if (ec) return absl::UnavailableError(absl::StrCat("rank ", peer, " closed the connection: ", ec.message()));
    std::lock_guard lock(mu_);
    sock = (impl_->out[peer] = std::move(s)).get();
  }
  FrameHeader h{kFrameMagic, 0, data.size()};
  boost::system::error_code ec;
  std::array<asio::const_buffer, 2> bufs{asio::buffer(&h, sizeof h), asio::buffer(data.data(), data.size())};
  asio::write(*sock, bufs, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("sending to rank ", peer, " failed: ", ec.message()));
  bytes_sent_ += sizeof h + data.size();
  return absl::OkStatus();
}

Status TcpTransport::Recv(int peer, std::span<std::byte> data, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  tcp::socket* sock = nullptr;
  {
    std::unique_lock lock(mu_);
    if (!arrived_.wait_until(lock, deadline, [&] { return impl_->in.contains(peer); }))
      return absl::DeadlineExceededError(absl::StrCat("rank ", peer, " never connected within ", timeout.count(), " ms"));
    sock = impl_->in[peer].get();
  }
  const std::string what = absl::StrCat("a message from rank ", peer);
  FrameHeader h{};
  TESSERA_RETURN_IF_ERROR(ReadFull(*sock, std::as_writable_bytes(std::span(&h, 1)), deadline, what));
  if (h.magic != kFrameMagic) return absl::DataLossError(absl::StrCat("corrupt frame from rank ", peer));
  if (h.bytes != data.size())
    return absl::DataLossError(absl::StrCat("rank ", peer, " sent ", h.bytes, " bytes, expected ", data.size()));
  return ReadFull(*sock, data, deadline, what);
}

}  // namespace tessera
