#include "server/http_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>

#include "core/log.h"

namespace tessera::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse ErrorResponse(int status, const std::string& message, const std::string& type,
                           const std::string& param, const std::string& code) {
  nlohmann::ordered_json err = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) err["param"] = param;
  if (!code.empty()) err["code"] = code;
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::ordered_json{{"error", err}}.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return r;
}

struct HttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
};

// One client connection. `idle_since` is set while waiting for a request, so the reaper can close
// connections idle past the timeout; shutting the socket down wakes the blocked read.
struct HttpServer::Conn {
  explicit Conn(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::thread thread;
  std::atomic<bool> done{false};
  std::atomic<bool> idle{true};
  std::atomic<Clock::rep> idle_since{Clock::now().time_since_epoch().count()};
  void ShutdownBoth() { ::shutdown(socket.native_handle(), SHUT_RDWR); }
};

namespace {

// Chunked transfer written straight onto the socket; any write error marks the client gone.
class ChunkedStream : public ResponseStream {
 public:
  explicit ChunkedStream(tcp::socket& s) : socket_(s) {}

  bool Begin(int status, const std::string& content_type, const Headers& headers) override {
    if (began_) return ok_;
    began_ = true;
    status_ = status;
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                       std::string(http::obsolete_reason(static_cast<http::status>(status))) + "\r\n";
    head += "Content-Type: " + content_type + "\r\nCache-Control: no-cache\r\n";
    head += "Transfer-Encoding: chunked\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
    head += "\r\n";
    return Send(head);
  }

  bool Write(std::string_view data) override {
    if (!began_ || !ok_) return false;
    if (data.empty()) return true;  // an empty chunk would end the body
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::string chunk = size;
    chunk.append(data);
    chunk += "\r\n";
    return Send(chunk);
  }

  void End() {
    if (began_ && ok_) Send("0\r\n\r\n");
  }
  bool began() const override { return began_; }
  int status() const { return status_; }

 private:
  bool Send(std::string_view bytes) {
    beast::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec) ok_ = false;
    return ok_;
  }

  tcp::socket& socket_;
  bool began_ = false, ok_ = true;
  int status_ = 0;
};

void WriteResponse(tcp::socket& socket, const HttpResponse& r, bool keep_alive, beast::error_code& ec) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
  res.set(http::field::server, "tessera");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  http::write(socket, res, ec);
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& method, const std::string& path, Handler handler) {
  routes_[path][method] = std::move(handler);
}

void HttpServer::SetFilter(std::function<std::optional<HttpResponse>(const HttpRequest&)> filter) {
  filter_ = std::move(filter);
}

void HttpServer::SetObserver(std::function<void(const HttpRequest&, int)> observer) { observer_ = std::move(observer); }

Status HttpServer::Start() {
  beast::error_code ec;
  const asio::ip::address addr = asio::ip::make_address(options_.host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bad listen address ", options_.host));
  const tcp::endpoint ep(addr, static_cast<unsigned short>(options_.port));
  tcp::acceptor& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.host, ":", options_.port, ": ", ec.message()));
  }
  port_ = acc.local_endpoint().port();
  acceptor_ = std::thread([this] { AcceptLoop(); });
  reaper_ = std::thread([this] { ReapIdle(); });
  Logger("http")->info("listening on {}:{}", options_.host, port_);
  return absl::OkStatus();
}

void HttpServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopping_.exchange(true)) return;
  }
  stop_cv_.notify_all();
  // shutdown() on the listening socket wakes the blocked accept() (Linux).
  if (impl_->acceptor.is_open()) ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  if (reaper_.joinable()) reaper_.join();
  beast::error_code ec;
  impl_->acceptor.close(ec);
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns.swap(conns_);
  }
  for (auto& c : conns) c->ShutdownBoth();
  for (auto& c : conns) {
    if (c->thread.joinable()) c->thread.join();
  }
}

void HttpServer::AcceptLoop() {
  while (!stopping_) {
    beast::error_code ec;
    tcp::socket socket = impl_->acceptor.accept(ec);
    if (stopping_) break;
    if (ec) continue;
    std::lock_guard<std::mutex> lock(mu_);
    // Finished connections leave the table here, so its size is the number of live clients.
    std::erase_if(conns_, [](const std::shared_ptr<Conn>& c) {
      if (!c->done) return false;
      c->thread.join();
      return true;
    });
    if (static_cast<int>(conns_.size()) >= options_.max_connections) {
      HttpResponse busy = ErrorResponse(503, "too many connections", "server_error", "", "server_busy");
      busy.headers.push_back({"Retry-After", "1"});
      WriteResponse(socket, busy, /*keep_alive=*/false, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
      if (observer_) {
        // Refused before its request was read: reported under a path of its own.
        HttpRequest refused;
        refused.path = kRefusedPath;
        observer_(refused, 503);
      }
      continue;
    }
    auto conn = std::make_shared<Conn>(std::move(socket));
    conns_.push_back(conn);
    conn->thread = std::thread([this, conn] { Serve(conn); });
  }
}

void HttpServer::ReapIdle() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(stop_mu_);
      if (stop_cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_.load(); })) return;
    }
    const auto now = Clock::now().time_since_epoch().count();
    const auto limit = std::chrono::duration_cast<Clock::duration>(options_.idle_timeout).count();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : conns_) {
      if (!c->done && c->idle && now - c->idle_since.load() > limit) c->ShutdownBoth();
    }
  }
}

void HttpServer::Serve(std::shared_ptr<Conn> conn) {
  tcp::socket& socket = conn->socket;
  beast::flat_buffer buffer;
  for (;;) {
    conn->idle_since = Clock::now().time_since_epoch().count();
    conn->idle = true;
    http::request_parser<http::string_body> parser;
    parser.body_limit(options_.body_limit);
    parser.header_limit(64 * 1024);
    beast::error_code ec;
    http::read(socket, buffer, parser, ec);
    conn->idle = false;
    if (ec == http::error::body_limit) {
      HttpRequest req;
      req.method = std::string(parser.get().method_string());
      req.path = std::string(parser.get().target());
      if (observer_) observer_(req, 413);
      WriteResponse(socket,
                    ErrorResponse(413, absl::StrCat("request body exceeds ", options_.body_limit, " bytes"),
                                  "invalid_request_error", "", "request_too_large"),
                    false, ec);
      // Read what the client is still sending so it sees the response rather than a reset.
      socket.shutdown(tcp::socket::shutdown_send, ec);
      char sink[65536];
      for (std::size_t total = 0; total < 4 * options_.body_limit;) {
        const std::size_t n = socket.read_some(asio::buffer(sink), ec);
        if (ec) break;
        total += n;
      }
      break;
    }
    if (ec) break;  // end of stream, reset, malformed request
    auto& msg = parser.get();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    const std::string target(msg.target());
    const std::size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    for (const auto& f : msg) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      req.headers[name] = std::string(f.value());
    }
    req.body = std::move(msg.body());
    const bool keep_alive = msg.keep_alive();

    ChunkedStream stream(socket);
    HttpResponse res = Dispatch(req, stream);
    if (stream.began()) {
      stream.End();
      if (observer_) observer_(req, stream.status());
      break;
    }
    if (observer_) observer_(req, res.status);
    WriteResponse(socket, res, keep_alive, ec);
    if (ec || !keep_alive) break;
  }
  beast::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
  conn->done = true;
}

HttpResponse HttpServer::Dispatch(const HttpRequest& req, ResponseStream& stream) {
  if (filter_) {
    if (std::optional<HttpResponse> r = filter_(req)) return *r;
  }
  auto path = routes_.find(req.path);
  if (path == routes_.end()) {
    return ErrorResponse(404, absl::StrCat("no route for ", req.path), "invalid_request_error", "", "not_found");
  }
  auto handler = path->second.find(req.method);
  if (handler == path->second.end()) {
    HttpResponse r = ErrorResponse(405, absl::StrCat(req.method, " is not allowed on ", req.path),
                                   "invalid_request_error", "", "method_not_allowed");
    std::string allow;
    for (const auto& [m, h] : path->second) allow += (allow.empty() ? "" : ", ") + m;
    r.headers.push_back({"Allow", allow});
    return r;
  }
  try {
    return handler->second(req, stream);
  } catch (const std::exception& e) {
    Logger("http")->error("{} {}: {}", req.method, req.path, e.what());
    return ErrorResponse(500, "internal error", "server_error");
  }
}

}  // namespace tessera::server
