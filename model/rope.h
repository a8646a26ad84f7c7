// Rotary position embedding with YaRN scaling, NeoX (half-split) pairing: dim i rotates with
// dim i + head_dim/2.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace tessera {

class Rope {
 public:
  Rope(const RopeConfig& rope, int head_dim);

  // Per-pair angular frequencies omega_i, i in [0, head_dim/2).
  const std::vector<float>& inv_freq() const { return inv_freq_; }
  // YaRN's attention scaling ("concentration"), multiplied into cos and sin.
  float concentration() const { return concentration_; }

  // Rotates `num_heads` heads of `head_dim` floats, laid out back to back, for position `pos`.
  void Apply(float* heads, int num_heads, std::int64_t pos) const;

 private:
  int head_dim_;
  float concentration_;
  std::vector<float> inv_freq_;
};

}  // namespace tessera
