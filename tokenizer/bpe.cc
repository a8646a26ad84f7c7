#include "tokenizer/bpe.h"

#include <algorithm>
#include <queue>

#include "absl/container/inlined_vector.h"

namespace tessera::tokenizer_internal {
namespace {

// Pieces up to this many bytes merge with the quadratic scan (fewer allocations, cache friendly);
// longer ones (runs of CJK text, long identifiers) use the heap so the cost stays O(n log n).
constexpr std::size_t kHeapThreshold = 96;

}  // namespace

void BpeRanks::Add(std::string_view bytes, TokenId rank) {
  pending_.push_back({rank, static_cast<std::uint32_t>(staging_.size()),
                      static_cast<std::uint32_t>(bytes.size())});
  staging_.append(bytes);
}

Status BpeRanks::Finish() {
  std::sort(pending_.begin(), pending_.end(),
            [](const Pending& a, const Pending& b) { return a.rank < b.rank; });
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    if (pending_[i].rank != i) {
      return absl::InvalidArgumentError(
          i > 0 && pending_[i].rank == pending_[i - 1].rank
              ? absl::StrCat("rank ", pending_[i].rank, " appears twice")
              : absl::StrCat("ranks must be 0..n-1; rank ", i, " is missing"));
    }
    if (pending_[i].size == 0) {
      return absl::InvalidArgumentError(absl::StrCat("rank ", i, " is empty"));
    }
  }
  arena_.clear();
  arena_.reserve(staging_.size());
  offsets_.assign(1, 0);
  offsets_.reserve(pending_.size() + 1);
  for (const Pending& p : pending_) {
    arena_.append(staging_, p.offset, p.size);
    offsets_.push_back(static_cast<std::uint32_t>(arena_.size()));
  }
  staging_ = std::string();
  pending_ = std::vector<Pending>();

  // Views into arena_ are taken only now that it no longer grows.
  map_.clear();
  map_.reserve(size());
  max_len_ = 0;
  byte_rank_.fill(kNoRank);
  for (TokenId r = 0; r < size(); ++r) {
    std::string_view bytes = Bytes(r);
    absl::string_view key(bytes.data(), bytes.size());
    if (!map_.emplace(key, r).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("ranks ", map_[key], " and ", r, " have the same bytes"));
    }
    max_len_ = std::max(max_len_, bytes.size());
    if (bytes.size() == 1) byte_rank_[static_cast<unsigned char>(bytes[0])] = r;
  }
  for (int b = 0; b < 256; ++b) {
    if (byte_rank_[b] == kNoRank) {
      return absl::InvalidArgumentError(absl::StrCat("no rank for the single byte ", b));
    }
  }
  return absl::OkStatus();
}

void BpeRanks::Encode(std::string_view piece, std::vector<TokenId>* out) const {
  if (piece.size() == 1) {
    out->push_back(byte_rank_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (TokenId whole = Find(piece); whole != kNoRank) {
    out->push_back(whole);
    return;
  }
  EncodeMerge(piece, out);
}

void BpeRanks::EncodeMerge(std::string_view piece, std::vector<TokenId>* out) const {
  if (piece.size() <= kHeapThreshold) {
    EncodeQuadratic(piece, out);
  } else {
    EncodeHeap(piece, out);
  }
}

// Same procedure as tiktoken's reference merge: keep the part boundaries in an array, and merge
// the leftmost adjacent pair whose concatenation has the lowest rank until no pair is a token.
void BpeRanks::EncodeQuadratic(std::string_view piece, std::vector<TokenId>* out) const {
  struct Part {
    std::uint32_t start;
    TokenId pair_rank;  // rank of this part joined with the next one
  };
  const std::size_t n = piece.size();
  if (n == 0) return;
  absl::InlinedVector<Part, kHeapThreshold + 1> parts(n + 1);
  auto span_rank = [&](std::size_t i) {  // rank of parts i and i+1 joined
    if (i + 2 >= parts.size()) return kNoRank;
    return Find(piece.substr(parts[i].start, parts[i + 2].start - parts[i].start));
  };
  for (std::size_t i = 0; i <= n; ++i) parts[i].start = static_cast<std::uint32_t>(i);
  for (std::size_t i = 0; i <= n; ++i) parts[i].pair_rank = span_rank(i);

  while (parts.size() > 2) {
    TokenId best = kNoRank;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      if (parts[i].pair_rank < best) {
        best = parts[i].pair_rank;
        at = i;
      }
    }
    if (best == kNoRank) break;
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    parts[at].pair_rank = span_rank(at);
    if (at > 0) parts[at - 1].pair_rank = span_rank(at - 1);
  }
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    out->push_back(Find(piece.substr(parts[i].start, parts[i + 1].start - parts[i].start)));
  }
}

// The same merge order with a min-heap of candidate pairs keyed by (rank, left position) and a
// linked list of parts. A candidate is stale once either of its parts has merged elsewhere; it
// is recognised by the pair no longer ending where it did when it was pushed.
void BpeRanks::EncodeHeap(std::string_view piece, std::vector<TokenId>* out) const {
  const auto n = static_cast<std::uint32_t>(piece.size());
  if (n == 0) return;
  struct Candidate {
    TokenId rank;
    std::uint32_t left, end;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  // Parts are named by their first byte; next[p] is the start of the following part (n at the end).
  std::vector<std::uint32_t> next(n), prev(n);
  std::vector<char> alive(n, 1);
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](std::uint32_t left, std::uint32_t end) {
    TokenId r = Find(piece.substr(left, end - left));
    if (r != kNoRank) heap.push({r, left, end});
  };
  for (std::uint32_t i = 0; i < n; ++i) {
    next[i] = i + 1;
    prev[i] = i - 1;  // unused for i == 0
  }
  for (std::uint32_t i = 0; i + 1 < n; ++i) push(i, i + 2);

  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    if (!alive[c.left]) continue;
    std::uint32_t right = next[c.left];
    if (right == n || next[right] != c.end) continue;  // stale
    alive[right] = 0;
    next[c.left] = c.end;
    if (c.end < n) prev[c.end] = c.left;
    if (c.left > 0) push(prev[c.left], c.end);
    if (c.end < n) push(c.left, next[c.end]);
  }
  for (std::uint32_t p = 0; p < n; p = next[p]) {
    out->push_back(Find(piece.substr(p, next[p] - p)));
  }
}

}  // namespace tessera::tokenizer_internal
