// Serves the built-in model over HTTP for the client tests: a cluster with one local worker and
// the HTTP server on a free port, printed as "http: listening on HOST:PORT". Stops on SIGINT or
// SIGTERM. Flags: --api-key KEY.
#include <csignal>
#include <cstring>
#include <iostream>

#include "coordinator/cluster.h"
#include "model/default_model.h"
#include "server/serve.h"

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  using namespace tessera;
  server::HttpOptions http;
  http.port = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--api-key") == 0) http.api_key = argv[++i];
  }
  StatusOr<std::string> dir = DefaultModelDir();
  if (!dir.ok()) {
    std::cerr << dir.status() << "\n";
    return 1;
  }
  ClusterOptions o;
  o.model_dir = *dir;
  o.self_exe = TESSERA_BINARY_DIR "/bin/tessera";
  o.scheduler.max_context = 8192;
  StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Start(o);
  if (!cluster.ok()) {
    std::cerr << cluster.status() << "\n";
    return 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  http.model_dir = *dir;
  http.model_id = "gpt-oss";
  http.on_listening = [&](int port) { std::cout << "http: listening on 127.0.0.1:" << port << std::endl; };
  const Status s = server::RunHttpServer(**cluster, http, g_stop);
  if (!s.ok()) std::cerr << s << "\n";
  return s.ok() ? 0 : 1;
}
