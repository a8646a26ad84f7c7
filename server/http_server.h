// A small HTTP/1.1 server on Boost.Beast: one thread per connection, bounded (beyond the limit a
// client gets 503 at once), keep-alive, a body size limit (413) and an exact-path route table.
// Handlers either return a whole response or stream a chunked body through ResponseStream.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"

namespace tessera::server {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The path observers see for a connection refused at the connection limit (no request read).
inline constexpr const char* kRefusedPath = "(refused)";

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // target without the query
  std::string query;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  // The header's value, or "" when absent. `name` must be lowercase.
  std::string Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;
  std::string body;
};

// A response body sent as it is produced (Transfer-Encoding: chunked). The connection closes
// after a streamed response.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Sends the status line and headers. False when the client is gone.
  virtual bool Begin(int status, const std::string& content_type, const Headers& headers = {}) = 0;
  // Sends one chunk. False once the client is gone: stop producing.
  virtual bool Write(std::string_view data) = 0;
  virtual bool began() const = 0;
};

// Returns the response; ignored when the handler began the stream.
using Handler = std::function<HttpResponse(const HttpRequest&, ResponseStream&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: the system picks; see HttpServer::port()
  int max_connections = 256;  // one thread each; beyond: 503 + Retry-After
  std::size_t body_limit = std::size_t{16} << 20;
  // A keep-alive connection waiting this long for its next request is closed.
  std::chrono::milliseconds idle_timeout{60000};
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes are fixed before Start().
  void Route(const std::string& method, const std::string& path, Handler handler);
  // Called before routing; a response it returns is sent instead (authentication).
  void SetFilter(std::function<std::optional<HttpResponse>(const HttpRequest&)> filter);
  // Called with every response status sent, streamed ones included.
  void SetObserver(std::function<void(const HttpRequest&, int status)> observer);

  // Binds and starts accepting. Unavailable when the address cannot be bound.
  Status Start();
  // Closes the listener and every connection, and joins their threads. Idempotent.
  void Stop();
  int port() const { return port_; }

 private:
  struct Conn;
  void AcceptLoop();
  void Serve(std::shared_ptr<Conn> conn);
  void ReapIdle();
  HttpResponse Dispatch(const HttpRequest& req, ResponseStream& stream);

  HttpServerOptions options_;
  std::map<std::string, std::map<std::string, Handler>> routes_;  // path -> method -> handler
  std::function<std::optional<HttpResponse>(const HttpRequest&)> filter_;
  std::function<void(const HttpRequest&, int)> observer_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_, reaper_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;  // wakes the reaper on Stop()
  std::mutex mu_;
  std::vector<std::shared_ptr<Conn>> conns_;
};

// A JSON response body for an error, in the OpenAI shape:
// {"error": {"message", "type", "param", "code"}}; empty param/code become null.
HttpResponse ErrorResponse(int status, const std::string& message, const std::string& type,
                           const std::string& param = "", const std::string& code = "");

}  // namespace tessera::server
