#include "checkpoint/safetensors.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tessera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteAllBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string LengthPrefix(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s;
}

// A raw file: length prefix, header text as given, then `data_bytes` bytes of data.
std::string RawFile(const std::string& header, std::size_t data_bytes) {
  return LengthPrefix(header.size()) + header + std::string(data_bytes, '\x5a');
}

// Deterministic bytes that differ per tensor, so mixed-up offsets show up.
void Pattern(std::span<std::uint8_t> out, int seed) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = testing::TempDir() + "tessera_st_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

TEST(SafetensorsDTypeTest, NamesAndSizesRoundTrip) {
  const std::vector<std::pair<const char*, std::size_t>> expected = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"U16", 2}, {"I16", 2}, {"F16", 2}, {"BF16", 2},
      {"U32", 4},  {"I32", 4}, {"F32", 4}, {"U64", 8}, {"I64", 8}, {"F64", 8}};
  for (const auto& [name, size] : expected) {
    StatusOr<DType> t = ParseDType(name);
    ASSERT_TRUE(t.ok()) << name;
    EXPECT_EQ(DTypeName(*t), name);
    EXPECT_EQ(DTypeSize(*t), size) << name;
  }
  EXPECT_FALSE(ParseDType("bf16").ok());
  EXPECT_FALSE(ParseDType("F8_E4M3").ok());
}

TEST_F(SafetensorsTest, RoundTripDtypesShapesAndMetadata) {
  struct Spec {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::size_t bytes;
  };
  const std::vector<Spec> specs = {
      {"z.first", DType::kF32, {2, 3}, 24},   {"a.bf16", DType::kBF16, {5}, 10},
      {"odd.u8", DType::kU8, {3}, 3},          {"empty", DType::kF32, {0}, 0},
      {"empty2d", DType::kBool, {4, 0, 2}, 0}, {"scalar", DType::kI64, {}, 8},
      {"f64", DType::kF64, {1, 1, 2}, 16},     {"i16", DType::kI16, {3}, 6},
  };
  SafetensorsWriter w;
  std::vector<std::size_t> fill_sizes;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    w.Add(specs[i].name, specs[i].dtype, specs[i].shape, [&, i](std::span<std::uint8_t> out) {
      fill_sizes.push_back(out.size());
      Pattern(out, static_cast<int>(i));
    });
  }
  w.AddMetadata("format", "pt");
  w.AddMetadata("note", "tessera test");
  EXPECT_EQ(w.data_bytes(), 24u + 10 + 3 + 0 + 0 + 8 + 16 + 6);
  const std::string path = Path("rt.safetensors");
  ASSERT_TRUE(w.Write(path).ok());
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  // Each tensor was filled once, in insertion order, with a buffer of exactly its size.
  ASSERT_EQ(fill_sizes.size(), specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) EXPECT_EQ(fill_sizes[i], specs[i].bytes);

  // Data section starts 8-byte aligned; header entries keep insertion order.
  const std::string raw = ReadAll(path);
  std::uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(raw.size(), 8 + n + w.data_bytes());
  const std::string header = raw.substr(8, n);
  EXPECT_LT(header.find("\"z.first\""), header.find("\"a.bf16\""));
  EXPECT_LT(header.find("\"a.bf16\""), header.find("\"i16\""));

  StatusOr<SafetensorsFile> f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->path(), path);
  EXPECT_EQ(f->Names().size(), specs.size());
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->metadata().at("note"), "tessera test");
  for (std::size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE(specs[i].name);
    ASSERT_TRUE(f->Has(specs[i].name));
    StatusOr<TensorView> t = f->Get(specs[i].name);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->name, specs[i].name);
    EXPECT_EQ(t->dtype, specs[i].dtype);
    EXPECT_EQ(t->shape, specs[i].shape);
    EXPECT_EQ(t->file, path);
    EXPECT_EQ(static_cast<std::size_t>(t->numel()) * DTypeSize(t->dtype), specs[i].bytes);
    std::vector<std::uint8_t> want(specs[i].bytes);
    Pattern(want, static_cast<int>(i));
    EXPECT_EQ(std::vector<std::uint8_t>(t->bytes.begin(), t->bytes.end()), want);
  }
  // The first tensor sits at the aligned start of the data section.
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(f->Get("z.first")->bytes.data()) % 8, 0u);

  StatusOr<TensorView> missing = f->Get("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(path));
  EXPECT_THAT(missing.status().message(), HasSubstr("nope"));
}

TEST_F(SafetensorsTest, ParseHeaderFromMemoryMatchesOpen) {
  SafetensorsWriter w;
  w.Add("w", DType::kU16, {2, 2}, [](std::span<std::uint8_t> out) { Pattern(out, 1); });
  const std::string path = Path("mem.safetensors");
  ASSERT_TRUE(w.Write(path).ok());
  const std::string raw = ReadAll(path);
  StatusOr<SafetensorsHeader> h = SafetensorsFile::ParseHeader(
      {reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()}, "in-memory");
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->tensors.size(), 1u);
  const SafetensorsHeader::Tensor& t = h->tensors.at("w");
  EXPECT_EQ(t.begin, h->data_start);
  EXPECT_EQ(t.end, h->data_start + 8);
  EXPECT_EQ(t.end, raw.size());
  EXPECT_TRUE(h->metadata.empty());
}

TEST_F(SafetensorsTest, EmptyHeaderObjectIsValid) {
  const std::string path = Path("empty.safetensors");
  WriteAllBytes(path, RawFile("{}      ", 0));
  StatusOr<SafetensorsFile> f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->Names().empty());
}

struct BadCase {
  const char* label;
  std::string bytes;
  std::string tensor;   // must appear in the message when not empty
  std::string keyword;  // identifies which check fired
};

TEST_F(SafetensorsTest, MalformedFilesGiveErrorsNamingFileAndTensor) {
  const auto entry = [](const std::string& body) { return "{\"bad.tensor\":" + body + "}"; };
  const std::vector<BadCase> cases = {
      {"short", "abc", "", "shorter than"},
      {"length only", LengthPrefix(0).substr(0, 7), "", "shorter than"},
      {"header past end", LengthPrefix(1000) + "{}", "", "past the end"},
      {"absurd header", LengthPrefix(std::uint64_t{1} << 40) + "{}", "", "absurd"},
      {"corrupt json", RawFile("{\"a\": [1, ", 0), "", "not valid JSON"},
      {"invalid utf8", RawFile("{\"\xff\": 1}", 0), "", "not valid JSON"},
      {"not object", RawFile("[1, 2]", 0), "", "not a JSON object"},
      {"entry not object", RawFile(entry("[]"), 0), "bad.tensor", "not a JSON object"},
      {"missing dtype", RawFile(entry(R"({"shape":[1],"data_offsets":[0,4]})"), 4), "bad.tensor",
       "dtype"},
      {"dtype not string", RawFile(entry(R"({"dtype":5,"shape":[1],"data_offsets":[0,4]})"), 4),
       "bad.tensor", "dtype"},
      {"unknown dtype", RawFile(entry(R"({"dtype":"F17","shape":[1],"data_offsets":[0,4]})"), 4),
       "bad.tensor", "unknown dtype \"F17\""},
      {"missing shape", RawFile(entry(R"({"dtype":"F32","data_offsets":[0,4]})"), 4), "bad.tensor",
       "shape"},
      {"float dim", RawFile(entry(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})"), 4),
       "bad.tensor", "number, not an integer"},
      {"negative dim", RawFile(entry(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})"), 4),
       "bad.tensor", "negative dimension"},
      {"huge dim",
       RawFile(entry(R"({"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]})"), 4),
       "bad.tensor", "too large"},
      {"overflow",
       RawFile(entry(R"({"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]})"),
               4),
       "bad.tensor", "overflows"},
      {"one offset", RawFile(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[0]})"), 4),
       "bad.tensor", "data_offsets"},
      {"negative offset", RawFile(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})"), 4),
       "bad.tensor", "non-negative"},
      {"reversed", RawFile(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[8,4]})"), 8),
       "bad.tensor", "reversed"},
      {"past data", RawFile(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), 6),
       "bad.tensor", "past the data section"},
      {"size mismatch", RawFile(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})"), 8),
       "bad.tensor", "needs 8"},
      {"overlap",
       RawFile(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
               R"("bad.tensor":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
               8),
       "bad.tensor", "overlaps"},
      {"metadata not object", RawFile(R"({"__metadata__":[1]})", 0), "", "__metadata__"},
      {"metadata value", RawFile(R"({"__metadata__":{"k":1}})", 0), "", "'k' is not a string"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.label);
    const std::string path = Path(std::string("bad_") + std::to_string(&c - cases.data()) +
                                  ".safetensors");
    WriteAllBytes(path, c.bytes);
    StatusOr<SafetensorsFile> f = SafetensorsFile::Open(path);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr(path));
    EXPECT_THAT(f.status().message(), HasSubstr(c.keyword));
    if (!c.tensor.empty()) {
      EXPECT_THAT(f.status().message(), HasSubstr("'" + c.tensor + "'"));
    }
  }
}

// Nesting depth is bounded only by the header size limit; nothing may recurse on it.
TEST_F(SafetensorsTest, DeeplyNestedHeaderDoesNotExhaustTheStack) {
  const std::size_t depth = 1'000'000;
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  const std::string path = Path("deep.safetensors");
  WriteAllBytes(path, RawFile("{\"deep\":{\"dtype\":\"U8\",\"shape\":[" + nested +
                              "],\"data_offsets\":[0,0]}}", 0));
  StatusOr<SafetensorsFile> f = SafetensorsFile::Open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("'deep'"));
  EXPECT_THAT(f.status().message(), HasSubstr("not an integer"));
  EXPECT_LT(f.status().message().size(), 1000u);

  WriteAllBytes(path, RawFile(nested, 0));
  f = SafetensorsFile::Open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("not a JSON object"));
}

TEST_F(SafetensorsTest, TruncatedFilesAreRejectedAtEveryCut) {
  SafetensorsWriter w;
  w.Add("first", DType::kF32, {16}, [](std::span<std::uint8_t> out) { Pattern(out, 2); });
  w.Add("last", DType::kBF16, {8}, [](std::span<std::uint8_t> out) { Pattern(out, 3); });
  const std::string path = Path("full.safetensors");
  ASSERT_TRUE(w.Write(path).ok());
  const std::string raw = ReadAll(path);
  std::uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  const std::vector<std::size_t> cuts = {0, 1, 7, 8, 9, 8 + n / 2, 8 + n - 1, 8 + n,
                                         8 + n + 10, raw.size() - 1};
  for (std::size_t cut : cuts) {
    SCOPED_TRACE(cut);
    const std::string cut_path = Path("cut_" + std::to_string(cut) + ".safetensors");
    WriteAllBytes(cut_path, raw.substr(0, cut));
    StatusOr<SafetensorsFile> f = SafetensorsFile::Open(cut_path);
    ASSERT_FALSE(f.ok());
    EXPECT_THAT(f.status().message(), HasSubstr(cut_path));
    // Cuts inside the data section blame the tensor that no longer fits ("first" is 64 bytes).
    if (cut >= 8 + n) {
      EXPECT_THAT(f.status().message(), HasSubstr(cut < 8 + n + 64 ? "'first'" : "'last'"));
      EXPECT_THAT(f.status().message(), HasSubstr("past the data section"));
    }
  }
  EXPECT_TRUE(SafetensorsFile::Open(path).ok());
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  const std::string path = Path("absent.safetensors");
  StatusOr<SafetensorsFile> f = SafetensorsFile::Open(path);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(f.status().message(), HasSubstr(path));
}

TEST_F(SafetensorsTest, WriterRejectsBadTensorsBeforeWriting) {
  const std::string path = Path("w.safetensors");
  {
    SafetensorsWriter w;
    w.Add("dup", DType::kU8, {1}, nullptr);
    w.Add("dup", DType::kU8, {1}, nullptr);
    Status s = w.Write(path);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("'dup'"));
  }
  {
    SafetensorsWriter w;
    w.Add("neg", DType::kU8, {2, -1}, nullptr);
    Status s = w.Write(path);
    EXPECT_THAT(s.message(), HasSubstr("'neg'"));
    EXPECT_THAT(s.message(), HasSubstr(path));
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST_F(SafetensorsTest, NullFillWritesZeros) {
  SafetensorsWriter w;
  w.Add("a", DType::kU8, {4}, [](std::span<std::uint8_t> out) { Pattern(out, 9); });
  w.Add("zeros", DType::kU8, {4}, nullptr);
  const std::string path = Path("z.safetensors");
  ASSERT_TRUE(w.Write(path).ok());
  StatusOr<SafetensorsFile> f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  StatusOr<TensorView> zeros = f->Get("zeros");
  ASSERT_TRUE(zeros.ok()) << zeros.status();
  EXPECT_EQ(std::vector<std::uint8_t>(zeros->bytes.begin(), zeros->bytes.end()),
            std::vector<std::uint8_t>(4, 0));
}

TEST_F(SafetensorsTest, WriteErrorsNameThePathAndLeaveNoTempFile) {
  {
    const std::string path = Path("no_such_dir/x.safetensors");
    SafetensorsWriter w;
    w.Add("a", DType::kU8, {1}, nullptr);
    Status s = w.Write(path);
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(s.message(), HasSubstr(path));
  }
  // A file size limit makes write() fail mid-file like a full disk does.
  const std::string path = Path("big.safetensors");
  SafetensorsWriter w;
  w.Add("big", DType::kU8, {1 << 20}, [](std::span<std::uint8_t> out) { Pattern(out, 4); });
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 64 * 1024;
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  Status s = w.Write(path);
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST_F(SafetensorsTest, RewriteReplacesFileAtomically) {
  const std::string path = Path("r.safetensors");
  SafetensorsWriter a;
  a.Add("old", DType::kU8, {2}, nullptr);
  ASSERT_TRUE(a.Write(path).ok());
  SafetensorsWriter b;
  b.Add("new", DType::kU8, {3}, nullptr);
  ASSERT_TRUE(b.Write(path).ok());
  StatusOr<SafetensorsFile> f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->Names(), std::vector<std::string>{"new"});
}

}  // namespace
}  // namespace tessera
