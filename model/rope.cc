#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tessera {
namespace {

// The dimension index at which a rotary pair completes `rotations` turns over the original
// context (the YaRN "correction dim").
double CorrectionDim(double rotations, int dim, double base, double context) {
  return dim * std::log(context / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

}  // namespace

Rope::Rope(const RopeConfig& rope, int head_dim) : head_dim_(head_dim) {
  const int half = head_dim / 2;
  const double ctx = static_cast<double>(rope.original_context);
  double low = CorrectionDim(rope.beta_fast, head_dim, rope.theta, ctx);
  double high = CorrectionDim(rope.beta_slow, head_dim, rope.theta, ctx);
  if (rope.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(head_dim - 1));
  if (high == low) high += 0.001;  // avoid a zero-width ramp
  inv_freq_.resize(half);
  for (int i = 0; i < half; ++i) {
    // Frequencies are computed in fp32, as the reference implementations do.
    float pos_freq = std::pow(static_cast<float>(rope.theta), static_cast<float>(2 * i) / head_dim);
    float extrap = 1.0f / pos_freq;
    float interp = 1.0f / (static_cast<float>(rope.factor) * pos_freq);
    float ramp = static_cast<float>(std::clamp((i - low) / (high - low), 0.0, 1.0));
    inv_freq_[i] = interp * ramp + extrap * (1.0f - ramp);
  }
  concentration_ = rope.factor > 1.0 ? static_cast<float>(0.1 * std::log(rope.factor) + 1.0) : 1.0f;
}

void Rope::Apply(float* heads, int num_heads, std::int64_t pos) const {
  const int half = head_dim_ / 2;
  for (int i = 0; i < half; ++i) {
    // Angle in fp32 like the references: position times frequency, then cos/sin.
    float angle = static_cast<float>(pos) * inv_freq_[i];
    float c = std::cos(angle) * concentration_;
    float s = std::sin(angle) * concentration_;
    for (int h = 0; h < num_heads; ++h) {
      float* x = heads + static_cast<std::size_t>(h) * head_dim_;
      float a = x[i], b = x[i + half];
      x[i] = a * c - b * s;
      x[i + half] = b * c + a * s;
    }
  }
}

}  // namespace tessera
