// Subcommands of the `tessera` binary. Each Register* adds one subcommand and its handler.
#pragma once

#include <CLI/CLI.hpp>

namespace tessera::cli {

void RegisterGenerate(CLI::App& app);
void RegisterSynth(CLI::App& app);
void RegisterCluster(CLI::App& app);
void RegisterPlan(CLI::App& app);
void RegisterTokenize(CLI::App& app);
void RegisterRender(CLI::App& app);
void RegisterChat(CLI::App& app);

struct ChatInput;
// --tools, --response-format, --reasoning, --date for subcommands that take chat input.
void AddChatFlags(CLI::App* cmd, ChatInput& in);

// Handlers set this to the process exit code.
int& ExitCode();

}  // namespace tessera::cli
