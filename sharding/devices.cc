#include "sharding/devices.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

namespace tessera {
namespace {

std::string Trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Parses "NUMBER[K|M|G|T]" where the suffix multiplies by `base`^n. Returns false on any junk.
bool ParseScaled(const std::string& s, double base, double* out) {
  if (s.empty()) return false;
  std::size_t end = s.size();
  double mult = 1;
  const char last = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
  const std::string suffixes = "KMGT";
  if (const std::size_t p = suffixes.find(last); p != std::string::npos) {
    mult = std::pow(base, static_cast<double>(p + 1));
    --end;
  }
  if (end == 0) return false;
  for (std::size_t i = 0; i < end; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.' && s[i] != 'e') return false;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + end, v);
  if (ec != std::errc() || ptr != s.data() + end || !(v > 0)) return false;
  *out = v * mult;
  return true;
}

bool ParseCount(const std::string& s, int* out) {
  if (s.empty() || s.size() > 6) return false;
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  *out = v;
  return true;
}

std::string FormatSize(std::uint64_t bytes) {
  const char* units[] = {"T", "G", "M", "K"};
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t unit = std::uint64_t{1} << (10 * (4 - i));
    if (bytes % unit == 0) return absl::StrCat(bytes / unit, units[i]);
  }
  return absl::StrCat(bytes);
}

std::string FormatBandwidth(double bps) {
  const char* units[] = {"T", "G", "M", "K"};
  for (int i = 0; i < 4; ++i) {
    const double unit = std::pow(1000.0, 4 - i);
    if (bps >= unit) return absl::StrCat(bps / unit, units[i]);
  }
  return absl::StrCat(bps);
}

}  // namespace

double DefaultBandwidth(const std::string& kind, std::uint64_t memory_bytes) {
  if (kind == "cpu") return 20e9;  // a DDR5 socket as one worker sees it
  // The common part of each size: H100 80G, H200 141G, A100 40G, 24G consumer/L4-class.
  static const std::map<std::uint64_t, double> kTable = {
      {80 * kGiB, 3.0e12}, {141 * kGiB, 4.27e12}, {24 * kGiB, 1.0e12}, {40 * kGiB, 1.5e12}};
  auto it = kTable.find(memory_bytes);
  return it == kTable.end() ? 1.0e12 : it->second;
}

StatusOr<std::vector<DeviceSpec>> ParseDevices(const std::string& text) {
  std::vector<DeviceSpec> out;
  std::map<std::string, int> per_kind;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string entry = Trim(text.substr(start, comma - start));
    start = comma + 1;
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat("bad device entry '", entry, "' in '", text, "': ", why));
    };
    if (entry.empty()) return bad("empty entry (expected e.g. 2x80G, 1x141G or 4xcpu64G)");
    std::string rest = entry;
    int count = 1;
    if (const std::size_t x = rest.find_first_of("xX"); x != std::string::npos && x > 0 &&
                                                         std::isdigit(static_cast<unsigned char>(rest[0]))) {
      if (!ParseCount(rest.substr(0, x), &count) || count < 1) return bad("count must be a positive integer");
      rest = rest.substr(x + 1);
    }
    DeviceSpec d;
    for (const char* kind : {"cpu", "gpu"}) {
      if (rest.rfind(kind, 0) == 0) {
        d.kind = kind;
        rest = rest.substr(3);
      }
    }
    if (const std::size_t at = rest.find('@'); at != std::string::npos) {
      if (!ParseCount(rest.substr(at + 1), &d.host) || d.host < 0) return bad("host after '@' must be an integer >= 0");
      rest = rest.substr(0, at);
    }
    double bw = 0;
    if (const std::size_t colon = rest.find(':'); colon != std::string::npos) {
      if (!ParseScaled(rest.substr(colon + 1), 1000.0, &bw)) return bad("bandwidth after ':' must look like 3.35T");
      rest = rest.substr(0, colon);
    }
    double bytes = 0;
    if (!ParseScaled(rest, 1024.0, &bytes) || bytes < 1 << 20)
      return bad("memory size must look like 80G, 512M or 1T and be at least 1M");
    d.memory_bytes = static_cast<std::uint64_t>(bytes);
    d.hbm_bytes_per_s = bw > 0 ? bw : DefaultBandwidth(d.kind, d.memory_bytes);
    if (out.size() + count > 4096) return bad("more than 4096 devices");
    for (int i = 0; i < count; ++i) {
      d.name = absl::StrCat(d.kind, per_kind[d.kind]++);
      out.push_back(d);
    }
  }
  return out;
}

std::string FormatDevices(const std::vector<DeviceSpec>& devices) {
  std::string out;
  for (std::size_t i = 0; i < devices.size();) {
    const DeviceSpec& d = devices[i];
    std::size_t j = i;
    while (j < devices.size() && devices[j].kind == d.kind && devices[j].memory_bytes == d.memory_bytes &&
           devices[j].hbm_bytes_per_s == d.hbm_bytes_per_s && devices[j].host == d.host)
      ++j;
    absl::StrAppend(&out, out.empty() ? "" : ",", j - i, "x", d.kind == "cpu" ? "cpu" : "", FormatSize(d.memory_bytes));
    if (d.hbm_bytes_per_s != DefaultBandwidth(d.kind, d.memory_bytes))
      absl::StrAppend(&out, ":", FormatBandwidth(d.hbm_bytes_per_s));
    if (d.host != 0) absl::StrAppend(&out, "@", d.host);
    i = j;
  }
  return out;
}

}  // namespace tessera
