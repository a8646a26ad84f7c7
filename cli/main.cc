// tessera: one binary, one subcommand per job (generate, synth, ...).
#include <omp.h>

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/log.h"

namespace tessera::cli {
int& ExitCode() {
  static int code = 0;
  return code;
}
}  // namespace tessera::cli

int main(int argc, char** argv) {
  CLI::App app{"tessera: serves OpenAI's gpt-oss models across GPUs and machines"};
  app.require_subcommand(1);
  const char* env_level = std::getenv("TESSERA_LOG_LEVEL");
  std::string log_level = env_level && *env_level ? env_level : "info";
  int threads = 0;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads for model math (default: all cores)");
  app.parse_complete_callback([&] {
    tessera::SetLogLevel(log_level);
    if (threads > 0) omp_set_num_threads(threads);
  });
  tessera::cli::RegisterGenerate(app);
  tessera::cli::RegisterSynth(app);
  tessera::cli::RegisterCluster(app);
  tessera::cli::RegisterPlan(app);
  tessera::cli::RegisterTokenize(app);
  tessera::cli::RegisterRender(app);
  tessera::cli::RegisterChat(app);
  CLI11_PARSE(app, argc, argv);
  return tessera::cli::ExitCode();
}
