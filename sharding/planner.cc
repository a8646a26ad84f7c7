#include "sharding/planner.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "absl/strings/str_format.h"

namespace tessera {
namespace {

std::string GiB(std::uint64_t bytes) { return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / kGiB); }

std::uint64_t Reserve(const DeviceSpec& d, const PlanOptions& o) {
  const auto frac = static_cast<std::uint64_t>(o.reserve_fraction * static_cast<double>(d.memory_bytes));
  return std::min(d.memory_bytes, std::max(frac, o.reserve_min_bytes));
}

// Contiguous blocks: rank g holds [E*g/G, E*(g+1)/G), the split the cluster's grid uses.
std::vector<int> ExpertsOf(int rank, int groups, int num_experts) {
  std::vector<int> out;
  for (int e = num_experts * rank / groups; e < num_experts * (rank + 1) / groups; ++e) out.push_back(e);
  return out;
}

struct Shape {
  int replicas, stages, groups;
};

// What the planner needs of a device's place in the grid, before and after layers are assigned.
struct Slot {
  int device, stage, rank, num_experts;
  bool embedding, unembedding;
};

struct Candidate {
  Shape shape{};
  std::vector<DeviceAssignment> assignments;
  std::vector<Replica> replicas;
  std::int64_t shortfall = std::numeric_limits<std::int64_t>::min();  // worst need - capacity
  int worst_device = -1;
  std::uint64_t worst_need = 0;
  double token_time_s = 0, step_time_s = 0, throughput = 0;
  std::uint64_t bytes_per_token = 0;
  bool feasible() const { return shortfall <= 0; }
};

class Planner {
 public:
  Planner(const ModelConfig& c, const std::vector<DeviceSpec>& d, const PlanOptions& o, ExpertFormat f)
      : c_(c), dev_(d), o_(o), mb_(ComputeModelBytes(c, f)) {
    const std::int64_t cap = c.max_context > 0 ? c.max_context * o.batch : o.min_kv_tokens;
    max_tokens_ = std::max<std::int64_t>(cap, 1);
    min_tokens_ = std::min(o.min_kv_tokens, max_tokens_);
  }

  const ModelBytes& bytes() const { return mb_; }
  std::int64_t min_tokens() const { return min_tokens_; }

  Candidate Build(const Shape& shape) const {
    Candidate cand;
    cand.shape = shape;
    cand.assignments.resize(dev_.size());
    const int per_replica = shape.stages * shape.groups;
    for (int r = 0; r < shape.replicas; ++r) {
      std::vector<Slot> slots;
      for (int s = 0; s < shape.stages; ++s)
        for (int g = 0; g < shape.groups; ++g) {
          const int n = static_cast<int>(ExpertsOf(g, shape.groups, c_.num_experts).size());
          slots.push_back({r * per_replica + s * shape.groups + g, s, g, n, s == 0, s == shape.stages - 1 && g == 0});
        }
      cand.replicas.push_back(LayOut(shape, r, slots, cand));
    }
    for (const Replica& rep : cand.replicas) {
      cand.token_time_s = std::max(cand.token_time_s, rep.token_time_s);
      cand.step_time_s = std::max(cand.step_time_s, rep.step_time_s);
      cand.throughput += o_.batch / rep.step_time_s;
      cand.bytes_per_token = std::max(cand.bytes_per_token, rep.bytes_per_token);
    }
    return cand;
  }

 private:
  std::uint64_t Usable(int d) const { return dev_[d].memory_bytes - Reserve(dev_[d], o_); }
  std::uint64_t Fixed(const Slot& s) const {
    return (s.embedding ? mb_.embedding : 0) + (s.unembedding ? mb_.unembedding : 0);
  }

  // Balances layer counts over the stages by memory: each stage's capacity in layers is that of
  // its tightest rank (a rough KV share per layer included); layers go one at a time to the
  // stage that stays least full. Deterministic: ties go to the earlier stage.
  std::vector<int> LayerCounts(const Shape& shape, const std::vector<Slot>& slots) const {
    const int L = c_.num_layers, S = shape.stages;
    const double kv_per_layer =
        static_cast<double>(mb_.kv_bytes(mb_.full_layers, mb_.sliding_layers, min_tokens_, o_.batch)) / L;
    std::vector<double> cap(S, std::numeric_limits<double>::max());
    for (const Slot& s : slots) {
      const double per_layer = mb_.attention_per_layer + double(s.num_experts) * mb_.expert + kv_per_layer;
      const double room = double(Usable(s.device)) - double(Fixed(s));
      cap[s.stage] = std::min(cap[s.stage], std::max(room / per_layer, 1e-9));
    }
    std::vector<int> n(S, 1);
    for (int left = L - S; left > 0; --left) {
      int best = -1;
      bool best_fits = false;
      double best_fill = 0;
      for (int s = 0; s < S; ++s) {
        const bool fits = n[s] + 1 <= cap[s];
        const double fill = (n[s] + 1) / cap[s];
        if (best < 0 || (fits && !best_fits) || (fits == best_fits && fill < best_fill)) {
          best = s;
          best_fits = fits;
          best_fill = fill;
        }
      }
      ++n[best];
    }
    return n;
  }

  // Bytes a rank reads from memory for one decode step of `batch` tokens.
  double StepBytes(const Slot& s, int layers, int batch) const {
    const double hit = ExpectedExpertsHit(c_.num_experts, c_.experts_per_token, batch);
    double b = double(layers) * mb_.attention_per_layer;
    b += double(layers) * mb_.expert * hit * s.num_experts / c_.num_experts;
    if (s.embedding) b += double(batch) * c_.hidden_size * 2;  // only the looked-up rows
    if (s.unembedding) b += double(mb_.unembedding);
    return b;
  }

  double StepTime(const Shape& shape, const std::vector<Slot>& slots, const std::vector<int>& layers, int batch,
                  std::vector<Stage>* stages) const {
    double total = 0;
    for (int st = 0; st < shape.stages; ++st) {
      double slowest = 0;
      bool cross_host = false;
      for (int g = 0; g < shape.groups; ++g) {
        const Slot& s = slots[st * shape.groups + g];
        slowest = std::max(slowest, StepBytes(s, layers[st], batch) / dev_[s.device].hbm_bytes_per_s);
        cross_host |= dev_[s.device].host != dev_[slots[st * shape.groups].device].host;
      }
      if (shape.groups > 1)
        slowest += layers[st] * (cross_host ? o_.cross_host_all_to_all_latency_s : o_.all_to_all_latency_s);
      if (st + 1 < shape.stages) {  // the hop from this stage's rank 0 to every rank of the next
        bool far = false;
        for (int g = 0; g < shape.groups; ++g)
          far |= dev_[slots[(st + 1) * shape.groups + g].device].host != dev_[slots[st * shape.groups].device].host;
        slowest += far ? o_.cross_host_hop_latency_s : o_.hop_latency_s;
      }
      if (stages) (*stages)[st].token_time_s = slowest;
      total += slowest;
    }
    return total;
  }

  Replica LayOut(const Shape& shape, int r, const std::vector<Slot>& slots, Candidate& cand) const {
    const std::vector<int> counts = LayerCounts(shape, slots);
    std::vector<int> begin(shape.stages + 1, 0);
    for (int s = 0; s < shape.stages; ++s) begin[s + 1] = begin[s] + counts[s];

    Replica rep;
    rep.stages.resize(shape.stages);
    rep.kv_tokens = max_tokens_;
    std::vector<std::pair<int, int>> kv_layers(slots.size());  // full, sliding per slot
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const Slot& s = slots[i];
      Stage& stage = rep.stages[s.stage];
      stage.layer_begin = begin[s.stage];
      stage.layer_end = begin[s.stage + 1];
      stage.groups.push_back({s.device, ExpertsOf(s.rank, shape.groups, c_.num_experts)});
      DeviceAssignment& a = cand.assignments[s.device];
      a = {r, s.stage, s.rank, stage.layer_begin, stage.layer_end, stage.groups.back().experts, {}};
      const std::uint64_t n = stage.layer_end - stage.layer_begin;
      a.memory.attention = n * mb_.attention_per_layer;
      a.memory.embedding = s.embedding ? mb_.embedding : 0;
      a.memory.unembedding = s.unembedding ? mb_.unembedding : 0;
      a.memory.experts = n * s.num_experts * mb_.expert;
      a.memory.reserve = Reserve(dev_[s.device], o_);
      a.memory.capacity = dev_[s.device].memory_bytes;
      auto& [full, sliding] = kv_layers[i];
      full = sliding = 0;
      for (int l = stage.layer_begin; l < stage.layer_end; ++l) (c_.is_sliding(l) ? sliding : full)++;
      // Fits when weights + reserve + KV for the minimum context stay within capacity.
      const std::uint64_t need =
          a.memory.weights() + a.memory.reserve + mb_.kv_bytes(full, sliding, min_tokens_, o_.batch);
      const std::int64_t over = static_cast<std::int64_t>(need) - static_cast<std::int64_t>(a.memory.capacity);
      if (over > cand.shortfall) {
        cand.shortfall = over;
        cand.worst_device = s.device;
        cand.worst_need = need;
      }
      // The replica's context is bounded by its tightest device (every rank keeps KV of its layers).
      const std::int64_t free = static_cast<std::int64_t>(Usable(s.device)) -
                                static_cast<std::int64_t>(a.memory.weights()) -
                                static_cast<std::int64_t>(mb_.kv_bytes(0, sliding, 0, o_.batch));
      if (full > 0)
        rep.kv_tokens = std::min(rep.kv_tokens,
                                 std::max<std::int64_t>(0, free / std::int64_t(full * mb_.kv_per_token_layer)));
    }
    for (std::size_t i = 0; i < slots.size(); ++i)
      cand.assignments[slots[i].device].memory.kv =
          mb_.kv_bytes(kv_layers[i].first, kv_layers[i].second, rep.kv_tokens, o_.batch);

    rep.token_time_s = StepTime(shape, slots, counts, 1, &rep.stages);
    rep.step_time_s = StepTime(shape, slots, counts, o_.batch, nullptr);
    double bytes = 0;
    for (const Slot& s : slots) bytes += StepBytes(s, counts[s.stage], 1);
    rep.bytes_per_token = static_cast<std::uint64_t>(bytes);
    return rep;
  }

  const ModelConfig& c_;
  const std::vector<DeviceSpec>& dev_;
  const PlanOptions& o_;
  ModelBytes mb_;
  std::int64_t max_tokens_ = 0, min_tokens_ = 0;
};

std::string ShapeText(const Shape& s) {
  return absl::StrCat(s.replicas, s.replicas == 1 ? " replica" : " replicas", " x ", s.stages,
                      s.stages == 1 ? " stage" : " stages", " x ", s.groups,
                      s.groups == 1 ? " expert group" : " expert groups");
}

std::string CostModelText(const Plan& p, const ModelConfig& c) {
  const PlanOptions& o = p.options;
  return absl::StrFormat(
      "Per decode token at batch 1, every stage costs the time its slowest rank takes to read its weights "
      "from memory at that device's bandwidth: attention, router and norms of its layers, plus the %d "
      "activated experts per layer (%s) shared evenly over the stage's expert groups, plus the "
      "unembedding on the last stage; a stage with more than one expert group adds %.0f us per layer "
      "for the expert all-to-all (%.0f us across hosts), and each pipeline hop adds %.0f us (%.0f us "
      "across hosts). Stages run one after another. At batch B a layer reads the expected number of "
      "distinct experts hit, E x (1 - (1 - k/E)^B) = %.1f of %d at B = %d, instead of k; throughput "
      "= B / step time, summed over replicas. Reads of the KV cache and compute are not modelled: "
      "small-batch decode is bound by weight reads.",
      c.experts_per_token, p.expert_format == ExpertFormat::kMxfp4 ? "MXFP4, 4.25 bits/param" : "bf16",
      o.all_to_all_latency_s * 1e6, o.cross_host_all_to_all_latency_s * 1e6, o.hop_latency_s * 1e6,
      o.cross_host_hop_latency_s * 1e6, ExpectedExpertsHit(c.num_experts, c.experts_per_token, o.batch),
      c.num_experts, o.batch);
}

}  // namespace

double ExpectedExpertsHit(int num_experts, int experts_per_token, int batch) {
  if (num_experts <= 0) return 0;
  const double miss = 1.0 - static_cast<double>(experts_per_token) / num_experts;
  return num_experts * (1.0 - std::pow(miss, batch));
}

StatusOr<Policy> ParsePolicy(const std::string& name) {
  if (name == "latency") return Policy::kLatency;
  if (name == "throughput") return Policy::kThroughput;
  return absl::InvalidArgumentError(absl::StrCat("unknown policy '", name, "' (expected latency or throughput)"));
}

const char* PolicyName(Policy p) { return p == Policy::kLatency ? "latency" : "throughput"; }

StatusOr<Plan> MakePlan(const ModelConfig& config, const std::vector<DeviceSpec>& devices, Policy policy,
                        const PlanOptions& options) {
  TESSERA_RETURN_IF_ERROR(config.Validate());
  if (devices.empty()) return absl::InvalidArgumentError("no devices to plan for");
  if (options.batch < 1) return absl::InvalidArgumentError("batch must be at least 1");
  if (options.min_kv_tokens < 0) return absl::InvalidArgumentError("min KV tokens must be >= 0");
  if (!(options.reserve_fraction >= 0 && options.reserve_fraction < 1))
    return absl::InvalidArgumentError("reserve fraction must be in [0, 1)");
  for (const DeviceSpec& d : devices)
    if (d.memory_bytes == 0 || !(d.hbm_bytes_per_s > 0))
      return absl::InvalidArgumentError(absl::StrCat("device ", d.name, " needs memory and bandwidth"));

  const ExpertFormat format = options.expert_format.value_or(config.expert_format);
  const Planner planner(config, devices, options, format);
  const int n = static_cast<int>(devices.size());

  std::vector<Shape> shapes;
  for (int r = 1; r <= n; ++r) {
    if (n % r || (options.replicas && r != options.replicas)) continue;
    for (int s = 1; s <= n / r; ++s) {
      const int g = n / r / s;
      if ((n / r) % s || s > config.num_layers || g > config.num_experts) continue;
      if ((options.stages && s != options.stages) || (options.expert_groups && g != options.expert_groups)) continue;
      shapes.push_back({r, s, g});
    }
  }
  if (shapes.empty())
    return absl::InvalidArgumentError(absl::StrCat(
        "no replicas x stages x expert groups shape uses all ", n, " devices (", FormatDevices(devices),
        ") with at most ", config.num_layers, " stages and ", config.num_experts, " expert groups",
        options.replicas || options.stages || options.expert_groups ? " and the forced counts" : ""));

  std::optional<Candidate> best, closest;
  for (const Shape& shape : shapes) {
    Candidate cand = planner.Build(shape);
    if (!cand.feasible()) {
      if (!closest || cand.shortfall < closest->shortfall) closest = std::move(cand);
      continue;
    }
    // Smaller is better; the last fields only break ties, so equal inputs give equal plans.
    auto key = [policy](const Candidate& k) {
      const double r = k.shape.replicas, s = k.shape.stages, g = k.shape.groups;
      return policy == Policy::kLatency ? std::make_tuple(s, k.token_time_s, -r, g)
                                        : std::make_tuple(-r, -k.throughput, s, g);
    };
    if (!best || key(cand) < key(*best)) best = std::move(cand);
  }

  const ModelBytes& mb = planner.bytes();
  const std::string name = ModelName(config);
  if (!best) {
    std::uint64_t capacity = 0, usable = 0;
    for (const DeviceSpec& d : devices) {
      capacity += d.memory_bytes;
      usable += d.memory_bytes - Reserve(d, options);
    }
    const std::uint64_t kv = mb.kv_bytes(mb.full_layers, mb.sliding_layers, planner.min_tokens(), options.batch);
    if (mb.total_weights() + kv > usable) {
      return absl::ResourceExhaustedError(absl::StrCat(
          name, " needs ", GiB(mb.total_weights()), " of weights + ", GiB(kv), " KV (", planner.min_tokens(),
          " tokens, ", options.batch, " sequences); ", FormatDevices(devices), " offers ", GiB(usable),
          " usable (", GiB(capacity), " less ", GiB(capacity - usable), " workspace reserve): ",
          GiB(mb.total_weights() + kv - usable), " short"));
    }
    const bool forced = options.replicas || options.stages || options.expert_groups;
    const DeviceAssignment& a = closest->assignments[closest->worst_device];
    const DeviceSpec& d = devices[closest->worst_device];
    std::vector<int> layers;
    for (int l = a.layer_begin; l < a.layer_end; ++l) layers.push_back(l);
    return absl::ResourceExhaustedError(absl::StrCat(
        "no layout of ", name, " fits ", FormatDevices(devices),
        forced ? " with the forced shape" : " (attention and embeddings are repeated on every rank of a stage)",
        ": the closest, ", ShapeText(closest->shape), ", needs ", GiB(closest->worst_need), " on ", d.name, " (layers ",
        FormatRanges(layers), ", experts ", FormatRanges(a.experts), ": ", GiB(a.memory.weights()),
        " weights + ", GiB(closest->worst_need - a.memory.weights() - a.memory.reserve), " KV + ",
        GiB(a.memory.reserve), " reserve) of its ", GiB(d.memory_bytes), ": ",
        GiB(static_cast<std::uint64_t>(closest->shortfall)), " short"));
  }

  Plan plan;
  plan.model_name = name;
  plan.policy = policy;
  plan.options = options;
  plan.expert_format = format;
  plan.model = mb;
  plan.devices = devices;
  plan.replicas = std::move(best->replicas);
  plan.assignments = std::move(best->assignments);
  plan.stages_per_replica = best->shape.stages;
  plan.groups_per_stage = best->shape.groups;
  plan.token_time_s = best->token_time_s;
  plan.step_time_s = best->step_time_s;
  plan.throughput_tokens_per_s = best->throughput;
  plan.bytes_per_token = best->bytes_per_token;
  plan.hop_bytes_per_token = static_cast<std::uint64_t>(config.hidden_size) * 4;
  plan.cost_model = CostModelText(plan, config);
  return plan;
}

}  // namespace tessera
