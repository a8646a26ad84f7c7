// Devices the planner can place shards on, and the compact list syntax the CLI accepts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tessera {

inline constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

struct DeviceSpec {
  std::string kind = "gpu";        // "gpu" or "cpu"
  std::uint64_t memory_bytes = 0;  // capacity
  double hbm_bytes_per_s = 0;      // memory bandwidth the cost model divides by
  std::string name;                // "gpu0", "cpu2", ... numbered per kind in list order
  int host = 0;                    // devices with the same host talk over NVLink / shared memory
};

// Parses a comma-separated device list. Each entry is
//   [COUNT x] [cpu|gpu] SIZE [:BANDWIDTH] [@HOST]
// SIZE: bytes, or a number with K/M/G/T (binary: 80G = 80 GiB). BANDWIDTH: bytes/s, or a number
// with K/M/G/T (decimal: 3.35T = 3.35e12 B/s). Examples: "2x80G,4x24G", "1x141G", "4xcpu64G",
// "8x80G:3.35T@1". Without a bandwidth, GPUs get one by memory size (the usual part of that size)
// and CPUs 20e9 B/s. Errors name the bad entry.
StatusOr<std::vector<DeviceSpec>> ParseDevices(const std::string& text);

// The inverse of ParseDevices, grouping runs of identical devices: "2x80G,4x24G".
std::string FormatDevices(const std::vector<DeviceSpec>& devices);

// Bandwidth assumed for a device of this kind and size when the list gives none.
double DefaultBandwidth(const std::string& kind, std::uint64_t memory_bytes);

}  // namespace tessera
