// Randomized differential test: thousands of random problems from a seeded generator (support/fuzz_problem.hpp), each
// run through every shipped launcher (the default tileconv::conv2d, and every policy with every gather that applies)
// and compared with the float64 device reference, with NaN-poisoned, guarded outputs. A failure prints the seed, the
// case and the problem as C++ and as PyTorch, and the environment that replays that case alone.
//
//   tileconv_fuzz_tests                                        2000 cases of the fixed default seed (CI-reproducible)
//   TILECONV_FUZZ_SEED=random tileconv_fuzz_tests              a new seed, printed first
//   TILECONV_FUZZ_SEED=7 TILECONV_FUZZ_FIRST=123 TILECONV_FUZZ_COUNT=1 tileconv_fuzz_tests    replays case 123 of seed
//   7 TILECONV_FUZZ_PROFILE=sanitizer tileconv_fuzz_tests        16 small cases, for compute-sanitizer
//   TILECONV_FUZZ_LAUNCHER=SmallTile ...                       only the launchers whose name contains "SmallTile"
//
// Its own executable (tileconv_fuzz_tests, CTest label "fuzz"), so that scripts/gpu_check.sh runs it as a step of its
// own and under the sanitizers with its small profile.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/feature_switches.hpp"
#include "support/fuzz_problem.hpp"
#include "support/gpu_harness.hpp"

#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/error_stats.cuh>
#include <tileconv/reference/random_fill.cuh>
#include <tileconv/tileconv.cuh>

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tileconv {
namespace test {
namespace {

// ---------------------------------------------------------------------------------------------------------------------
// Device helpers
// ---------------------------------------------------------------------------------------------------------------------

/// What one check copies back: the error against the reference and the guard words that a launch changed.
struct CheckResult {
  reference::ErrorStats stats;
  unsigned long long changed_guard_words;
};

/// Adds to `*count` the 32-bit words of `words[0, n)` that are no longer the poison pattern.
__global__ void count_changed_words_kernel(std::uint32_t const* words, std::int64_t n, unsigned long long* count) {
  unsigned long long changed = 0;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    changed += words[i] != kPoisonWord ? 1 : 0;
  }
  if (changed != 0) {
    atomicAdd(count, changed);
  }
}

/// The fuzzed epilogue in float64, in FuzzEpilogue's order: y = act(alpha * (scale * x + shift) + beta * z).
/// Semantics assumed of tileconv's functors: ScaleShift{s, t}(x) = s x + t; Residual{alpha, beta, z}(x, at) =
/// alpha x + beta z[at.offset]; LeakyRelu{slope}(x) = x > 0 ? x : slope x; Clamp{lo, hi}(x) = min(max(x, lo), hi);
/// Mish(x) = x tanh(softplus(x)).
__global__ void apply_epilogue_reference_kernel(FuzzEpilogue epilogue, double const* conv, float const* z,
                                                double* result, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    double x = conv[i] * double(epilogue.scale) + double(epilogue.shift);
    if (epilogue.residual) {
      x = double(epilogue.alpha) * x + double(epilogue.beta) * double(z[i]);
    }
    switch (epilogue.activation) {
    case FuzzActivation::kNone:
      break;
    case FuzzActivation::kRelu:
      x = x < 0.0 ? 0.0 : x;
      break;
    case FuzzActivation::kLeakyRelu:
      x = x > 0.0 ? x : x * double(epilogue.slope);
      break;
    case FuzzActivation::kClamp:
      x = x < double(epilogue.lo) ? double(epilogue.lo) : x;
      x = x > double(epilogue.hi) ? double(epilogue.hi) : x;
      break;
    case FuzzActivation::kMish:
      x = x * tanh(log1p(exp(x)));
      break;
    }
    result[i] = x;
  }
}

/// What the error of a launch is measured against: the L2 norm and the largest magnitude of an output whose TF32
/// rounding the launch carries. For a plain conv, the expected output's own; for an epilogue chain, the conv's times
/// `epilogue_error_gain`, not the chain's result's: a clamp, or a residual that cancels the conv, leaves a result
/// much smaller than the conv error that passes through it (`run_launcher` adds `kChainRoundingShare` of the
/// result's, for the chain's own rounding).
struct ErrorYardstick {
  double l2 = 0.0;
  double max_abs = 0.0;

  static ErrorYardstick of_expected(reference::ErrorStats const& stats) {
    return {std::sqrt(stats.sum_sq_expected), stats.max_abs_expected};
  }
};

/// The most the fuzzed chain can amplify an error in the conv it is applied to: |scale|, times |alpha| with a
/// residual, times the steepest slope of the activation (1 for relu, leaky relu with slope <= 1 and clamp; mish's
/// peaks at 1.09).
double epilogue_error_gain(FuzzEpilogue const& e) {
  double const activation_slope = e.activation == FuzzActivation::kMish ? 1.1 : 1.0;
  return std::fabs(double(e.scale)) * (e.residual ? std::fabs(double(e.alpha)) : 1.0) * activation_slope;
}

/// The chain's own float32 rounding, as a share of its result's norms, that an epilogue launch may add to the
/// conv's error carried through the chain: a few roundings of ~6e-8 each, far under the 1e-5 (relative L2) this
/// share allows under kMaxRelativeL2. It decides only where the conv is zero or nearly (every output in the padding:
/// the result is then the chain's shift and residual alone, whose rounding no conv norm covers).
constexpr double kChainRoundingShare = 1e-2;

/// The pass criterion of gpu_harness.hpp's `within_tolerance`, against `yardstick`.
bool within_tolerance(reference::ErrorStats const& stats, ErrorYardstick const& yardstick) {
  return stats.non_finite == 0 && std::sqrt(stats.sum_sq_error) <= kMaxRelativeL2 * yardstick.l2 &&
         stats.max_abs_error <= kMaxRelativeMax * yardstick.max_abs;
}

unsigned grid_for(std::int64_t n) {
  constexpr std::int64_t kMaxBlocks = 4096;
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>((n + 255) / 256, kMaxBlocks)));
}

// ---------------------------------------------------------------------------------------------------------------------
// HOOKs of the features that land in parallel (support/feature_switches.hpp)
// ---------------------------------------------------------------------------------------------------------------------

/// HOOK (TILECONV_TEST_EPILOGUES): launches the default tileconv::conv2d with the case's epilogue chain. Two chain
/// types cover every drawn chain, so that only two extra instantiations of the kernels are compiled: the piecewise
/// activations through LeakyRelu and Clamp with identity values (LeakyRelu{1} and Clamp{-inf, inf} return x; Relu is
/// LeakyRelu{0}), and Mish. `z` is the residual tensor (output-shaped); Residual{1, 0, z} is the identity when the case
/// has none.
Status launch_with_epilogue(Conv2dArguments const& args, FuzzEpilogue const& e, float const* z, cudaStream_t stream) {
#if TILECONV_TEST_EPILOGUES
  ScaleShift const affine{e.scale, e.shift};
  Residual const residual{e.residual ? e.alpha : 1.0f, e.residual ? e.beta : 0.0f, z};
  if (e.activation == FuzzActivation::kMish) {
    return tileconv::conv2d(args, make_epilogue_chain(affine, residual, Mish{}), stream);
  }
  float slope = 1.0f;
  float lo = -INFINITY;
  float hi = INFINITY;
  if (e.activation == FuzzActivation::kRelu) {
    slope = 0.0f;
  } else if (e.activation == FuzzActivation::kLeakyRelu) {
    slope = e.slope;
  } else if (e.activation == FuzzActivation::kClamp) {
    lo = e.lo;
    hi = e.hi;
  }
  return tileconv::conv2d(args, make_epilogue_chain(affine, residual, LeakyRelu{slope}, Clamp{lo, hi}), stream);
#else
  (void)args;
  (void)e;
  (void)z;
  (void)stream;
  return Status::kErrorNotSupported;
#endif
}

/// HOOK (TILECONV_TEST_SPLIT_K): bytes of split-K workspace the default launcher asks for on this problem, or the
/// channels-last launchers' if more (so that they run on the cases with that workspace); 0 while split-K is switched
/// off.
std::size_t workspace_bytes_for(Conv2dProblem const& problem, DeviceInfo const& device) {
#if TILECONV_TEST_SPLIT_K
  return std::max(tileconv::conv2d_workspace_size(problem, device), channels_last_workspace_bytes(problem));
#else
  (void)problem;
  (void)device;
  return 0;
#endif
}

/// HOOK (TILECONV_TEST_SPLIT_K): an explicit split count through the class interface, for one policy and gather. It
/// applies unless the count would leave a split of the reduction empty (kErrorInvalidSplitK, see
/// `detail::is_split_count`) or batch * groups * split_k exceeds the grid (kErrorGridTooLarge), and for the
/// channels-last gather where the case's workspace holds its copy; any other refusal is run, and fails.
template <class Policy, GatherKind kGather = GatherKind::kAuto>
Launcher split_k_launcher(std::string const& name, int split_k, DeviceInfo const& device) {
  Launcher launcher;
  launcher.name = "Conv2d<" + name + (kGather == GatherKind::kAuto ? "" : std::string(", ") + to_string(kGather)) +
                  ">::run(split_k=" + std::to_string(split_k) + ")";
#if TILECONV_TEST_SPLIT_K
  launcher.launch = [split_k, device](Conv2dArguments const& args, cudaStream_t stream) {
    return Conv2d<Policy, kGather>::run(args, IdentityEpilogue{}, device, stream, nullptr, split_k);
  };
  launcher.applies = [split_k, device](Conv2dArguments const& args) {
    Status const status = Conv2d<Policy, kGather>::can_implement(args, device, split_k);
    // kErrorNotSupported: the warp-specialized policy's producers have the channel-tiled gathers alone
    return status != Status::kErrorInvalidSplitK && status != Status::kErrorGridTooLarge &&
           status != Status::kErrorNotSupported &&
           (kGather != GatherKind::kChannelsLast || status != Status::kErrorWorkspaceTooSmall);
  };
#else
  (void)split_k;
  (void)device;
  launcher.launch = [](Conv2dArguments const&, cudaStream_t) { return Status::kErrorNotSupported; };
  launcher.applies = [](Conv2dArguments const&) { return false; };
#endif
  return launcher;
}

/// The launchers of an explicit split count: every shipped policy, the warp-specialized one also with the
/// channels-last gather. Empty while split-K is switched off.
std::vector<Launcher> split_k_launchers(int split_k, DeviceInfo const& device) {
  if (!TILECONV_TEST_SPLIT_K || split_k <= 1) {
    return {};
  }
  std::vector<Launcher> launchers;
  for_each_runnable_table_policy([&](auto policy, std::string const& name) {
    using Policy = decltype(policy);
    if constexpr (!::tileconv::detail::channels_last_only<Policy>()) {
      launchers.push_back(split_k_launcher<Policy>(name, split_k, device));
    }
    if constexpr (Policy::kWarpSpecialized) {
      launchers.push_back(split_k_launcher<Policy, GatherKind::kChannelsLast>(name, split_k, device));
    }
  });
  return launchers;
}

/// HOOK (TILECONV_TEST_SPLIT_K): workspace of an explicit split count: with `fastest`, what every shipped policy's
/// fastest launch asks for (the partial sums and the filter reordered for the channel-tiled gather, and the input's
/// channels-last copy), else only what split-K cannot run without (the partial sums; the filter is then read in place).
std::size_t explicit_split_k_bytes(Conv2dProblem const& problem, int split_k, bool fastest) {
#if TILECONV_TEST_SPLIT_K
  if (fastest) {
    std::size_t bytes = 0;
    for_each_runnable_table_policy([&](auto policy, std::string const&) {
      using Policy = decltype(policy);
      bytes = std::max(bytes, Conv2d<Policy>::workspace_size(problem, split_k));
      if constexpr (Policy::kWarpSpecialized) {
        bytes = std::max(bytes, Conv2d<Policy, GatherKind::kChannelsLast>::workspace_size(problem, split_k));
      }
    });
    return bytes;
  }
  return split_k_workspace_bytes(problem, split_k);
#else
  (void)problem;
  (void)split_k;
  (void)fastest;
  return 0;
#endif
}

// ---------------------------------------------------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------------------------------------------------

/// Running totals of a run, printed at its end.
struct FuzzTotals {
  std::int64_t cases = 0;
  std::int64_t launches = 0;
  std::int64_t failures = 0;
  std::int64_t printed_failures = 0;
  std::string last_failure; ///< the report of the last failure, printed or not
  std::map<std::string, std::int64_t> launches_by_launcher;
  std::map<std::string, double> worst_l2_by_launcher;
  std::map<std::string, std::int64_t> features;
};

/// Runs the cases of one FuzzSettings: buffers per case (exactly sized, so that compute-sanitizer's memcheck sees any
/// access past a tensor), the reference once per case, every launcher on it.
class FuzzRunner {
public:
  static constexpr std::int64_t kMaxPrintedFailures = 20;

  /// `launchers`: what runs every case (the shipped ones; the self-check plants bugs in its own). `extras`: also the
  /// explicit split-K counts and the epilogue chains, where switched on. `quiet`: count failures without printing.
  FuzzRunner(FuzzSettings const& settings, DeviceInfo const& device, std::vector<Launcher> launchers, bool extras,
             bool quiet)
      : settings_(settings), device_(device), check_(1), launchers_(std::move(launchers)), extras_(extras),
        quiet_(quiet) {
    TILECONV_REQUIRE_CUDA(cudaMallocHost(&host_check_, sizeof(CheckResult)));
    if (!settings_.launcher_filter.empty()) {
      launchers_.erase(std::remove_if(launchers_.begin(), launchers_.end(),
                                      [&](Launcher const& l) { return !matches_filter(l.name); }),
                       launchers_.end());
    }
  }
  FuzzRunner(FuzzRunner const&) = delete;
  FuzzRunner& operator=(FuzzRunner const&) = delete;
  ~FuzzRunner() { TILECONV_CHECK_CUDA(cudaFreeHost(host_check_)); }

  std::size_t launcher_count() const { return launchers_.size(); }
  FuzzTotals const& totals() const { return totals_; }

  void run_case(FuzzCase const& c) {
    Conv2dProblem const& problem = c.problem;
    std::string const what = "case " + std::to_string(c.index) + ": " + describe(c);
    INFO(what << "\n  replay: " << settings_.replay(c.index));
    REQUIRE(problem.validate() == Status::kSuccess);
    count_features(c);

    std::int64_t const outputs = problem.output_elements();
    cudaStream_t const stream = stream_.get();
    DeviceBuffer<float> input(problem.input_elements());
    DeviceBuffer<float> filter(problem.filter_elements());
    DeviceBuffer<float> bias(c.bias ? problem.out_channels : 0);
    GuardedOutput output(outputs);
    DeviceBuffer<double> reference(outputs);
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(input.data(), input.size(), c.data_seed, stream));
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(filter.data(), filter.size(), c.data_seed + 1, stream));
    if (c.bias) {
      TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(bias.data(), bias.size(), c.data_seed + 2, stream));
    }
    TILECONV_REQUIRE_SUCCESS(reference::conv2d_device(problem, input.data(), filter.data(),
                                                      c.bias ? bias.data() : nullptr, reference.data(), stream));

    // The case's split-K workspace, offered to every launcher; the default one decides whether it splits.
    std::size_t const asked = workspace_bytes_for(problem, device_);
    std::size_t offered = 0;
    switch (c.workspace) {
    case WorkspaceKind::kNone:
      break;
    case WorkspaceKind::kExact:
      offered = asked;
      break;
    case WorkspaceKind::kGenerous:
      offered = 2 * asked;
      break;
    case WorkspaceKind::kShort:
      offered = asked >= sizeof(float) ? asked - sizeof(float) : 0;
      break;
    }
    DeviceBuffer<unsigned char> workspace(static_cast<std::int64_t>(offered));

    Conv2dArguments args;
    args.problem = problem;
    args.input = input.data();
    args.filter = filter.data();
    args.bias = c.bias ? bias.data() : nullptr;
    args.output = output.data();
    args.workspace = offered > 0 ? workspace.data() : nullptr;
    args.workspace_bytes = offered;

    // The conv's norms, from the stats of any launch against `reference` (they do not depend on the result).
    reference::ErrorStats conv_stats;
    for (Launcher const& launcher : launchers_) {
      if (auto const stats = run_launcher(c, launcher, args, output, reference.data())) {
        conv_stats = *stats;
      }
    }

    std::vector<Launcher> const split_launchers =
        extras_ ? split_k_launchers(c.split_k, device_) : std::vector<Launcher>{};
    if (!split_launchers.empty()) {
      bool const fastest = c.workspace == WorkspaceKind::kExact || c.workspace == WorkspaceKind::kGenerous;
      DeviceBuffer<unsigned char> split_workspace(
          static_cast<std::int64_t>(explicit_split_k_bytes(problem, c.split_k, fastest)));
      Conv2dArguments split_args = args;
      split_args.workspace = split_workspace.data();
      split_args.workspace_bytes = split_workspace.bytes();
      for (Launcher const& launcher : split_launchers) {
        if (matches_filter(launcher.name)) {
          run_launcher(c, launcher, split_args, output, reference.data());
        }
      }
    }

    if (TILECONV_TEST_EPILOGUES && extras_ && c.epilogue.present && conv_stats.count > 0 &&
        matches_filter("tileconv::conv2d(args, epilogue)")) {
      DeviceBuffer<float> z(outputs);
      DeviceBuffer<double> expected(outputs);
      TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(z.data(), z.size(), c.data_seed + 3, stream));
      apply_epilogue_reference_kernel<<<grid_for(outputs), 256, 0, stream>>>(c.epilogue, reference.data(), z.data(),
                                                                             expected.data(), outputs);
      TILECONV_REQUIRE_CUDA(cudaGetLastError());
      Launcher launcher;
      launcher.name = "tileconv::conv2d(args, epilogue)";
      float const* const z_data = z.data();
      FuzzEpilogue const epilogue = c.epilogue;
      launcher.launch = [z_data, epilogue](Conv2dArguments const& a, cudaStream_t s) {
        return launch_with_epilogue(a, epilogue, z_data, s);
      };
      ErrorYardstick yardstick = ErrorYardstick::of_expected(conv_stats);
      yardstick.l2 *= epilogue_error_gain(epilogue);
      yardstick.max_abs *= epilogue_error_gain(epilogue);
      run_launcher(c, launcher, args, output, expected.data(), yardstick);
    }
    ++totals_.cases;
  }

private:
  bool matches_filter(std::string const& name) const {
    return settings_.launcher_filter.empty() || name.find(settings_.launcher_filter) != std::string::npos;
  }

  void count_features(FuzzCase const& c) {
    Conv2dProblem const& p = c.problem;
    auto& f = totals_.features;
    ++f[std::string("groups ") + to_string(c.group_kind)];
    ++f[std::string("padding ") + to_string(c.padding_kind)];
    f["depthwise multiplier > 1"] += c.group_kind == GroupKind::kDepthwise && c.multiplier > 1;
    f["stride > 1"] += p.stride_h > 1 || p.stride_w > 1;
    f["dilation > 1"] += p.dilation_h > 1 || p.dilation_w > 1;
    f["filter > 7"] += p.filter_h > 7 || p.filter_w > 7;
    f["bias"] += c.bias;
    f["channel-tiled applies"] += p.in_channels_per_group() % 16 == 0;
    f["1 output pixel"] += p.out_h() == 1 && p.out_w() == 1;
    f["outputs >= 1M"] += p.output_elements() >= (std::int64_t{1} << 20);
    f["epilogue drawn"] += c.epilogue.present;
    f["shrunk"] += c.shrunk;
  }

  /// Poisons the output, launches, and compares with `expected`: success, no guard word changed, every element
  /// finite and within the TF32 tolerance of gpu_harness.hpp, relative to the norms of `expected`, or where given
  /// to `yardstick` plus `kChainRoundingShare` of them. Returns the error statistics, or nothing where the launcher
  /// does not apply or did not succeed.
  std::optional<reference::ErrorStats> run_launcher(FuzzCase const& c, Launcher const& launcher,
                                                    Conv2dArguments const& args, GuardedOutput& output,
                                                    double const* expected,
                                                    std::optional<ErrorYardstick> yardstick = std::nullopt) {
    if (!launcher.applies(args)) {
      return std::nullopt;
    }
    cudaStream_t const stream = stream_.get();
    std::int64_t const n = output.size();
    output.poison(stream);
    cudaError_t raw = cudaSuccess;
    Status const status = launcher.launch(args, stream);
    raw = cudaGetLastError();
    if (status != Status::kSuccess || raw != cudaSuccess) {
      report_failure(c, launcher,
                     "launch returned " + std::string(to_string(status)) + ", cudaGetLastError " +
                         cudaGetErrorName(raw));
      TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream));
      return std::nullopt;
    }

    // error statistics and the guards, reduced on the device and copied back together
    TILECONV_REQUIRE_CUDA(cudaMemsetAsync(&check_.data()->changed_guard_words, 0, sizeof(unsigned long long), stream));
    std::size_t temp_bytes = 0;
    TILECONV_REQUIRE_SUCCESS(
        reference::error_stats_device(nullptr, temp_bytes, output.data(), expected, n, &check_.data()->stats, stream));
    if (temp_bytes > temp_.bytes()) {
      TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream));
      temp_ = DeviceBuffer<unsigned char>(static_cast<std::int64_t>(temp_bytes));
    }
    TILECONV_REQUIRE_SUCCESS(reference::error_stats_device(temp_.data(), temp_bytes, output.data(), expected, n,
                                                           &check_.data()->stats, stream));
    constexpr std::int64_t kGuard = GuardedOutput::kGuardFloats;
    auto const* front = reinterpret_cast<std::uint32_t const*>(output.data() - kGuard);
    auto const* back = reinterpret_cast<std::uint32_t const*>(output.data() + n);
    count_changed_words_kernel<<<grid_for(kGuard), 256, 0, stream>>>(front, kGuard,
                                                                     &check_.data()->changed_guard_words);
    count_changed_words_kernel<<<grid_for(kGuard), 256, 0, stream>>>(back, kGuard, &check_.data()->changed_guard_words);
    TILECONV_REQUIRE_CUDA(cudaGetLastError());
    TILECONV_REQUIRE_CUDA(
        cudaMemcpyAsync(host_check_, check_.data(), sizeof(CheckResult), cudaMemcpyDeviceToHost, stream));
    {
      INFO("launcher " << launcher.name);
      TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream)); // a fault in the kernel surfaces here
    }
    CheckResult const result = *host_check_;

    ++totals_.launches;
    ++totals_.launches_by_launcher[launcher.name];
    ErrorYardstick against = ErrorYardstick::of_expected(result.stats);
    if (yardstick) { // an epilogue chain's: the conv's error carried through it, plus its own rounding
      against = {yardstick->l2 + kChainRoundingShare * against.l2,
                 yardstick->max_abs + kChainRoundingShare * against.max_abs};
    }
    double const relative_l2 =
        result.stats.non_finite != 0 ? INFINITY : std::sqrt(result.stats.sum_sq_error) / against.l2;
    double& worst = totals_.worst_l2_by_launcher[launcher.name];
    worst = std::max(worst, relative_l2);
    bool const passed = result.changed_guard_words == 0 && result.stats.count == static_cast<unsigned long long>(n) &&
                        within_tolerance(result.stats, against);
    if (!passed) {
      report_failure(c, launcher,
                     describe(result.stats) +
                         (yardstick ? ", error relative to the conv's norms x the chain's gain, plus its rounding " +
                                          std::to_string(relative_l2)
                                    : std::string()) +
                         ", changed guard words " + std::to_string(result.changed_guard_words));
    }
    return result.stats;
  }

  void report_failure(FuzzCase const& c, Launcher const& launcher, std::string const& what) {
    ++totals_.failures;
    char head[256];
    std::snprintf(head, sizeof(head), "\n==== tileconv fuzz FAILURE: case %lld of seed %llu, launcher ",
                  static_cast<long long>(c.index), static_cast<unsigned long long>(c.seed));
    totals_.last_failure = head + launcher.name + "\n  result:   " + what + "\n  case:     " + describe(c) +
                           "\n  replay:   " + settings_.replay(c.index) + " tileconv_fuzz_tests" +
                           "\n  C++:      " + describe_cpp(c.problem) + "  // bias: " + (c.bias ? "yes" : "no") +
                           "\n  PyTorch:  " + describe_pytorch(c.problem, c.bias) + "\n";
    if (quiet_ || totals_.printed_failures >= kMaxPrintedFailures) {
      return;
    }
    ++totals_.printed_failures;
    std::fputs(totals_.last_failure.c_str(), stdout);
    std::fflush(stdout);
  }

  FuzzSettings settings_;
  DeviceInfo device_;
  Stream stream_;
  DeviceBuffer<CheckResult> check_;
  DeviceBuffer<unsigned char> temp_;
  CheckResult* host_check_ = nullptr;
  std::vector<Launcher> launchers_;
  bool extras_;
  bool quiet_;
  FuzzTotals totals_;
};

} // namespace

TEST_CASE("random problems match the float64 reference with every launcher", "[gpu][fuzz]") {
  FuzzSettings settings;
  std::string error;
  bool const parsed = fuzz_settings_from_env(&settings, &error);
  INFO(error);
  REQUIRE(parsed);
  DeviceInfo const device = current_device_info();
  FuzzLimits const& limits = settings.limits;

  FuzzRunner runner(settings, device, shipped_launchers(), true, false);
  std::printf("tileconv fuzz: seed %llu (%s), cases [%lld, %lld), profile %s, limits %lld outputs / %.3g MACs / %lld "
              "input elements per case, %zu launchers%s%s, epilogues %s, split-K %s\n",
              static_cast<unsigned long long>(settings.seed),
              settings.random_seed ? "random" : (std::getenv("TILECONV_FUZZ_SEED") ? "TILECONV_FUZZ_SEED" : "default"),
              static_cast<long long>(settings.first), static_cast<long long>(settings.first + settings.count),
              settings.profile.c_str(), static_cast<long long>(limits.max_outputs), limits.max_macs,
              static_cast<long long>(limits.max_input_elements), runner.launcher_count(),
              settings.launcher_filter.empty() ? "" : " matching ", settings.launcher_filter.c_str(),
              TILECONV_TEST_EPILOGUES ? "on" : "off (TILECONV_TEST_EPILOGUES)",
              TILECONV_TEST_SPLIT_K ? "on" : "off (TILECONV_TEST_SPLIT_K)");
  std::fflush(stdout);

  auto const start = std::chrono::steady_clock::now();
  for (std::int64_t index = settings.first; index < settings.first + settings.count; ++index) {
    runner.run_case(draw_fuzz_case(settings.seed, index, limits));
  }
  double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  FuzzTotals const& totals = runner.totals();
  std::printf("tileconv fuzz: %lld cases, %lld launches, %lld failures in %.1f s (seed %llu)\n",
              static_cast<long long>(totals.cases), static_cast<long long>(totals.launches),
              static_cast<long long>(totals.failures), seconds, static_cast<unsigned long long>(settings.seed));
  for (auto const& [name, launches] : totals.launches_by_launcher) {
    std::printf("  %-62s %6lld launches, worst relative_l2 %.2e\n", name.c_str(), static_cast<long long>(launches),
                totals.worst_l2_by_launcher.at(name));
  }
  std::printf("  features:");
  for (auto const& [feature, count] : totals.features) {
    std::printf(" %s %lld,", feature.c_str(), static_cast<long long>(count));
  }
  std::printf("\n");
  std::fflush(stdout);

  INFO("seed " << settings.seed << ": " << totals.failures << " failing launches, printed above");
  CHECK(totals.failures == 0);
  CHECK(totals.cases == settings.count);
  if (settings.count > 0 && settings.launcher_filter.empty()) {
    CHECK(totals.launches >= totals.cases); // every case ran at least the default launcher
  }
}

TEST_CASE("the fuzz runner catches a planted wrong element, NaN, out-of-bounds store and refusal",
          "[gpu][fuzz][selfcheck]") {
  // The default launcher followed by one planted bug each, on a few small cases: every launch must be counted as a
  // failure, and the report must hold what replays it.
  auto planted = [](std::string name, std::function<cudaError_t(Conv2dArguments const&, cudaStream_t)> bug) {
    Launcher launcher;
    launcher.name = "planted: " + std::move(name);
    launcher.launch = [bug](Conv2dArguments const& args, cudaStream_t stream) {
      Status const status = tileconv::conv2d(args, stream);
      return status != Status::kSuccess || bug(args, stream) != cudaSuccess ? Status::kErrorCudaRuntime : status;
    };
    return launcher;
  };
  auto middle = [](Conv2dArguments const& args) { return args.output + args.problem.output_elements() / 2; };
  std::vector<Launcher> launchers = {
      planted("one element 3.4e38",
              [&](Conv2dArguments const& a, cudaStream_t s) { return cudaMemsetAsync(middle(a), 0x7F, 4, s); }),
      planted("one element left NaN",
              [&](Conv2dArguments const& a, cudaStream_t s) { return cudaMemsetAsync(middle(a), 0xFF, 4, s); }),
      planted("a store one past the end",
              [](Conv2dArguments const& a, cudaStream_t s) {
                return cudaMemsetAsync(a.output + a.problem.output_elements(), 0, 4, s);
              }),
      planted("a store one before the start",
              [](Conv2dArguments const& a, cudaStream_t s) { return cudaMemsetAsync(a.output - 1, 0, 4, s); }),
      {"planted: a refusal", [](Conv2dArguments const&, cudaStream_t) { return Status::kErrorNotSupported; }},
  };
  FuzzSettings settings;
  settings.profile = "sanitizer";
  settings.limits = FuzzSettings::limits_of_profile(settings.profile);
  FuzzRunner runner(settings, current_device_info(), launchers, false, true);
  constexpr int kCases = 3;
  for (std::int64_t index = 0; index < kCases; ++index) {
    runner.run_case(draw_fuzz_case(settings.seed, index, settings.limits));
  }
  FuzzTotals const& totals = runner.totals();
  CHECK(totals.failures == kCases * static_cast<std::int64_t>(launchers.size()));
  INFO(totals.last_failure);
  CHECK(totals.last_failure.find("TILECONV_FUZZ_SEED=" + std::to_string(settings.seed) +
                                 " TILECONV_FUZZ_FIRST=2 "
                                 "TILECONV_FUZZ_COUNT=1 TILECONV_FUZZ_PROFILE=sanitizer") != std::string::npos);
  CHECK(totals.last_failure.find("problem.batch = ") != std::string::npos);
  CHECK(totals.last_failure.find("F.conv2d(") != std::string::npos);
}

} // namespace test
} // namespace tileconv
