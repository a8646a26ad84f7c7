// Worker processes started on this machine (tessera serve / generate --workers N). Children die
// with their parent and are reaped (or killed) when this object goes away.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace tessera {

class LocalWorkers {
 public:
  // Starts `n` copies of `exe worker --coordinator ADDR --id local-I [extra...]`.
  static StatusOr<LocalWorkers> Spawn(const std::string& exe, int n, const std::string& coordinator,
                                      const std::vector<std::string>& extra_args);
  LocalWorkers() = default;
  LocalWorkers(LocalWorkers&&) noexcept;
  LocalWorkers& operator=(LocalWorkers&&) noexcept;
  ~LocalWorkers();

  // Waits up to `grace_ms` for the children to exit, then kills the rest.
  void Stop(int grace_ms);
  // "local-1 (killed by signal 9)" for each child that exited since the last call; never blocks.
  std::vector<std::string> Exited();

 private:
  std::vector<pid_t> pids_;
  std::vector<std::string> ids_;
};

}  // namespace tessera
