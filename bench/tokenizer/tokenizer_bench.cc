// Single-threaded encoding throughput of the o200k_harmony tokenizer over a corpus file.
//
//   tokenizer_bench CORPUS [--runs N] [--cold] [--ids OUT]
//
// Prints one JSON line: bytes, tokens, median and best MB/s (1 MB = 1e6 bytes) over N runs of
// EncodeOrdinary on the whole file, by wall-clock time and by the process's CPU time (which
// other processes on a busy machine disturb less). Each run starts from a fresh tokenizer with --cold, so the
// per-thread piece cache starts empty (loading is not timed). --ids writes the ids, one per line,
// for comparison with other implementations.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

constexpr char kUsage[] = "usage: tokenizer_bench CORPUS [--runs N] [--cold] [--ids OUT]";

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "tokenizer_bench: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string corpus_path, ids_path;
  int runs = 5;
  bool cold = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--cold") == 0) {
      cold = true;
    } else if (std::strcmp(argv[i], "--ids") == 0 && i + 1 < argc) {
      ids_path = argv[++i];
    } else if (argv[i][0] != '-' && corpus_path.empty()) {
      corpus_path = argv[i];
    } else {
      return Fail(kUsage);
    }
  }
  if (corpus_path.empty()) return Fail(kUsage);
  std::ifstream in(corpus_path, std::ios::binary);
  if (!in) return Fail("cannot open " + corpus_path);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();

  auto tok = tessera::Tokenizer::Default();
  if (!tok.ok()) return Fail(tok.status().ToString());

  std::vector<double> mbps, cpu_mbps;
  std::size_t tokens = 0;
  std::vector<tessera::TokenId> ids;
  const double megabytes = static_cast<double>(text.size()) / 1e6;
  for (int r = 0; r < runs; ++r) {
    if (cold && r > 0) {
      tok = tessera::Tokenizer::Default();
      if (!tok.ok()) return Fail(tok.status().ToString());
    }
    const double cpu_start = CpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    ids = tok->EncodeOrdinary(text);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    cpu_mbps.push_back(megabytes / (CpuSeconds() - cpu_start));
    mbps.push_back(megabytes / took.count());
    tokens = ids.size();
  }
  if (!ids_path.empty()) {
    std::ofstream out(ids_path);
    for (tessera::TokenId id : ids) out << id << '\n';
  }
  std::printf(
      "{\"impl\":\"tessera%s\",\"bytes\":%zu,\"tokens\":%zu,\"runs\":%d,\"median_mbps\":%.2f,"
      "\"best_mbps\":%.2f,\"median_cpu_mbps\":%.2f}\n",
      cold ? " (cold cache)" : "", text.size(), tokens, runs, Median(mbps),
      *std::max_element(mbps.begin(), mbps.end()), Median(cpu_mbps));
  return 0;
}
