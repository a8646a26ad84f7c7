// A checkpoint directory: one safetensors file, a sharded set with model.safetensors.index.json,
// or OpenAI's `original/` layout. Files are mapped on first use, so opening a checkpoint and
// reading a subset of its tensors touches only the headers and those tensors' pages.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/safetensors.h"
#include "core/status.h"

namespace tessera {

enum class TensorNaming { kHuggingFace, kOriginal };

class Checkpoint {
 public:
  // `dir` holds config.json and either model.safetensors.index.json, *.safetensors files, or an
  // `original/` subfolder (OpenAI naming: block.N.attn.qkv.weight, ...). HF layout wins when both
  // exist.
  static StatusOr<Checkpoint> Open(const std::string& dir);

  TensorNaming naming() const { return naming_; }
  const std::string& dir() const { return dir_; }
  // Folder holding the config.json that goes with the tensors (dir or dir/original).
  const std::string& config_dir() const { return config_dir_; }

  bool Has(std::string_view name) const;
  // Maps the owning file on first use (thread-safe); errors name the file and tensor. The view's
  // bytes stay valid while this Checkpoint or any copy of it lives.
  StatusOr<TensorView> Get(std::string_view name) const;
  std::vector<std::string> Names() const;  // sorted

 private:
  std::string dir_, config_dir_;
  TensorNaming naming_ = TensorNaming::kHuggingFace;
  std::map<std::string, std::string, std::less<>> tensor_file_;  // tensor name -> file path
  // Opened lazily; shared_ptr keeps Checkpoint movable and copies cheap.
  std::shared_ptr<std::map<std::string, SafetensorsFile>> files_ =
      std::make_shared<std::map<std::string, SafetensorsFile>>();
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
};

}  // namespace tessera
