// Component loggers: every log line names the part of tessera that wrote it.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace tessera {

// Returns the logger for `component` ("model", "checkpoint", "worker", ...), creating it on first
// use. Loggers write to stderr so stdout stays free for JSON output.
std::shared_ptr<spdlog::logger> Logger(std::string_view component);

// Sets the level of every logger, present and future ("trace" .. "off"), and of processes this
// one starts (through TESSERA_LOG_LEVEL).
void SetLogLevel(std::string_view level);

}  // namespace tessera
