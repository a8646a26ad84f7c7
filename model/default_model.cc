#include "model/default_model.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/log.h"
#include "model/synth.h"

namespace tessera {
namespace {

// Bump when the synth recipe changes, so stale caches are not reused.
constexpr const char* kDefaultName = "tiny-seed0-v1";

std::string CacheRoot() {
  if (const char* home = std::getenv("TESSERA_HOME"); home && *home) return home;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/tessera";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/tessera";
  return "/tmp/tessera";
}

}  // namespace

StatusOr<std::string> DefaultModelDir() {
  namespace fs = std::filesystem;
  const std::string dir = CacheRoot() + "/models/" + kDefaultName;
  if (fs::exists(dir + "/config.json")) return dir;
  TESSERA_ASSIGN_OR_RETURN(ModelConfig config, PresetModelConfig("tiny"));
  // Write beside the target and rename, so concurrent first runs never see half a checkpoint.
  const std::string tmp = absl::StrCat(dir, ".tmp.", ::getpid());
  Logger("model")->info("creating the built-in model in {}", dir);
  TESSERA_RETURN_IF_ERROR(WriteSyntheticCheckpoint(config, SynthOptions{}, tmp));
  std::error_code ec;
  fs::rename(tmp, dir, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    if (!fs::exists(dir + "/config.json"))
      return absl::InternalError(absl::StrCat("cannot create the built-in model in ", dir));
  }
  return dir;
}

}  // namespace tessera
