// libFuzzer target for the tokenizer: any byte string (valid UTF-8 or not) must decode back to
// itself after EncodeOrdinary and after EncodeWithSpecials (specials decode to their strings),
// and every id must lie inside the vocabulary.
//
// Build (clang; `apt-get install -y clang` if missing):
//   CC=clang CXX=clang++ cmake -G Ninja -S . -B build-fuzz -DTESSERA_FUZZ=ON \
//     -DCMAKE_BUILD_TYPE=RelWithDebInfo \
//     -DCMAKE_C_FLAGS="-fsanitize=address,undefined" \
//     -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined"
//   cmake --build build-fuzz -j2 --target tokenizer_fuzz
//   build-fuzz/tokenizer/tokenizer_fuzz -max_len=4096 -max_total_time=600 corpus_dir/
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tokenizer/tokenizer.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

const tessera::Tokenizer& Instance() {
  static const tessera::Tokenizer* tok = [] {
    auto t = tessera::Tokenizer::Default();
    if (!t.ok()) {
      std::fprintf(stderr, "tokenizer_fuzz: %s\n", t.status().ToString().c_str());
      std::abort();
    }
    return new tessera::Tokenizer(std::move(t).value());
  }();
  return *tok;
}

void CheckRoundTrip(const tessera::Tokenizer& tok, std::string_view text,
                    const std::vector<tessera::TokenId>& ids) {
  for (tessera::TokenId id : ids) Check(id < tok.vocab_size());
  auto back = tok.Decode(ids);
  Check(back.ok());
  Check(*back == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const tessera::Tokenizer& tok = Instance();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<tessera::TokenId> ordinary = tok.EncodeOrdinary(text);
  for (tessera::TokenId id : ordinary) Check(!tok.IsSpecial(id));
  CheckRoundTrip(tok, text, ordinary);
  CheckRoundTrip(tok, text, tok.EncodeWithSpecials(text));
  return 0;
}
