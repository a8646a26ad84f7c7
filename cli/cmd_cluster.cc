// tessera worker | coordinator | serve: the processes of the distributed runtime.
#include <csignal>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "coordinator/cluster.h"
#include "core/log.h"
#include "model/default_model.h"
#include "server/grpc_api.h"
#include "server/serve.h"
#include "worker/worker.h"

namespace tessera::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct ClusterFlags {
  std::string model, listen = "127.0.0.1:0";
  int workers = 1, replicas = 1, stages = 1, expert_groups = 1;
  std::string policy;
  int http_port = -1;  // -1: no HTTP API
  int grpc_port = -1;  // -1: no gRPC generation API
  std::string http_host = "127.0.0.1", api_key;
};

void AddClusterFlags(CLI::App* cmd, ClusterFlags& f) {
  cmd->add_option("--model", f.model, "checkpoint folder (default: the built-in tiny model)");
  cmd->add_option("--workers", f.workers, "worker processes")->capture_default_str();
  cmd->add_option("--policy", f.policy, "let the planner choose replicas, stages and expert groups (latency or throughput)");
  cmd->add_option("--replicas", f.replicas, "model copies (workers = replicas x stages x expert groups)")->capture_default_str();
  cmd->add_option("--stages", f.stages, "pipeline stages")->capture_default_str();
  cmd->add_option("--expert-groups", f.expert_groups, "ranks per stage sharing the experts")->capture_default_str();
  cmd->add_option("--http-port", f.http_port, "serve the OpenAI-compatible HTTP API on this port (0: pick a free one)");
  cmd->add_option("--http-host", f.http_host, "interface for the HTTP and gRPC APIs")->capture_default_str();
  cmd->add_option("--grpc-port", f.grpc_port, "serve the gRPC generation API (tessera.v1.Generation) on this port (0: pick)");
  cmd->add_option("--api-key", f.api_key, "require 'Authorization: Bearer KEY' on the HTTP API");
}

// Serves until SIGINT/SIGTERM or until the cluster loses a worker.
int Serve(ClusterFlags f, bool spawn_local) {
  const bool builtin_model = f.model.empty();
  if (f.model.empty()) {
    StatusOr<std::string> dir = DefaultModelDir();
    if (!dir.ok()) {
      std::cerr << "tessera: " << dir.status().message() << "\n";
      return 1;
    }
    f.model = *dir;
  }
  ClusterOptions o;
  o.listen = f.listen;
  o.model_dir = f.model;
  o.workers = f.workers;
  o.replicas = f.replicas;
  if (!f.policy.empty()) {
    StatusOr<Policy> p = ParsePolicy(f.policy);
    if (!p.ok()) {
      std::cerr << "tessera: " << p.status().message() << "\n";
      return 2;
    }
    o.policy = *p;
  }
  o.stages = f.stages;
  o.expert_groups = f.expert_groups;
  o.spawn_local = spawn_local;
  StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Start(o);
  if (!cluster.ok()) {
    std::cerr << "tessera: cannot start serving: " << cluster.status().message() << "\n";
    return 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::cout << "ready: coordinator on " << (*cluster)->address() << "\n" << std::flush;
  // The gRPC API runs beside the HTTP one (or alone), on the same cluster and tokenizer.
  std::unique_ptr<Tokenizer> grpc_tokenizer;
  std::unique_ptr<server::GenerationService> grpc_service;
  std::unique_ptr<grpc::Server> grpc_server;
  if (f.grpc_port >= 0) {
    StatusOr<Tokenizer> t = Tokenizer::FromModelDir(f.model);
    if (!t.ok()) {
      std::cerr << "tessera: " << t.status().message() << "\n";
      return 1;
    }
    grpc_tokenizer = std::make_unique<Tokenizer>(std::move(*t));
    grpc_service = std::make_unique<server::GenerationService>(server::BackendFor(**cluster), *grpc_tokenizer,
                                                               builtin_model ? "gpt-oss" : server::ModelIdFor(f.model));
    int port = 0;
    StatusOr<std::unique_ptr<grpc::Server>> started = server::StartGrpcServer(grpc_service.get(), f.http_host, f.grpc_port, &port);
    if (!started.ok()) {
      std::cerr << "tessera: " << started.status().message() << "\n";
      return 1;
    }
    grpc_server = std::move(*started);
    std::cout << "grpc: listening on " << f.http_host << ":" << port << "\n" << std::flush;
  }
  if (f.http_port >= 0) {
    server::HttpOptions http;
    http.host = f.http_host;
    http.port = f.http_port;
    http.api_key = f.api_key;
    http.model_dir = f.model;
    if (builtin_model) http.model_id = "gpt-oss";
    http.on_listening = [&](int port) { std::cout << "http: listening on " << f.http_host << ":" << port << "\n" << std::flush; };
    const Status s = server::RunHttpServer(**cluster, http, g_stop);
    if (!s.ok() && (*cluster)->healthy()) {
      std::cerr << "tessera: HTTP server: " << s.message() << "\n";
      cluster->reset();
      return 1;
    }
  } else {
    while (!g_stop && (*cluster)->healthy()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const bool lost = !(*cluster)->healthy();
  if (grpc_server) grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  cluster->reset();
  if (lost) std::cerr << "tessera: a worker was lost; stopped\n";
  return lost ? 1 : 0;
}

}  // namespace

void RegisterCluster(CLI::App& app) {
  auto wo = std::make_shared<WorkerOptions>();
  CLI::App* worker = app.add_subcommand("worker", "Run a worker that joins a coordinator");
  worker->add_option("--coordinator", wo->coordinator, "coordinator address host:port")->required();
  worker->add_option("--host", wo->host, "interface for this worker's listeners")->capture_default_str();
  worker->add_option("--id", wo->worker_id, "worker id (default: host-pid)");
  worker->callback([wo] {
    Status s = RunWorker(*wo);
    if (!s.ok()) {
      std::cerr << "tessera worker: " << s.message() << "\n";
      ExitCode() = 1;
    }
  });

  auto sf = std::make_shared<ClusterFlags>();
  CLI::App* serve = app.add_subcommand("serve", "Start a coordinator and local worker processes");
  AddClusterFlags(serve, *sf);
  serve->callback([sf] { ExitCode() = Serve(*sf, /*spawn_local=*/true); });

  auto cf = std::make_shared<ClusterFlags>();
  CLI::App* coord = app.add_subcommand("coordinator", "Start a coordinator that waits for remote workers");
  AddClusterFlags(coord, *cf);
  coord->add_option("--listen", cf->listen, "control address host:port")->capture_default_str();
  coord->callback([cf] { ExitCode() = Serve(*cf, /*spawn_local=*/false); });
}

}  // namespace tessera::cli
