// tessera synth: writes a random-weight checkpoint in the real layout.
#include <cstdint>
#include <iostream>

#include "cli/commands.h"
#include "core/log.h"
#include "model/synth.h"

namespace tessera::cli {

void RegisterSynth(CLI::App& app) {
  struct Opts {
    std::string config = "tiny", experts = "mxfp4", out, spelling = "published", layout = "hf";
    std::uint64_t seed = 0;
    std::uint64_t shard_mb = 4096;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("synth", "Write a random-weight gpt-oss checkpoint");
  cmd->add_option("--config", o->config, "tiny, 20b, 120b, or a config.json to copy the shape from")->capture_default_str();
  cmd->add_option("--experts", o->experts, "expert weights: mxfp4 or bf16")->check(CLI::IsMember({"mxfp4", "bf16"}))->capture_default_str();
  cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
  cmd->add_option("--out", o->out, "output folder")->required();
  cmd->add_option("--spelling", o->spelling, "config.json spelling: published or rope_parameters")
      ->check(CLI::IsMember({"published", "rope_parameters"}))->capture_default_str();
  cmd->add_option("--layout", o->layout, "hf (transformers naming) or original (OpenAI's original/)")
      ->check(CLI::IsMember({"hf", "original"}))->capture_default_str();
  cmd->add_option("--shard-mb", o->shard_mb, "HF layout: largest shard in MiB")->capture_default_str();
  cmd->callback([o] {
    StatusOr<ModelConfig> config = (o->config == "tiny" || o->config == "20b" || o->config == "120b")
                                       ? PresetModelConfig(o->config)
                                       : LoadModelConfig(o->config);
    if (!config.ok()) {
      std::cerr << "tessera synth: " << config.status().message() << "\n";
      ExitCode() = 2;
      return;
    }
    config->expert_format = o->experts == "bf16" ? ExpertFormat::kBf16 : ExpertFormat::kMxfp4;
    SynthOptions opts;
    opts.seed = o->seed;
    opts.spelling = o->spelling == "published" ? ConfigSpelling::kPublished : ConfigSpelling::kRopeParameters;
    opts.original_layout = o->layout == "original";
    opts.shard_bytes = o->shard_mb << 20;
    if (Status s = WriteSyntheticCheckpoint(*config, opts, o->out); !s.ok()) {
      std::cerr << "tessera synth: " << s.message() << "\n";
      ExitCode() = 1;
    }
  });
}

}  // namespace tessera::cli
