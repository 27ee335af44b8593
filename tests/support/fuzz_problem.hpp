// The randomized differential test's problem generator: a seeded, platform-independent stream of valid conv2d problems
// covering every feature (sizes from 1 to large, strides 1-4, padding 0..R symmetric, asymmetric and 'same', dilation
// 1-3, filters 1..11 per axis, groups, depthwise with channel multipliers, bias, epilogue chains, split-K), each capped
// so that its float64 reference stays cheap. Host only: no CUDA call, so the generator's distribution is tested on
// machines without a GPU (test_host_fuzz_generator.cpp) and the GPU test (test_device_fuzz.cu) only consumes it.
//
// Case `index` of seed `seed` depends on (seed, index, limits) alone, never on the cases before it: any failing case is
// replayed alone with TILECONV_FUZZ_SEED=seed TILECONV_FUZZ_FIRST=index TILECONV_FUZZ_COUNT=1 (see FuzzSettings).
#pragma once

#include "shapes.hpp"

#include <tileconv/problem.cuh>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace tileconv {
namespace test {

// ---------------------------------------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------------------------------------

/// SplitMix64's finalizer: a 64-bit mix with no fixed point but 0's neighbours, the same on every platform.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// SplitMix64 with hand-written distributions: std::uniform_int_distribution differs between standard libraries, and a
/// printed seed must replay the same problem wherever it is run.
class FuzzRng {
public:
  explicit FuzzRng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix64(state_);
  }
  /// Uniform in [lo, hi], both included. The modulo bias is below 2^-40 for the spans used here.
  int uniform(int lo, int hi) {
    auto const span = static_cast<std::uint64_t>(std::int64_t{hi} - lo + 1);
    return static_cast<int>(lo + static_cast<std::int64_t>(next() % span));
  }
  /// Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  /// Uniform in [lo, hi).
  float uniform_real(float lo, float hi) { return lo + static_cast<float>(unit()) * (hi - lo); }
  bool chance(double p) { return unit() < p; }
  /// Log-uniform in [lo, hi]: as many values in 10..100 as in 100..1000.
  int log_uniform(int lo, int hi) {
    double const value = std::exp(std::log(double(lo)) + unit() * (std::log(double(hi) + 1.0) - std::log(double(lo))));
    return std::min(hi, std::max(lo, static_cast<int>(value)));
  }
  /// One of `values`, uniformly.
  template <class T, std::size_t N> T pick(T const (&values)[N]) { return values[next() % N]; }

private:
  std::uint64_t state_;
};

// ---------------------------------------------------------------------------------------------------------------------
// What one case is
// ---------------------------------------------------------------------------------------------------------------------

enum class GroupKind { kDense, kGrouped, kDepthwise };
enum class PaddingKind { kSymmetric, kAsymmetric, kSame };

/// The activation at the end of a fuzzed epilogue chain.
enum class FuzzActivation { kNone, kRelu, kLeakyRelu, kClamp, kMish };

/// A fuzzed epilogue chain, applied after conv + bias in this fixed order: ScaleShift, then Residual, then the
/// activation: y = act(alpha * (scale * x + shift) + beta * z[offset]). `present == false`: the call takes no epilogue
/// argument at all. Absent parts have identity values (scale 1, shift 0; residual false), so that a launcher may
/// always pass one fixed chain type (see TILECONV_TEST_EPILOGUES, support/feature_switches.hpp).
struct FuzzEpilogue {
  bool present = false;
  float scale = 1.0f;
  float shift = 0.0f;
  bool residual = false; ///< beta * z added, z a tensor shaped like the output
  float alpha = 1.0f;
  float beta = 0.0f;
  FuzzActivation activation = FuzzActivation::kNone;
  float slope = 0.01f; ///< kLeakyRelu
  float lo = -1.0f;    ///< kClamp
  float hi = 1.0f;     ///< kClamp
};

/// How much split-K workspace a case offers the default launcher (see TILECONV_TEST_SPLIT_K,
/// support/feature_switches.hpp).
enum class WorkspaceKind {
  kNone,     ///< workspace null, 0 bytes: no split-K
  kExact,    ///< exactly the bytes the workspace-size query asks for
  kGenerous, ///< twice that
  kShort,    ///< 4 bytes less than asked for: the default launcher must not split, and must still be right
};

/// One generated problem and everything the GPU test does with it.
struct FuzzCase {
  std::uint64_t seed = 0;      ///< the run's seed
  std::int64_t index = 0;      ///< the case's number in the run
  std::uint64_t data_seed = 0; ///< seeds of the tensors: input data_seed, filter + 1, bias + 2, residual z + 3
  Conv2dProblem problem;
  bool bias = false;
  GroupKind group_kind = GroupKind::kDense;
  int multiplier = 1; ///< depthwise: out_channels / in_channels
  PaddingKind padding_kind = PaddingKind::kSymmetric;
  FuzzEpilogue epilogue;
  WorkspaceKind workspace = WorkspaceKind::kNone;
  int split_k = 1;     ///< an explicit split count to ask fixed policies for (1: none)
  bool shrunk = false; ///< the drawn sizes exceeded the limits and were halved until they fit
};

/// Size caps: a case whose drawn sizes exceed one of them is shrunk (batch, spatial size, channels halved) until it
/// fits. They bound the float64 reference (MACs) and the memory of one case.
struct FuzzLimits {
  std::int64_t max_outputs = std::int64_t{1} << 21;        ///< output elements of one case (2M: 8 MB + 16 MB reference)
  double max_macs = 2.5e8;                                 ///< outputs * C/groups * R * S (about 1 ms of reference)
  std::int64_t max_input_elements = std::int64_t{1} << 23; ///< 32 MB of input
};

/// The run: which cases, under which caps.
struct FuzzSettings {
  static constexpr std::uint64_t kDefaultSeed = 20240607; ///< fixed, so that CI runs are reproducible
  static constexpr std::int64_t kDefaultCount = 2000;

  std::uint64_t seed = kDefaultSeed;
  std::int64_t first = 0;
  std::int64_t count = kDefaultCount;
  FuzzLimits limits;
  std::string profile = "full";
  std::string launcher_filter; ///< run only the launchers whose name contains this
  bool random_seed = false;    ///< the seed came from std::random_device

  /// The environment assignments that replay case `index` alone.
  std::string replay(std::int64_t index) const {
    std::ostringstream text;
    text << "TILECONV_FUZZ_SEED=" << seed << " TILECONV_FUZZ_FIRST=" << index << " TILECONV_FUZZ_COUNT=1";
    if (profile != "full") {
      text << " TILECONV_FUZZ_PROFILE=" << profile;
    }
    FuzzLimits const defaults = limits_of_profile(profile);
    if (limits.max_outputs != defaults.max_outputs) {
      text << " TILECONV_FUZZ_MAX_OUTPUTS=" << limits.max_outputs;
    }
    if (limits.max_macs != defaults.max_macs) {
      text << " TILECONV_FUZZ_MAX_MACS=" << static_cast<long long>(limits.max_macs);
    }
    return text.str();
  }

  /// The caps of a profile: "full" (the default, 2000 cases) or "sanitizer" (16 small cases, for compute-sanitizer,
  /// whose tools run kernels 10-1000 times slower).
  static FuzzLimits limits_of_profile(std::string const& profile) {
    FuzzLimits limits;
    if (profile == "sanitizer") {
      limits.max_outputs = std::int64_t{1} << 15;
      limits.max_macs = 4e6;
      limits.max_input_elements = std::int64_t{1} << 17;
    }
    return limits;
  }
  static std::int64_t count_of_profile(std::string const& profile) { return profile == "sanitizer" ? 16 : 2000; }
};

namespace detail {

/// `text` as a whole decimal integer: false for trailing characters and for a value past int64's range, where
/// strtoll saturates.
inline bool parse_int64(char const* text, std::int64_t* value) {
  if (text == nullptr || *text == '\0') {
    return false;
  }
  char* end = nullptr;
  errno = 0;
  long long const parsed = std::strtoll(text, &end, 10);
  if (*end != '\0' || errno == ERANGE) {
    return false;
  }
  *value = parsed;
  return true;
}

/// A seed: every 64-bit value, as `replay` prints the random ones (half of them past INT64_MAX); no sign, which
/// strtoull would take and wrap.
inline bool parse_uint64(char const* text, std::uint64_t* value) {
  if (text == nullptr || *text < '0' || *text > '9') {
    return false; // empty, a sign, or leading white space
  }
  char* end = nullptr;
  errno = 0;
  unsigned long long const parsed = std::strtoull(text, &end, 10);
  if (*end != '\0' || errno == ERANGE) {
    return false;
  }
  *value = parsed;
  return true;
}

} // namespace detail

/// The settings from the environment: TILECONV_FUZZ_PROFILE (full | sanitizer), TILECONV_FUZZ_SEED (a number, or
/// "random"), TILECONV_FUZZ_FIRST, TILECONV_FUZZ_COUNT, TILECONV_FUZZ_MAX_OUTPUTS, TILECONV_FUZZ_MAX_MACS,
/// TILECONV_FUZZ_LAUNCHER (a substring of launcher names). Returns false and says why in `error` for a malformed value.
inline bool fuzz_settings_from_env(FuzzSettings* settings, std::string* error) {
  FuzzSettings result;
  if (char const* profile = std::getenv("TILECONV_FUZZ_PROFILE")) {
    result.profile = profile;
    if (result.profile != "full" && result.profile != "sanitizer") {
      *error = "TILECONV_FUZZ_PROFILE must be full or sanitizer, not '" + result.profile + "'";
      return false;
    }
  }
  result.limits = FuzzSettings::limits_of_profile(result.profile);
  result.count = FuzzSettings::count_of_profile(result.profile);

  struct Number {
    char const* name;
    std::int64_t* value;
    std::int64_t min;
  };
  std::int64_t max_macs = static_cast<std::int64_t>(result.limits.max_macs);
  Number const numbers[] = {{"TILECONV_FUZZ_FIRST", &result.first, 0},
                            {"TILECONV_FUZZ_COUNT", &result.count, 0},
                            {"TILECONV_FUZZ_MAX_OUTPUTS", &result.limits.max_outputs, 1},
                            {"TILECONV_FUZZ_MAX_MACS", &max_macs, 1}};
  for (Number const& number : numbers) {
    char const* text = std::getenv(number.name);
    if (text == nullptr) {
      continue;
    }
    if (!detail::parse_int64(text, number.value) || *number.value < number.min) {
      *error =
          std::string(number.name) + " must be an integer >= " + std::to_string(number.min) + ", not '" + text + "'";
      return false;
    }
  }
  result.limits.max_macs = static_cast<double>(max_macs);

  if (char const* text = std::getenv("TILECONV_FUZZ_SEED")) {
    if (std::string(text) == "random") {
      std::random_device device;
      result.seed = (std::uint64_t{device()} << 32) ^ device();
      result.random_seed = true;
    } else if (!detail::parse_uint64(text, &result.seed)) {
      *error = std::string("TILECONV_FUZZ_SEED must be a non-negative integer or 'random', not '") + text + "'";
      return false;
    }
  }
  if (char const* text = std::getenv("TILECONV_FUZZ_LAUNCHER")) {
    result.launcher_filter = text;
  }
  *settings = result;
  return true;
}

// ---------------------------------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------------------------------

namespace detail {

/// A filter extent: the common 1 and 3 often, every value of 1..11 regularly.
inline int draw_filter_extent(FuzzRng& rng) {
  double const u = rng.unit();
  if (u < 0.22) {
    return 1;
  }
  if (u < 0.50) {
    return 3;
  }
  if (u < 0.60) {
    return 5;
  }
  if (u < 0.68) {
    return 7;
  }
  return rng.uniform(1, 11);
}

inline int draw_stride(FuzzRng& rng) {
  double const u = rng.unit();
  return u < 0.50 ? 1 : (u < 0.78 ? 2 : (u < 0.89 ? 3 : 4));
}

inline int draw_dilation(FuzzRng& rng) {
  double const u = rng.unit();
  return u < 0.65 ? 1 : (u < 0.87 ? 2 : 3);
}

/// An input extent: tiny (1..6) 10%, small (7..40) 52%, medium (41..128) 30%, large (129..1024, log-uniform) 8%.
inline int draw_extent(FuzzRng& rng) {
  double const u = rng.unit();
  if (u < 0.10) {
    return rng.uniform(1, 6);
  }
  if (u < 0.62) {
    return rng.uniform(7, 40);
  }
  if (u < 0.92) {
    return rng.uniform(41, 128);
  }
  return rng.log_uniform(129, 1024);
}

/// Output channels per group: the tile edges of the shipped policies (BLOCK_OC 64 and 128, mma m 16) 30% of the time.
inline int draw_channels_out(FuzzRng& rng, int max) {
  static constexpr int kEdges[] = {1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 127, 128, 129, 130, 192, 255, 256};
  if (rng.chance(0.30)) {
    return std::min(max, rng.pick(kEdges));
  }
  return rng.chance(0.85) ? rng.uniform(1, std::min(max, 160)) : rng.uniform(1, max);
}

/// Input channels per group: multiples of 16 (BLOCK_R, so the channel-tiled gather applies) 35% of the time, tiny
/// (1..8) 25%, anything up to `max` otherwise.
inline int draw_channels_in(FuzzRng& rng, int max) {
  double const u = rng.unit();
  if (u < 0.35) {
    return 16 * rng.uniform(1, std::max(1, max / 16));
  }
  if (u < 0.60) {
    return rng.uniform(1, 8);
  }
  return rng.uniform(1, max);
}

/// The batch: 1 45%, 2 25%, 3-4 20%, 5-16 10%.
inline int draw_batch(FuzzRng& rng) {
  double const u = rng.unit();
  return u < 0.45 ? 1 : (u < 0.70 ? 2 : (u < 0.90 ? rng.uniform(3, 4) : rng.uniform(5, 16)));
}

inline FuzzEpilogue draw_epilogue(FuzzRng& rng) {
  FuzzEpilogue epilogue;
  epilogue.present = rng.chance(0.5);
  // Drawn whether present or not, so that every case's later draws do not depend on this one's outcome.
  bool const affine = rng.chance(0.5);
  float const scale = rng.uniform_real(0.25f, 2.0f) * (rng.chance(0.3) ? -1.0f : 1.0f);
  float const shift = rng.uniform_real(-1.0f, 1.0f);
  bool const residual = rng.chance(0.4);
  float const alpha = rng.uniform_real(-1.5f, 1.5f);
  float const beta = rng.uniform_real(-1.5f, 1.5f);
  double const u = rng.unit();
  FuzzActivation const activation =
      u < 0.25 ? FuzzActivation::kNone
               : (u < 0.50 ? FuzzActivation::kRelu
                           : (u < 0.65 ? FuzzActivation::kLeakyRelu
                                       : (u < 0.80 ? FuzzActivation::kClamp : FuzzActivation::kMish)));
  float const slope = rng.uniform_real(0.0f, 0.3f);
  float const lo = rng.uniform_real(-1.0f, 0.0f);
  float const hi = rng.uniform_real(0.0f, 1.0f);
  if (!epilogue.present) {
    return epilogue;
  }
  if (affine) {
    epilogue.scale = scale;
    epilogue.shift = shift;
  }
  if (residual) {
    epilogue.residual = true;
    epilogue.alpha = alpha;
    epilogue.beta = beta;
  }
  epilogue.activation = activation;
  epilogue.slope = slope;
  epilogue.lo = lo;
  epilogue.hi = hi;
  return epilogue;
}

/// The smallest input extent that gives an output of at least one element for this filter reach and padding.
inline int min_input_extent(int filter, int dilation, int pad_begin, int pad_end) {
  int const reach = dilation * (filter - 1) + 1;
  return std::max(1, reach - pad_begin - pad_end);
}

inline bool fits(Conv2dProblem const& problem, FuzzLimits const& limits) {
  return problem.output_elements() <= limits.max_outputs &&
         double(problem.output_elements()) * double(problem.gemm_k()) <= limits.max_macs &&
         problem.input_elements() <= limits.max_input_elements;
}

} // namespace detail

/// The seed of case `index` of the run `seed`.
constexpr std::uint64_t fuzz_case_seed(std::uint64_t seed, std::int64_t index) {
  return mix64(seed ^ mix64(static_cast<std::uint64_t>(index) + 0x632BE59BD9B4E019ull));
}

/// Case `index` of the run `seed`: a problem that `validate()`s, within `limits`. Distribution (per case):
/// - groups: dense 60%, grouped 15% (groups 2..32), depthwise 25% (groups = in_channels, channel multiplier 1 (60%),
///   2, 3 or 4);
/// - filter extents: 1 22%, 3 28%, 5 10%, 7 8%, uniform 1..11 32%; square 60% of the time;
/// - stride 1 50%, 2 28%, 3 11%, 4 11%, dilation 1 65%, 2 22%, 3 13%; the same on both axes 70% of the time;
/// - padding: 'same' (same_padding, asymmetric for an even reach) 20% where the stride is 1, symmetric 0..R 45%,
///   asymmetric (each of the four sides 0..R) 35%;
/// - input extents 1..1024 (see draw_extent), batch 1..16, channels (see draw_channels_in / _out), bias 50%;
/// - epilogue chain 50%, workspace none 55% / exact 20% / generous 10% / short 15%, explicit split count 1 (50%), 2,
///   3, 4, 8 or 16.
/// Sizes that break a limit are halved, one randomly chosen dimension at a time, until the case fits.
inline FuzzCase draw_fuzz_case(std::uint64_t seed, std::int64_t index, FuzzLimits const& limits) {
  FuzzRng rng(fuzz_case_seed(seed, index));
  FuzzCase c;
  c.seed = seed;
  c.index = index;
  c.data_seed = rng.next() >> 8; // random_fill_device mixes it further

  // --- groups and channels, as (groups, channels per group in, channels per group out)
  int groups = 1;
  int channels_in = 1;
  int channels_out = 1;
  double const kind = rng.unit();
  if (kind < 0.60) {
    c.group_kind = GroupKind::kDense;
    channels_in = detail::draw_channels_in(rng, 128);
    channels_out = detail::draw_channels_out(rng, 320);
  } else if (kind < 0.75) {
    static constexpr int kGroups[] = {2, 3, 4, 6, 8, 16, 32};
    c.group_kind = GroupKind::kGrouped;
    groups = rng.pick(kGroups);
    channels_in = detail::draw_channels_in(rng, 32);
    channels_out = detail::draw_channels_out(rng, 96);
  } else {
    static constexpr int kMultipliers[] = {1, 1, 1, 2, 3, 4};
    static constexpr int kCommonChannels[] = {16, 32, 64, 96, 128, 144, 256};
    c.group_kind = GroupKind::kDepthwise;
    double const u = rng.unit();
    groups = u < 0.20 ? rng.uniform(1, 8) : (u < 0.60 ? rng.pick(kCommonChannels) : rng.uniform(1, 300));
    c.multiplier = rng.pick(kMultipliers);
    channels_in = 1;
    channels_out = c.multiplier;
  }

  // --- filter, stride, dilation
  Conv2dProblem& p = c.problem;
  p.filter_h = detail::draw_filter_extent(rng);
  p.filter_w = rng.chance(0.6) ? p.filter_h : detail::draw_filter_extent(rng);
  bool const same_strides = rng.chance(0.7);
  p.stride_h = detail::draw_stride(rng);
  p.stride_w = same_strides ? p.stride_h : detail::draw_stride(rng);
  bool const same_dilations = rng.chance(0.7);
  p.dilation_h = detail::draw_dilation(rng);
  p.dilation_w = same_dilations ? p.dilation_h : detail::draw_dilation(rng);

  // --- padding: 0..R on each side
  double const pad_kind = rng.unit();
  int const pads[4] = {rng.uniform(0, p.filter_h), rng.uniform(0, p.filter_w), rng.uniform(0, p.filter_h),
                       rng.uniform(0, p.filter_w)};
  bool const unpadded = rng.chance(0.25);
  if (pad_kind < 0.20 && p.stride_h == 1 && p.stride_w == 1 && same_padding(p) == Status::kSuccess) {
    c.padding_kind = PaddingKind::kSame;
  } else if (pad_kind < 0.65) {
    c.padding_kind = PaddingKind::kSymmetric;
    p.pad_h = unpadded ? 0 : pads[0];
    p.pad_w = unpadded ? 0 : pads[1];
  } else {
    c.padding_kind = PaddingKind::kAsymmetric;
    p.pad_h = pads[0];
    p.pad_w = pads[1];
    p.pad_h_end = pads[2];
    p.pad_w_end = pads[3];
  }

  // --- spatial size and batch
  bool const same_size_class = rng.chance(0.5);
  p.in_h = detail::draw_extent(rng);
  p.in_w = same_size_class ? std::max(1, p.in_h + rng.uniform(-3, 3)) : detail::draw_extent(rng);
  p.in_h = std::max(p.in_h, detail::min_input_extent(p.filter_h, p.dilation_h, p.pad_top(), p.pad_bottom()));
  p.in_w = std::max(p.in_w, detail::min_input_extent(p.filter_w, p.dilation_w, p.pad_left(), p.pad_right()));
  p.batch = detail::draw_batch(rng);

  // --- tensors and options
  c.bias = rng.chance(0.5);
  c.epilogue = detail::draw_epilogue(rng);
  double const workspace = rng.unit();
  c.workspace = workspace < 0.55
                    ? WorkspaceKind::kNone
                    : (workspace < 0.75 ? WorkspaceKind::kExact
                                        : (workspace < 0.85 ? WorkspaceKind::kGenerous : WorkspaceKind::kShort));
  static constexpr int kSplits[] = {2, 3, 4, 8, 16};
  int const split = rng.pick(kSplits);
  c.split_k = rng.chance(0.5) ? 1 : split;

  // --- within the limits: halve one shrinkable dimension at a time
  auto assemble = [&] {
    p.groups = groups;
    p.in_channels = groups * channels_in;
    p.out_channels = groups * channels_out;
  };
  assemble();
  for (int step = 0; step < 200 && !detail::fits(p, limits); ++step) {
    int const min_h = detail::min_input_extent(p.filter_h, p.dilation_h, p.pad_top(), p.pad_bottom());
    int const min_w = detail::min_input_extent(p.filter_w, p.dilation_w, p.pad_left(), p.pad_right());
    int* candidates[5];
    int n = 0;
    if (p.batch > 1) {
      candidates[n++] = &p.batch;
    }
    if (p.in_h > min_h) {
      candidates[n++] = &p.in_h;
    }
    if (p.in_w > min_w) {
      candidates[n++] = &p.in_w;
    }
    if (c.group_kind == GroupKind::kDepthwise) {
      if (groups > 1) {
        candidates[n++] = &groups;
      }
    } else {
      if (channels_in > 1) {
        candidates[n++] = &channels_in;
      }
      if (channels_out > 1) {
        candidates[n++] = &channels_out;
      }
    }
    if (n == 0) {
      break;
    }
    int* const chosen = candidates[rng.next() % static_cast<std::uint64_t>(n)];
    *chosen = std::max(1, *chosen / 2);
    p.in_h = std::max(p.in_h, min_h);
    p.in_w = std::max(p.in_w, min_w);
    assemble();
    c.shrunk = true;
  }

  // The shift and the clamp bounds in units of the output's spread (inputs, weights and bias uniform in [-1, 1): a sum
  // of gemm_k products has a standard deviation of about sqrt(gemm_k) / 3), so that a shift neither vanishes against
  // the convolution nor leaves, after a Relu, only a cancelled tail whose relative error TF32 could not meet.
  float const spread = std::sqrt(static_cast<float>(p.gemm_k())) / 3.0f + 0.5f;
  c.epilogue.shift *= spread;
  c.epilogue.lo *= spread;
  c.epilogue.hi *= spread;
  return c;
}

// ---------------------------------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------------------------------

inline char const* to_string(FuzzActivation activation) {
  switch (activation) {
  case FuzzActivation::kNone:
    return "none";
  case FuzzActivation::kRelu:
    return "Relu";
  case FuzzActivation::kLeakyRelu:
    return "LeakyRelu";
  case FuzzActivation::kClamp:
    return "Clamp";
  case FuzzActivation::kMish:
    return "Mish";
  }
  return "?";
}

inline char const* to_string(WorkspaceKind kind) {
  switch (kind) {
  case WorkspaceKind::kNone:
    return "none";
  case WorkspaceKind::kExact:
    return "exact";
  case WorkspaceKind::kGenerous:
    return "2x";
  case WorkspaceKind::kShort:
    return "4 bytes short";
  }
  return "?";
}

inline char const* to_string(GroupKind kind) {
  switch (kind) {
  case GroupKind::kDense:
    return "dense";
  case GroupKind::kGrouped:
    return "grouped";
  case GroupKind::kDepthwise:
    return "depthwise";
  }
  return "?";
}

inline char const* to_string(PaddingKind kind) {
  switch (kind) {
  case PaddingKind::kSymmetric:
    return "symmetric";
  case PaddingKind::kAsymmetric:
    return "asymmetric";
  case PaddingKind::kSame:
    return "same";
  }
  return "?";
}

/// The epilogue as a formula, e.g. "Mish(0.5 * (1.25 x + 0.1) + -0.75 z)".
inline std::string describe(FuzzEpilogue const& e) {
  if (!e.present) {
    return "none";
  }
  std::ostringstream text;
  text.precision(9);
  std::ostringstream inner;
  inner.precision(9);
  inner << "(" << e.scale << " x + " << e.shift << ")";
  std::string value = inner.str();
  if (e.residual) {
    std::ostringstream residual;
    residual.precision(9);
    residual << e.alpha << " " << value << " + " << e.beta << " z";
    value = residual.str();
  }
  switch (e.activation) {
  case FuzzActivation::kNone:
    text << value;
    break;
  case FuzzActivation::kRelu:
  case FuzzActivation::kMish:
    text << to_string(e.activation) << "(" << value << ")";
    break;
  case FuzzActivation::kLeakyRelu:
    text << "LeakyRelu{" << e.slope << "}(" << value << ")";
    break;
  case FuzzActivation::kClamp:
    text << "Clamp{" << e.lo << ", " << e.hi << "}(" << value << ")";
    break;
  }
  return text.str();
}

/// C++ statements that rebuild the problem, to paste into a test.
inline std::string describe_cpp(Conv2dProblem const& p) {
  auto pad_end = [](int value) {
    return value == Conv2dProblem::kSymmetric ? std::string("tileconv::Conv2dProblem::kSymmetric")
                                              : std::to_string(value);
  };
  std::ostringstream text;
  text << "tileconv::Conv2dProblem problem; problem.batch = " << p.batch << "; problem.in_channels = " << p.in_channels
       << "; problem.in_h = " << p.in_h << "; problem.in_w = " << p.in_w
       << "; problem.out_channels = " << p.out_channels << "; problem.filter_h = " << p.filter_h
       << "; problem.filter_w = " << p.filter_w << "; problem.pad_h = " << p.pad_h << "; problem.pad_w = " << p.pad_w
       << "; problem.pad_h_end = " << pad_end(p.pad_h_end) << "; problem.pad_w_end = " << pad_end(p.pad_w_end)
       << "; problem.stride_h = " << p.stride_h << "; problem.stride_w = " << p.stride_w
       << "; problem.dilation_h = " << p.dilation_h << "; problem.dilation_w = " << p.dilation_w
       << "; problem.groups = " << p.groups << ";";
  return text.str();
}

/// The same convolution in PyTorch, for cross-checking outside tileconv.
inline std::string describe_pytorch(Conv2dProblem const& p, bool bias) {
  std::ostringstream text;
  text << "x = torch.randn(" << p.batch << ", " << p.in_channels << ", " << p.in_h << ", " << p.in_w
       << "); w = torch.randn(" << p.out_channels << ", " << p.in_channels_per_group() << ", " << p.filter_h << ", "
       << p.filter_w << "); b = " << (bias ? "torch.randn(" + std::to_string(p.out_channels) + ")" : "None")
       << "; y = F.conv2d(F.pad(x, (" << p.pad_left() << ", " << p.pad_right() << ", " << p.pad_top() << ", "
       << p.pad_bottom() << ")), w, b, stride=(" << p.stride_h << ", " << p.stride_w << "), dilation=(" << p.dilation_h
       << ", " << p.dilation_w << "), groups=" << p.groups << ")  # y: (" << p.batch << ", " << p.out_channels << ", "
       << p.out_h() << ", " << p.out_w() << ")";
  return text.str();
}

/// One line: the problem with its end padding, the kind of case and its options.
inline std::string describe(FuzzCase const& c) {
  Conv2dProblem const& p = c.problem;
  std::ostringstream text;
  text << describe(p) << " pad_end=(" << p.pad_bottom() << "," << p.pad_right() << ") [" << to_string(c.group_kind);
  if (c.group_kind == GroupKind::kDepthwise) {
    text << " x" << c.multiplier;
  }
  text << ", " << to_string(c.padding_kind) << " padding, " << (c.bias ? "bias" : "no bias") << ", epilogue "
       << describe(c.epilogue) << ", workspace " << to_string(c.workspace) << ", split_k " << c.split_k
       << (c.shrunk ? ", shrunk to the limits" : "") << "]";
  return text.str();
}

} // namespace test
} // namespace tileconv
