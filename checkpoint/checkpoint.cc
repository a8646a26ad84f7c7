#include "checkpoint/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/log.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

constexpr char kIndexName[] = "model.safetensors.index.json";

absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

// What one folder holds: where each tensor lives, and the files already opened on the way.
struct Layout {
  std::map<std::string, std::string, std::less<>> tensor_file;
  std::map<std::string, SafetensorsFile> files;
};

StatusOr<std::vector<std::string>> ListSafetensors(const fs::path& dir) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    // is_regular_file follows symlinks: hub caches link blobs into snapshot folders.
    if (it->path().extension() == ".safetensors" && it->is_regular_file(ec)) {
      paths.push_back(it->path().string());
    }
  }
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("listing ", dir.string()));
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Case (a): the index names each tensor's file. Shard headers are parsed on first use, so
// opening a 60-shard checkpoint to read three tensors reads three headers.
StatusOr<Layout> FromIndex(const fs::path& dir, const fs::path& index_path) {
  const std::string index = index_path.string();
  std::ifstream in(index_path, std::ios::binary);
  if (!in.is_open()) return absl::NotFoundError(absl::StrCat("cannot read ", index));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(index, ": not valid JSON: ", e.what()));
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(index, ": missing \"weight_map\" object"));
  }
  Layout layout;
  std::map<std::string, bool> exists;  // by file name, so each shard is checked once
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(index, ": tensor '", name, "' maps to a non-string"));
    }
    const std::string& rel = file.get_ref<const std::string&>();
    const fs::path rel_path(rel);
    // The index comes with downloaded files: keep it from pointing outside the checkpoint.
    if (rel.empty() || rel_path.is_absolute() ||
        std::find(rel_path.begin(), rel_path.end(), "..") != rel_path.end()) {
      return absl::InvalidArgumentError(absl::StrCat(index, ": tensor '", name, "' maps to '",
                                                     rel, "', which is not a file inside ",
                                                     dir.string()));
    }
    const std::string full = (dir / rel_path).string();
    auto [it, inserted] = exists.try_emplace(rel, false);
    if (inserted) {
      std::error_code ec;
      it->second = fs::is_regular_file(full, ec);
    }
    if (!it->second) {
      return absl::NotFoundError(absl::StrCat(index, ": file '", rel, "' (holding tensor '", name,
                                              "') does not exist: ", full));
    }
    layout.tensor_file.emplace(name, full);
  }
  if (layout.tensor_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(index, ": \"weight_map\" is empty"));
  }
  return layout;
}

// Case (b): every *.safetensors file; all headers are validated now.
StatusOr<Layout> FromFiles(const std::vector<std::string>& paths) {
  Layout layout;
  for (const std::string& path : paths) {
    TESSERA_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(path));
    for (std::string& name : file.Names()) {
      auto [it, inserted] = layout.tensor_file.try_emplace(std::move(name), path);
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat("tensor '", it->first, "' is in both ",
                                                       it->second, " and ", path));
      }
    }
    layout.files.emplace(path, std::move(file));
  }
  return layout;
}

// nullopt when `dir` holds neither an index nor any safetensors file.
StatusOr<std::optional<Layout>> FromDir(const fs::path& dir) {
  std::error_code ec;
  const fs::path index = dir / kIndexName;
  if (fs::is_regular_file(index, ec)) return FromIndex(dir, index);
  TESSERA_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListSafetensors(dir));
  if (paths.empty()) return std::optional<Layout>();
  return FromFiles(paths);
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.starts_with(prefix); }

// Names decide, not folders: a converted checkpoint may put either naming anywhere.
TensorNaming DetectNaming(const std::map<std::string, std::string, std::less<>>& tensors,
                          bool from_original, const std::string& dir) {
  bool hf = false, original = false;
  for (const auto& [name, file] : tensors) {
    if (StartsWith(name, "model.") || StartsWith(name, "lm_head.")) {
      hf = true;
    } else if (StartsWith(name, "block.") || name == "embedding.weight" ||
               name == "unembedding.weight" || name == "norm.scale") {
      original = true;
    }
  }
  if (hf && original) {
    Logger("checkpoint")->warn("{}: mixes HuggingFace (model.*) and original (block.*) tensor "
                               "names; using HuggingFace naming", dir);
  }
  if (hf) return TensorNaming::kHuggingFace;
  if (original) return TensorNaming::kOriginal;
  return from_original ? TensorNaming::kOriginal : TensorNaming::kHuggingFace;
}

}  // namespace

StatusOr<Checkpoint> Checkpoint::Open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("checkpoint directory ", dir, " does not exist"));
  }
  Checkpoint c;
  c.dir_ = dir;
  c.config_dir_ = dir;
  TESSERA_ASSIGN_OR_RETURN(std::optional<Layout> layout, FromDir(dir));
  bool from_original = false;
  if (!layout) {
    const fs::path original = fs::path(dir) / "original";
    if (fs::is_directory(original, ec)) {
      TESSERA_ASSIGN_OR_RETURN(layout, FromDir(original));
      from_original = true;
      c.config_dir_ = original.string();
    }
  }
  if (!layout) {
    return absl::NotFoundError(absl::StrCat("no safetensors files in ", dir, " (looked for ",
                                            kIndexName, ", *.safetensors and original/)"));
  }
  c.naming_ = DetectNaming(layout->tensor_file, from_original, dir);
  c.tensor_file_ = std::move(layout->tensor_file);
  *c.files_ = std::move(layout->files);
  Logger("checkpoint")->info("opened {}: {} tensors, {} naming", c.config_dir_,
                             c.tensor_file_.size(),
                             c.naming_ == TensorNaming::kOriginal ? "original" : "HuggingFace");
  return c;
}

bool Checkpoint::Has(std::string_view name) const { return tensor_file_.contains(name); }

StatusOr<TensorView> Checkpoint::Get(std::string_view name) const {
  auto it = tensor_file_.find(name);
  if (it == tensor_file_.end()) {
    return absl::NotFoundError(absl::StrCat(dir_, ": no tensor '", Sv(name), "' in checkpoint"));
  }
  const SafetensorsFile* file = nullptr;
  {
    // Held while mapping so two threads never open the same shard; map nodes never move or
    // go away, so the pointer stays good after unlocking.
    std::lock_guard<std::mutex> lock(*mu_);
    auto f = files_->find(it->second);
    if (f == files_->end()) {
      TESSERA_ASSIGN_OR_RETURN(SafetensorsFile opened, SafetensorsFile::Open(it->second));
      f = files_->emplace(it->second, std::move(opened)).first;
    }
    file = &f->second;
  }
  // The index may promise a tensor the shard lacks: this error names both.
  return file->Get(name);
}

std::vector<std::string> Checkpoint::Names() const {
  std::vector<std::string> names;
  names.reserve(tensor_file_.size());
  for (const auto& [name, file] : tensor_file_) names.push_back(name);
  return names;
}

}  // namespace tessera
