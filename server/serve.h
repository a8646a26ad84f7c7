// Serving a cluster over HTTP: what `tessera serve --http-port` runs.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "coordinator/cluster.h"
#include "core/status.h"

namespace tessera::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: the system picks
  std::string api_key;
  std::string model_dir;  // the tokenizer comes from here; its basename is the model id
  std::string model_id;   // overrides the basename ("gpt-oss" for the built-in model)
  int max_connections = 256;  // one thread each; beyond: 503 + Retry-After
  std::size_t body_limit = std::size_t{16} << 20;
  int default_max_tokens = 1024;
  // Called once listening, with the bound port.
  std::function<void(int port)> on_listening;
};

// The model id /v1/models reports: the checkpoint folder's basename, "gpt-oss" when empty.
std::string ModelIdFor(const std::string& model_dir);

// Serves until `stop` becomes true or the cluster loses a worker (then Unavailable).
Status RunHttpServer(Cluster& cluster, const HttpOptions& options, std::atomic<bool>& stop);

}  // namespace tessera::server
