#include "checkpoint/checkpoint.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tessera {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Each tensor is F32 [2] holding {seed, seed + 0.5}, seed derived from its name, so a tensor
// read from the wrong file or offset shows up.
float Seed(const std::string& name) { return static_cast<float>(std::hash<std::string>{}(name) % 1000); }

void WriteShard(const std::string& path, const std::vector<std::string>& names) {
  SafetensorsWriter w;
  for (const std::string& name : names) {
    w.Add(name, DType::kF32, {2}, [name](std::span<std::uint8_t> out) {
      const float v[2] = {Seed(name), Seed(name) + 0.5f};
      std::memcpy(out.data(), v, sizeof(v));
    });
  }
  ASSERT_TRUE(w.Write(path).ok()) << path;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

void WriteIndex(const std::string& dir, const std::map<std::string, std::string>& weight_map) {
  nlohmann::json j;
  j["metadata"]["total_size"] = 0;
  j["weight_map"] = weight_map;
  WriteText(dir + "/model.safetensors.index.json", j.dump(2));
}

void ExpectTensor(const Checkpoint& c, const std::string& name, const std::string& file) {
  SCOPED_TRACE(name);
  StatusOr<TensorView> t = c.Get(name);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name, name);
  EXPECT_EQ(t->dtype, DType::kF32);
  EXPECT_THAT(t->shape, ElementsAre(2));
  EXPECT_EQ(t->file, file);
  ASSERT_EQ(t->bytes.size(), 8u);
  float v[2];
  std::memcpy(v, t->bytes.data(), sizeof(v));
  EXPECT_EQ(v[0], Seed(name));
  EXPECT_EQ(v[1], Seed(name) + 0.5f);
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = testing::TempDir() + "tessera_ckpt_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

TEST_F(CheckpointTest, SingleFileHuggingFace) {
  WriteText(Path("config.json"), "{}");
  WriteShard(Path("model.safetensors"), {"model.embed_tokens.weight", "lm_head.weight"});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->naming(), TensorNaming::kHuggingFace);
  EXPECT_EQ(c->dir(), dir_);
  EXPECT_EQ(c->config_dir(), dir_);
  EXPECT_THAT(c->Names(), ElementsAre("lm_head.weight", "model.embed_tokens.weight"));
  EXPECT_TRUE(c->Has("lm_head.weight"));
  EXPECT_FALSE(c->Has("lm_head"));
  ExpectTensor(*c, "lm_head.weight", Path("model.safetensors"));
  ExpectTensor(*c, "model.embed_tokens.weight", Path("model.safetensors"));

  StatusOr<TensorView> missing = c->Get("model.norm.weight");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("model.norm.weight"));
  EXPECT_THAT(missing.status().message(), HasSubstr(dir_));
}

TEST_F(CheckpointTest, ShardedWithIndex) {
  const std::string a = "model-00001-of-00002.safetensors", b = "model-00002-of-00002.safetensors";
  WriteShard(Path(a), {"model.layers.0.w", "model.embed_tokens.weight"});
  WriteShard(Path(b), {"model.layers.1.w", "lm_head.weight"});
  WriteIndex(dir_, {{"model.layers.0.w", a},
                    {"model.embed_tokens.weight", a},
                    {"model.layers.1.w", b},
                    {"lm_head.weight", b}});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->naming(), TensorNaming::kHuggingFace);
  EXPECT_EQ(c->Names().size(), 4u);
  ExpectTensor(*c, "model.layers.0.w", Path(a));
  ExpectTensor(*c, "model.layers.1.w", Path(b));
  ExpectTensor(*c, "lm_head.weight", Path(b));
  ExpectTensor(*c, "model.embed_tokens.weight", Path(a));
}

TEST_F(CheckpointTest, IndexNamingMissingShardIsNotFound) {
  WriteShard(Path("model-00001-of-00002.safetensors"), {"model.a"});
  WriteIndex(dir_, {{"model.a", "model-00001-of-00002.safetensors"},
                    {"model.b", "model-00002-of-00002.safetensors"}});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("model-00002-of-00002.safetensors"));
  EXPECT_THAT(c.status().message(), HasSubstr("model.b"));
}

TEST_F(CheckpointTest, IndexMustStayInsideTheDirectory) {
  WriteShard(Path("model.safetensors"), {"model.a"});
  WriteIndex(dir_, {{"model.a", "../model.safetensors"}});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("../model.safetensors"));
}

TEST_F(CheckpointTest, CorruptIndexIsAnError) {
  WriteShard(Path("model.safetensors"), {"model.a"});
  WriteText(Path("model.safetensors.index.json"), "{\"weight_map\": [");
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("model.safetensors.index.json"));
}

// Shards are parsed at first use: a broken shard fails the Get that needs it, with its name,
// and leaves the other shards readable.
TEST_F(CheckpointTest, IndexedShardHeadersAreCheckedLazily) {
  WriteShard(Path("good.safetensors"), {"model.good"});
  WriteText(Path("broken.safetensors"), std::string("\x10\0\0\0\0\0\0\0{\"x\":", 13));
  WriteShard(Path("other.safetensors"), {"model.elsewhere"});
  WriteIndex(dir_, {{"model.good", "good.safetensors"},
                    {"model.bad", "broken.safetensors"},
                    {"model.promised", "other.safetensors"}});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectTensor(*c, "model.good", Path("good.safetensors"));

  StatusOr<TensorView> bad = c->Get("model.bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr(Path("broken.safetensors")));
  // Asking again reports the same error instead of handing out a half-opened file.
  EXPECT_EQ(c->Get("model.bad").status(), bad.status());

  // The index promises a tensor its shard does not hold.
  StatusOr<TensorView> promised = c->Get("model.promised");
  EXPECT_EQ(promised.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(promised.status().message(), HasSubstr(Path("other.safetensors")));
  EXPECT_THAT(promised.status().message(), HasSubstr("model.promised"));
}

TEST_F(CheckpointTest, UnindexedShardsAreMergedFromHeaders) {
  WriteShard(Path("b.safetensors"), {"model.b1", "model.b2"});
  WriteShard(Path("a.safetensors"), {"model.a1"});
  WriteText(Path("notes.txt"), "not a shard");
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->Names(), ElementsAre("model.a1", "model.b1", "model.b2"));
  ExpectTensor(*c, "model.a1", Path("a.safetensors"));
  ExpectTensor(*c, "model.b2", Path("b.safetensors"));
}

TEST_F(CheckpointTest, DuplicateTensorAcrossFilesIsAnError) {
  WriteShard(Path("a.safetensors"), {"model.x", "model.shared"});
  WriteShard(Path("b.safetensors"), {"model.shared"});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("'model.shared'"));
  EXPECT_THAT(c.status().message(), HasSubstr(Path("a.safetensors")));
  EXPECT_THAT(c.status().message(), HasSubstr(Path("b.safetensors")));
}

TEST_F(CheckpointTest, UnindexedShardHeadersAreCheckedAtOpen) {
  WriteShard(Path("a.safetensors"), {"model.x"});
  WriteText(Path("b.safetensors"), "short");
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr(Path("b.safetensors")));
}

TEST_F(CheckpointTest, OriginalLayout) {
  fs::create_directory(Path("original"));
  WriteText(Path("original/config.json"), "{}");
  WriteShard(Path("original/model.safetensors"),
             {"embedding.weight", "block.0.attn.qkv.weight", "unembedding.weight"});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->naming(), TensorNaming::kOriginal);
  EXPECT_EQ(c->dir(), dir_);
  EXPECT_EQ(fs::path(c->config_dir()), fs::path(Path("original")));
  ExpectTensor(*c, "block.0.attn.qkv.weight", Path("original/model.safetensors"));
}

TEST_F(CheckpointTest, OriginalLayoutWithSeveralFiles) {
  fs::create_directory(Path("original"));
  WriteShard(Path("original/model--00001-of-00002.safetensors"), {"embedding.weight"});
  WriteShard(Path("original/model--00002-of-00002.safetensors"), {"block.0.mlp.gate.weight"});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->naming(), TensorNaming::kOriginal);
  EXPECT_EQ(c->Names().size(), 2u);
  ExpectTensor(*c, "block.0.mlp.gate.weight", Path("original/model--00002-of-00002.safetensors"));
}

TEST_F(CheckpointTest, HuggingFaceLayoutWinsOverOriginal) {
  WriteShard(Path("model.safetensors"), {"model.embed_tokens.weight"});
  fs::create_directory(Path("original"));
  WriteShard(Path("original/model.safetensors"), {"embedding.weight"});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->naming(), TensorNaming::kHuggingFace);
  EXPECT_EQ(c->config_dir(), dir_);
  EXPECT_FALSE(c->Has("embedding.weight"));
}

TEST_F(CheckpointTest, OriginalNamesAtTopLevelAreDetected) {
  WriteShard(Path("model.safetensors"), {"embedding.weight", "block.0.attn.sinks"});
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->naming(), TensorNaming::kOriginal);
  EXPECT_EQ(c->config_dir(), dir_);
}

TEST_F(CheckpointTest, NoSafetensorsIsNotFound) {
  WriteText(Path("config.json"), "{}");
  fs::create_directory(Path("original"));
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr(dir_));

  StatusOr<Checkpoint> absent = Checkpoint::Open(Path("nowhere"));
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(absent.status().message(), HasSubstr(Path("nowhere")));
}

TEST_F(CheckpointTest, ConcurrentGetsMapEachShardOnce) {
  std::map<std::string, std::string> weight_map;
  for (int s = 0; s < 4; ++s) {
    std::vector<std::string> names;
    for (int t = 0; t < 8; ++t) names.push_back("model." + std::to_string(s) + "." + std::to_string(t));
    const std::string file = "shard" + std::to_string(s) + ".safetensors";
    WriteShard(Path(file), names);
    for (const std::string& n : names) weight_map[n] = file;
  }
  WriteIndex(dir_, weight_map);
  StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
  ASSERT_TRUE(c.ok()) << c.status();

  const std::vector<std::string> names = c->Names();
  std::vector<std::vector<const std::uint8_t*>> seen(8, std::vector<const std::uint8_t*>(names.size()));
  std::vector<std::thread> threads;
  for (int th = 0; th < 8; ++th) {
    threads.emplace_back([&, th] {
      for (std::size_t i = 0; i < names.size(); ++i) {
        StatusOr<TensorView> t = c->Get(names[(i + th * 5) % names.size()]);
        if (t.ok()) seen[th][(i + th * 5) % names.size()] = t->bytes.data();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (std::size_t i = 0; i < names.size(); ++i) {
    SCOPED_TRACE(names[i]);
    ASSERT_NE(seen[0][i], nullptr);
    // Same address from every thread: one mapping per shard, not one per caller.
    for (int th = 1; th < 8; ++th) EXPECT_EQ(seen[th][i], seen[0][i]);
  }
}

TEST_F(CheckpointTest, CopiesShareMappingsAndOutliveTheOriginal) {
  WriteShard(Path("model.safetensors"), {"model.a"});
  WriteIndex(dir_, {{"model.a", "model.safetensors"}});
  std::optional<Checkpoint> copy;
  {
    StatusOr<Checkpoint> c = Checkpoint::Open(dir_);
    ASSERT_TRUE(c.ok()) << c.status();
    copy = *c;
    StatusOr<TensorView> first = c->Get("model.a");
    ASSERT_TRUE(first.ok());
    StatusOr<TensorView> again = copy->Get("model.a");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(first->bytes.data(), again->bytes.data());
  }
  ExpectTensor(*copy, "model.a", Path("model.safetensors"));
}

TEST(CheckpointDefaultTest, DefaultConstructedHasNoTensors) {
  Checkpoint c;
  EXPECT_FALSE(c.Has("x"));
  EXPECT_EQ(c.Get("x").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tessera
