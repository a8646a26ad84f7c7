// Single-threaded encoding throughput of the o200k_harmony tokenizer over a corpus file.
//
//   tokenizer_bench CORPUS [--runs N] [--cold] [--ids OUT]
//
// Prints one JSON line: bytes, tokens, median and best MB/s (1 MB = 1e6 bytes) over N runs of
// EncodeOrdinary on the whole file. Each run starts from a fresh tokenizer with --cold, so the
// per-thread piece cache starts empty (loading is not timed). --ids writes the ids, one per line,
// for comparison with other implementations.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

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
      return Fail("usage: tokenizer_bench CORPUS [--runs N] [--cold] [--ids OUT]");
    }
  }
  if (corpus_path.empty()) return Fail("usage: tokenizer_bench CORPUS [--runs N] [--cold] [--ids OUT]");
  std::ifstream in(corpus_path, std::ios::binary);
  if (!in) return Fail("cannot open " + corpus_path);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();

  auto tok = tessera::Tokenizer::Default();
  if (!tok.ok()) return Fail(tok.status().ToString());

  std::vector<double> mbps;
  std::size_t tokens = 0;
  std::vector<tessera::TokenId> ids;
  for (int r = 0; r < runs; ++r) {
    if (cold && r > 0) {
      tok = tessera::Tokenizer::Default();
      if (!tok.ok()) return Fail(tok.status().ToString());
    }
    const auto start = std::chrono::steady_clock::now();
    ids = tok->EncodeOrdinary(text);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    tokens = ids.size();
    mbps.push_back(static_cast<double>(text.size()) / 1e6 / took.count());
  }
  if (!ids_path.empty()) {
    std::ofstream out(ids_path);
    for (tessera::TokenId id : ids) out << id << '\n';
  }
  std::vector<double> sorted = mbps;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                          : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
  std::printf("{\"impl\":\"tessera%s\",\"bytes\":%zu,\"tokens\":%zu,\"runs\":%d,\"median_mbps\":%.2f,"
              "\"best_mbps\":%.2f}\n",
              cold ? " (cold cache)" : "", text.size(), tokens, runs, median, sorted.back());
  return 0;
}
