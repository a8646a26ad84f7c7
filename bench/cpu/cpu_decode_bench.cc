// CPU prefill and decode throughput of the in-process model.
//
//   cpu_decode_bench --model DIR [--prompt 64] [--tokens 32] [--repeats 3] [--batch 1]
//   cpu_decode_bench --preset tiny          (synthesizes the checkpoint in a temp folder)
//
// Prints one JSON line per run and a summary with medians. Decode tokens/s counts generated
// tokens across the batch divided by decode wall time; prefill is timed separately.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "model/load.h"
#include "model/synth.h"

using namespace tessera;
using Clock = std::chrono::steady_clock;

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

long MaxRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CPU prefill/decode benchmark"};
  std::string model_dir, preset;
  int prompt = 64, tokens = 32, repeats = 3, batch = 1;
  app.add_option("--model", model_dir, "checkpoint folder");
  app.add_option("--preset", preset, "synthesize tiny|20b|120b into a temp folder instead");
  app.add_option("--prompt", prompt, "prompt tokens")->capture_default_str();
  app.add_option("--tokens", tokens, "decode steps")->capture_default_str();
  app.add_option("--repeats", repeats, "runs; medians are reported")->capture_default_str();
  app.add_option("--batch", batch, "sequences decoded together")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (!preset.empty()) {
    model_dir = (std::filesystem::temp_directory_path() / ("tessera-bench-" + preset)).string();
    if (!std::filesystem::exists(model_dir + "/config.json")) {
      auto c = PresetModelConfig(preset);
      if (!c.ok() || !WriteSyntheticCheckpoint(*c, SynthOptions{}, model_dir).ok()) {
        std::cerr << "cannot synthesize " << preset << "\n";
        return 1;
      }
    }
  }
  auto t0 = Clock::now();
  auto loaded = LoadCpuModel(model_dir, ShardSpec{}, KvCacheOptions{16, 1 << 20});
  if (!loaded.ok()) { std::cerr << loaded.status() << "\n"; return 1; }
  CpuModel& model = **loaded;
  const ModelConfig* config = &model.config();
  const double load_s = Seconds(t0, Clock::now());

  std::vector<double> prefill_tps, decode_tps;
  SeqId next_seq = 1;
  for (int r = 0; r < repeats; ++r) {
    std::vector<std::vector<TokenId>> prompts(batch, std::vector<TokenId>(prompt));
    for (int b = 0; b < batch; ++b)
      for (int i = 0; i < prompt; ++i) prompts[b][i] = static_cast<TokenId>((i * 7919 + b * 104729 + r) % config->vocab_size);
    std::vector<SeqId> seqs;
    std::vector<SeqChunk> chunks;
    for (int b = 0; b < batch; ++b) {
      seqs.push_back(next_seq++);
      chunks.push_back({seqs.back(), prompts[b], false});
    }
    auto p0 = Clock::now();
    auto logits = model.Forward(chunks);
    auto p1 = Clock::now();
    if (!logits.ok()) { std::cerr << logits.status() << "\n"; return 1; }
    std::vector<TokenId> last(batch);
    auto d0 = Clock::now();
    for (int step = 0; step < tokens; ++step) {
      for (int b = 0; b < batch; ++b) {
        auto row = logits->begin() + static_cast<std::ptrdiff_t>(b) * config->vocab_size;
        last[b] = static_cast<TokenId>(std::max_element(row, row + config->vocab_size) - row);
        chunks[b] = {seqs[b], std::span<const TokenId>(&last[b], 1), false};
      }
      logits = model.Forward(chunks);
      if (!logits.ok()) { std::cerr << logits.status() << "\n"; return 1; }
    }
    auto d1 = Clock::now();
    for (SeqId s : seqs) model.Release(s);
    prefill_tps.push_back(batch * prompt / Seconds(p0, p1));
    decode_tps.push_back(batch * tokens / Seconds(d0, d1));
    std::cout << nlohmann::json{{"run", r}, {"prefill_tokens_per_s", prefill_tps.back()},
                                {"decode_tokens_per_s", decode_tps.back()}}.dump() << "\n";
  }
  nlohmann::json summary = {{"model", model_dir}, {"layers", config->num_layers},
                            {"experts", config->num_experts}, {"batch", batch}, {"prompt", prompt},
                            {"tokens", tokens}, {"repeats", repeats}, {"load_s", load_s},
                            {"median_prefill_tokens_per_s", Median(prefill_tps)},
                            {"median_decode_tokens_per_s", Median(decode_tps)},
                            {"max_rss_mb", MaxRssMb()}};
  std::cout << summary.dump() << "\n";
  return 0;
}
