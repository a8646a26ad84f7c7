// A worker process: serves the Worker gRPC service, registers with the coordinator, sends
// heartbeats, and runs its shard's steps. Exits when told to shut down or when the coordinator
// has been unreachable for `coordinator_timeout`.
#pragma once

#include <chrono>
#include <string>

#include "core/status.h"

namespace tessera {

struct WorkerOptions {
  std::string coordinator;          // host:port of the coordinator
  std::string host = "127.0.0.1";   // interface for the control and data listeners
  std::string worker_id;            // default: host-pid
  std::chrono::milliseconds peer_timeout{60000};
  std::chrono::milliseconds coordinator_timeout{10000};
};

// Blocks until shutdown; returns the reason as a status (OK for an orderly shutdown).
Status RunWorker(const WorkerOptions& options);

}  // namespace tessera
