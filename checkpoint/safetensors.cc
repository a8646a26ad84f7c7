#include "checkpoint/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"

namespace tessera {
namespace {

// Real headers are well under 1 MiB even for 100B-parameter models; anything near this limit
// is a corrupt length field, and refusing it keeps us from parsing gigabytes of garbage.
constexpr std::uint64_t kMaxHeaderBytes = std::uint64_t{100} << 20;

struct DTypeInfo {
  DType type;
  std::string_view name;
  std::size_t size;
};

// Indexed by the enum's value.
constexpr std::array<DTypeInfo, 13> kDTypes = {{
    {DType::kBool, "BOOL", 1}, {DType::kU8, "U8", 1},     {DType::kI8, "I8", 1},
    {DType::kU16, "U16", 2},   {DType::kI16, "I16", 2},   {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2}, {DType::kU32, "U32", 4},   {DType::kI32, "I32", 4},
    {DType::kF32, "F32", 4},   {DType::kU64, "U64", 8},   {DType::kI64, "I64", 8},
    {DType::kF64, "F64", 8},
}};

constexpr bool TableMatchesEnum() {
  for (std::size_t i = 0; i < kDTypes.size(); ++i) {
    if (static_cast<std::size_t>(kDTypes[i].type) != i) return false;
  }
  return true;
}
static_assert(TableMatchesEnum(), "kDTypes must follow the order of enum DType");

// numel * itemsize; nullopt for negative dims or when the count does not fit in int64.
std::optional<std::uint64_t> ByteSize(DType dtype, std::span<const std::int64_t> shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<std::int64_t>(DTypeSize(dtype)), &bytes)) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(bytes);
}

// absl here is built with its own string_view, which StrCat needs.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

std::string ShapeString(std::span<const std::int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

using nlohmann::json;

// Parses one tensor entry; data offsets come back absolute (shifted by data_start).
StatusOr<SafetensorsHeader::Tensor> ParseEntry(const json& v, std::string_view name,
                                               std::string_view path, std::uint64_t data_start,
                                               std::uint64_t data_size) {
  auto bad = [&](auto&&... parts) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(path), ": tensor '", Sv(name), "': ", parts...));
  };
  if (!v.is_object()) return bad("entry is not a JSON object");

  SafetensorsHeader::Tensor t;
  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) return bad("missing or non-string \"dtype\"");
  StatusOr<DType> dtype = ParseDType(dt->get_ref<const std::string&>());
  if (!dtype.ok()) return bad("unknown dtype \"", dt->get_ref<const std::string&>(), "\"");
  t.dtype = *dtype;

  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) return bad("missing or non-array \"shape\"");
  for (const json& d : *sh) {
    // type_name, not dump(): dumping a nested value recurses once per level.
    if (!d.is_number_integer()) return bad("\"shape\" holds a ", d.type_name(), ", not an integer");
    if (d.is_number_unsigned()) {
      if (d.get<std::uint64_t>() > std::uint64_t{std::numeric_limits<std::int64_t>::max()}) {
        return bad("dimension ", d.get<std::uint64_t>(), " is too large");
      }
    } else if (d.get<std::int64_t>() < 0) {
      return bad("negative dimension ", d.get<std::int64_t>());
    }
    t.shape.push_back(d.get<std::int64_t>());
  }

  // Non-negative JSON integers parse as unsigned, so this also rejects negative offsets.
  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned()) {
    return bad("\"data_offsets\" must be two non-negative integers");
  }
  const std::uint64_t begin = (*off)[0].get<std::uint64_t>();
  const std::uint64_t end = (*off)[1].get<std::uint64_t>();
  if (begin > end) return bad("data_offsets [", begin, ", ", end, "] are reversed");
  if (end > data_size) {
    return bad("data_offsets [", begin, ", ", end, "] run past the data section (", data_size,
               " bytes; file truncated?)");
  }
  std::optional<std::uint64_t> bytes = ByteSize(t.dtype, t.shape);
  if (!bytes) return bad("shape ", ShapeString(t.shape), " overflows the byte count");
  if (end - begin != *bytes) {
    return bad("data_offsets [", begin, ", ", end, "] hold ", end - begin, " bytes but shape ",
               ShapeString(t.shape), " of ", Sv(DTypeName(t.dtype)), " needs ", *bytes);
  }
  t.begin = data_start + begin;
  t.end = data_start + end;
  return t;
}

Status CheckNoOverlap(const SafetensorsHeader& h, std::string_view path) {
  std::vector<std::pair<const std::string*, const SafetensorsHeader::Tensor*>> spans;
  for (const auto& [name, t] : h.tensors) {
    if (t.end > t.begin) spans.emplace_back(&name, &t);  // empty tensors occupy nothing
  }
  std::sort(spans.begin(), spans.end(),
            [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  for (std::size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].second->begin < spans[i - 1].second->end) {
      return absl::InvalidArgumentError(absl::StrCat(Sv(path), ": tensor '", *spans[i].first,
                                                     "' overlaps tensor '", *spans[i - 1].first,
                                                     "'"));
    }
  }
  return absl::OkStatus();
}

// Writes all of `data`, retrying on short writes and EINTR.
Status WriteAll(int fd, std::span<const std::uint8_t> data, const std::string& path) {
  while (!data.empty()) {
    const std::size_t chunk = std::min<std::size_t>(data.size(), std::size_t{1} << 30);
    const ssize_t n = ::write(fd, data.data(), chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::ErrnoToStatus(n < 0 ? errno : ENOSPC, absl::StrCat("writing ", path));
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

// Closes and deletes a partly written temp file unless the write was committed, so errors
// (and exceptions thrown by fill callbacks) leave no debris next to the target.
struct TempFile {
  int fd = -1;
  std::string path;
  bool committed = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!committed) ::unlink(path.c_str());
  }
};

}  // namespace

std::size_t DTypeSize(DType t) { return kDTypes[static_cast<std::size_t>(t)].size; }

std::string_view DTypeName(DType t) { return kDTypes[static_cast<std::size_t>(t)].name; }

StatusOr<DType> ParseDType(std::string_view name) {
  for (const DTypeInfo& d : kDTypes) {
    if (d.name == name) return d.type;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown dtype \"", Sv(name), "\""));
}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

StatusOr<SafetensorsHeader> SafetensorsFile::ParseHeader(std::span<const std::uint8_t> file,
                                                         std::string_view path) {
  auto bad = [&](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(path), ": ", parts...));
  };
  if (file.size() < 8) {
    return bad("file is ", file.size(), " bytes, shorter than the 8-byte header length");
  }
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= std::uint64_t{file[i]} << (8 * i);  // little-endian
  if (n > kMaxHeaderBytes) return bad("header length ", n, " is absurd (limit ", kMaxHeaderBytes, ")");
  if (n > file.size() - 8) {
    return bad("header length ", n, " runs past the end of the file (", file.size(), " bytes)");
  }

  json j;
  try {
    const char* text = reinterpret_cast<const char*>(file.data() + 8);
    j = json::parse(text, text + n);
  } catch (const json::exception& e) {
    return bad("header is not valid JSON: ", e.what());
  }
  if (!j.is_object()) return bad("header is not a JSON object");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  const std::uint64_t data_size = file.size() - h.data_start;
  for (const auto& [key, value] : j.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return bad("__metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) return bad("__metadata__ value for key '", k, "' is not a string");
        h.metadata.emplace(k, v.get<std::string>());
      }
      continue;
    }
    TESSERA_ASSIGN_OR_RETURN(SafetensorsHeader::Tensor t,
                             ParseEntry(value, key, path, h.data_start, data_size));
    h.tensors.emplace(key, std::move(t));
  }
  TESSERA_RETURN_IF_ERROR(CheckNoOverlap(h, path));
  return h;
}

StatusOr<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  // Mapping reads nothing; ParseHeader touches only the pages holding the header.
  TESSERA_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::Open(path));
  TESSERA_ASSIGN_OR_RETURN(SafetensorsHeader header, ParseHeader(mapped.bytes(), path));
  SafetensorsFile f;
  f.file_ = std::move(mapped);
  f.header_ = std::move(header);
  return f;
}

bool SafetensorsFile::Has(std::string_view name) const { return header_.tensors.contains(name); }

StatusOr<TensorView> SafetensorsFile::Get(std::string_view name) const {
  auto it = header_.tensors.find(name);
  if (it == header_.tensors.end()) {
    return absl::NotFoundError(absl::StrCat(path(), ": no tensor '", Sv(name), "'"));
  }
  const SafetensorsHeader::Tensor& t = it->second;
  TensorView v;
  v.name = it->first;
  v.dtype = t.dtype;
  v.shape = t.shape;
  v.bytes = file_.bytes().subspan(t.begin, t.end - t.begin);  // bounds checked by ParseHeader
  v.file = path();
  return v;
}

std::vector<std::string> SafetensorsFile::Names() const {
  std::vector<std::string> names;
  names.reserve(header_.tensors.size());
  for (const auto& [name, t] : header_.tensors) names.push_back(name);
  return names;
}

void SafetensorsWriter::Add(std::string name, DType dtype, std::vector<std::int64_t> shape,
                            Fill fill) {
  data_bytes_ += ByteSize(dtype, shape).value_or(0);  // bad shapes are reported by Write
  tensors_.push_back({std::move(name), dtype, std::move(shape), std::move(fill)});
}

void SafetensorsWriter::AddMetadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

Status SafetensorsWriter::Write(const std::string& path) const {
  // Header first: it needs every offset, and validating up front means a bad tensor list
  // fails before anything touches the disk.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  std::set<std::string_view> seen;
  std::vector<std::uint64_t> sizes;
  std::uint64_t offset = 0;
  for (const Pending& t : tensors_) {
    auto bad = [&](auto&&... parts) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": tensor '", t.name, "': ", parts...));
    };
    if (t.name == "__metadata__") return bad("reserved name");
    if (!seen.insert(t.name).second) return bad("added twice");
    std::optional<std::uint64_t> bytes = ByteSize(t.dtype, t.shape);
    if (!bytes) return bad("shape ", ShapeString(t.shape), " is negative or overflows");
    std::uint64_t end = 0;
    if (__builtin_add_overflow(offset, *bytes, &end)) return bad("data section overflows");
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = std::string(DTypeName(t.dtype));
    entry["shape"] = t.shape;
    entry["data_offsets"] = nlohmann::ordered_json::array({offset, end});
    header[t.name] = std::move(entry);
    sizes.push_back(*bytes);
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": tensor names and metadata must be valid UTF-8: ", e.what()));
  }
  // Spaces are JSON whitespace: padding lets the data section start 8-byte aligned, so
  // mapped tensors of every dtype are aligned as long as the tensors before them are.
  text.append((8 - text.size() % 8) % 8, ' ');

  TempFile tmp;
  tmp.path = path + ".tmp";
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (tmp.fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("creating ", tmp.path));

  std::array<std::uint8_t, 8> prefix{};
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<std::uint8_t>(text.size() >> (8 * i));
  TESSERA_RETURN_IF_ERROR(WriteAll(tmp.fd, prefix, tmp.path));
  TESSERA_RETURN_IF_ERROR(WriteAll(
      tmp.fd, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, tmp.path));

  // One reused buffer: the footprint is the largest tensor, not the file.
  std::vector<std::uint8_t> buf;
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    buf.assign(sizes[i], 0);  // zeroed so a partial fill cannot leak the previous tensor
    std::span<std::uint8_t> out(buf.data(), buf.size());
    if (tensors_[i].fill) tensors_[i].fill(out);
    TESSERA_RETURN_IF_ERROR(WriteAll(tmp.fd, out, tmp.path));
  }

  // fsync before rename so a crash cannot leave `path` naming a file with missing data;
  // it also surfaces late write errors (ENOSPC on network filesystems).
  if (::fsync(tmp.fd) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("syncing ", tmp.path));
  const int fd = std::exchange(tmp.fd, -1);
  if (::close(fd) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("closing ", tmp.path));
  if (std::rename(tmp.path.c_str(), path.c_str()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("renaming ", tmp.path, " to ", path));
  }
  tmp.committed = true;
  return absl::OkStatus();
}

}  // namespace tessera
