// safetensors files: a memory-mapped, bounds-checked reader and a streaming writer.
//
// Format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data section; offsets are relative to the data section's start.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "core/status.h"

namespace tessera {

enum class DType { kBool, kU8, kI8, kU16, kI16, kF16, kBF16, kU32, kI32, kF32, kU64, kI64, kF64 };

std::size_t DTypeSize(DType t);
std::string_view DTypeName(DType t);  // "BF16", "U8", ...
StatusOr<DType> ParseDType(std::string_view name);

// A tensor inside a mapped file. `bytes` points into the mapping: nothing is read until touched.
struct TensorView {
  std::string name;
  DType dtype = DType::kU8;
  std::vector<std::int64_t> shape;
  std::span<const std::uint8_t> bytes;
  std::string file;  // path of the file holding it, for error messages

  std::int64_t numel() const;
};

// A validated header: what SafetensorsFile::ParseHeader extracts from a file's bytes.
struct SafetensorsHeader {
  struct Tensor {
    DType dtype = DType::kU8;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0, end = 0;  // absolute offsets in the file
  };
  std::map<std::string, Tensor, std::less<>> tensors;
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // 8 + header length
};

class SafetensorsFile {
 public:
  // Maps `path` and validates the header: JSON well-formed, known dtypes, every tensor's
  // [begin, end) inside the data section and equal to numel * dtype size. Errors name the file
  // and, where one is at fault, the tensor.
  static StatusOr<SafetensorsFile> Open(const std::string& path);

  // The validation behind Open, on the bytes of a whole file (only the first 8 + N are read);
  // `path` is used in error messages only.
  static StatusOr<SafetensorsHeader> ParseHeader(std::span<const std::uint8_t> file,
                                                 std::string_view path);

  bool Has(std::string_view name) const;
  // The view's bytes stay valid while this SafetensorsFile (or what it was moved into) lives.
  StatusOr<TensorView> Get(std::string_view name) const;
  std::vector<std::string> Names() const;  // sorted
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const std::string& path() const { return file_.path(); }

 private:
  MappedFile file_;
  SafetensorsHeader header_;
};

// Writes one safetensors file without holding all tensors in memory: each tensor's bytes are
// produced by its fill callback at write time, in the order added.
class SafetensorsWriter {
 public:
  // Called once per tensor with a zeroed buffer of exactly its byte size; may be empty (zeros).
  using Fill = std::function<void(std::span<std::uint8_t>)>;

  // Invalid names or shapes (duplicate, negative dims, overflow) are reported by Write.
  void Add(std::string name, DType dtype, std::vector<std::int64_t> shape, Fill fill);
  void AddMetadata(std::string key, std::string value);
  // Total bytes of tensor data added so far.
  std::uint64_t data_bytes() const { return data_bytes_; }
  // Writes `path + ".tmp"`, then renames it onto `path`: readers never see a partial file.
  // Header entries follow insertion order with contiguous offsets; the data section starts at an
  // 8-byte aligned offset. Memory use is about the largest tensor, not the file.
  Status Write(const std::string& path) const;

 private:
  struct Pending {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    Fill fill;
  };
  std::vector<Pending> tensors_;
  std::map<std::string, std::string> metadata_;
  std::uint64_t data_bytes_ = 0;
};

}  // namespace tessera
