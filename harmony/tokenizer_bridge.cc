// The parts of tessera_harmony that need the tokenizer library; built only when it exists.
#include "harmony/parser.h"
#include "harmony/render.h"

namespace tessera::harmony {

std::vector<TokenId> Prompt::RenderIds(const Tokenizer& tokenizer) const {
  std::vector<TokenId> ids;
  for (const Segment& s : segments_) {
    if (s.kind == Segment::Kind::kControl) {
      ids.push_back(s.token);
    } else {
      // Each fragment on its own, as the reference renderer does: control-token strings inside
      // the text stay plain text.
      std::vector<TokenId> piece = tokenizer.EncodeOrdinary(s.text);
      ids.insert(ids.end(), piece.begin(), piece.end());
    }
  }
  return ids;
}

TokenBytes TokenBytesFrom(const Tokenizer& tokenizer) {
  return [&tokenizer](TokenId id) -> std::optional<std::string_view> {
    auto bytes = tokenizer.TokenBytes(id);
    if (!bytes.ok()) return std::nullopt;
    return *bytes;
  };
}

}  // namespace tessera::harmony
