#include "worker/worker.h"

#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "core/log.h"
#include "worker/worker_service.h"

namespace tessera {
namespace {

StatusOr<std::uint32_t> Register(v1::Coordinator::Stub& stub, const v1::RegisterRequest& req,
                                 std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  grpc::Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::RegisterResponse resp;
    last = stub.Register(&ctx, req, &resp);
    if (last.ok()) return resp.heartbeat_interval_ms();
    if (last.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
      return absl::InvalidArgumentError(absl::StrCat("coordinator refused registration: ", last.error_message()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return absl::UnavailableError(absl::StrCat("cannot register with the coordinator: ", last.error_message()));
}

}  // namespace

Status RunWorker(const WorkerOptions& o) {
  auto log = Logger("worker");
  const std::string id = o.worker_id.empty() ? absl::StrCat(o.host, "-", ::getpid()) : o.worker_id;
  TESSERA_ASSIGN_OR_RETURN(std::unique_ptr<TcpTransport> transport, TcpTransport::Listen(o.host + ":0"));
  WorkerService service(transport.get(), o.peer_timeout);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(o.host + ":0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(64 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) return absl::UnavailableError(absl::StrCat("cannot start the worker service on ", o.host));
  const std::string control = absl::StrCat(o.host, ":", port);

  auto channel = grpc::CreateChannel(o.coordinator, grpc::InsecureChannelCredentials());
  auto stub = v1::Coordinator::NewStub(channel);
  v1::RegisterRequest reg;
  reg.set_worker_id(id);
  reg.set_control_address(control);
  reg.set_data_address(transport->address());
  reg.set_version("0.1");
  v1::Device* cpu = reg.add_devices();
  cpu->set_kind("cpu");
  cpu->set_name("cpu");
  cpu->set_memory_bytes(static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGE_SIZE));
  TESSERA_ASSIGN_OR_RETURN(std::uint32_t interval_ms, Register(*stub, reg, o.coordinator_timeout));
  log->info("worker {} registered (control {}, data {})", id, control, transport->address());

  // Heartbeats until shutdown; a coordinator silent for too long means we are orphaned.
  auto last_ok = std::chrono::steady_clock::now();
  Status result = absl::OkStatus();
  while (!service.WaitForShutdown(std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms))) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(std::max<std::uint32_t>(4 * interval_ms, 1000)));
    v1::HeartbeatRequest hb;
    hb.set_worker_id(id);
    hb.set_state(service.state());
    hb.set_steps_done(service.steps_done());
    hb.set_last_step_ms(service.last_step_ms());
    hb.set_kv_blocks_used(service.kv_blocks_used());
    v1::HeartbeatResponse resp;
    if (stub->Heartbeat(&ctx, hb, &resp).ok()) {
      last_ok = std::chrono::steady_clock::now();
      if (!resp.known()) {
        result = absl::AbortedError("the coordinator no longer knows this worker");
        break;
      }
    } else if (std::chrono::steady_clock::now() - last_ok > o.coordinator_timeout) {
      result = absl::UnavailableError(absl::StrCat("coordinator ", o.coordinator, " unreachable for ",
                                                   o.coordinator_timeout.count(), " ms"));
      break;
    }
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  log->info("worker {} stopped{}", id, result.ok() ? "" : absl::StrCat(": ", result.message()));
  return result;
}

}  // namespace tessera
