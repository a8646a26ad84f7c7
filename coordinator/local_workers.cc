#include "coordinator/local_workers.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

namespace tessera {

StatusOr<LocalWorkers> LocalWorkers::Spawn(const std::string& exe, int n, const std::string& coordinator,
                                           const std::vector<std::string>& extra_args) {
  LocalWorkers w;
  for (int i = 0; i < n; ++i) {
    const std::string id = absl::StrCat("local-", i);
    std::vector<std::string> args = {exe, "worker", "--coordinator", coordinator, "--id", id};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    // Local workers share this machine's cores: split them, and let idle OpenMP threads sleep
    // instead of spinning while a worker waits for its peers.
    const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
    const std::string threads = std::to_string(std::max(1L, cores / n));
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return absl::ResourceExhaustedError(absl::StrCat("cannot start worker ", id, ": ", std::strerror(errno)));
    if (pid == 0) {
      // The child must not outlive a coordinator that crashed.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);
      ::setenv("OMP_NUM_THREADS", threads.c_str(), /*overwrite=*/0);
      ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(exe.c_str(), argv.data());
      ::_exit(127);
    }
    w.pids_.push_back(pid);
    w.ids_.push_back(id);
  }
  return w;
}

LocalWorkers::LocalWorkers(LocalWorkers&& o) noexcept : pids_(std::move(o.pids_)), ids_(std::move(o.ids_)) { o.pids_.clear(); }

LocalWorkers& LocalWorkers::operator=(LocalWorkers&& o) noexcept {
  if (this != &o) {
    Stop(0);
    pids_ = std::move(o.pids_);
    ids_ = std::move(o.ids_);
    o.pids_.clear();
  }
  return *this;
}

LocalWorkers::~LocalWorkers() { Stop(3000); }

std::vector<std::string> LocalWorkers::Exited() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < pids_.size(); ++i) {
    if (pids_[i] <= 0) continue;
    int status = 0;
    if (::waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
      out.push_back(absl::StrCat(ids_[i], WIFEXITED(status) ? absl::StrCat(" (exited with status ", WEXITSTATUS(status), ")")
                                                            : absl::StrCat(" (killed by signal ", WTERMSIG(status), ")")));
      pids_[i] = -1;
    }
  }
  return out;
}

void LocalWorkers::Stop(int grace_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  for (pid_t& pid : pids_) {
    if (pid <= 0) continue;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid = -1;
  }
}

}  // namespace tessera
