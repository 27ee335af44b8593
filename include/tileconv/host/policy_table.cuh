#pragma once

/// \file policy_table.cuh
/// The tile policies the default launcher chooses from, which of them are candidates on each architecture, and what
/// the cost model (`host/kernel_choice.cuh`) knows about each of them there. Plain values: no CUDA call.
///
/// Adding a policy: one row in `TILECONV_FOR_EACH_POLICY` (its id, type and name), then one line in the candidate
/// list of each architecture that should consider it (`kSm90Candidates` for a Hopper-only one), with its measured
/// registers and step times. Nothing else in the launcher lists policies.

#include <tileconv/policy/default_policies.cuh>
#include <tileconv/policy/gather_kind.cuh>

#include <algorithm>
#include <type_traits>
#include <utility>

/// The policies of the launcher's table, one row each: X(id, policy type, name). The row's order is the tie-break
/// order of the cost model (earlier wins an exact tie).
#define TILECONV_FOR_EACH_POLICY(X)                                                                                    \
  X(kLargeTile, ::tileconv::LargeTilePolicy, "large-tile")                                                             \
  X(kNarrowTile, ::tileconv::NarrowTilePolicy, "narrow-tile")                                                          \
  X(kSmallTile, ::tileconv::SmallTilePolicy, "small-tile")                                                             \
  X(kSquareTile, ::tileconv::SquareTilePolicy, "square-tile")                                                          \
  X(kWgmmaSquare, ::tileconv::WgmmaSquarePolicy, "wgmma-square")                                                       \
  X(kWgmmaNarrow, ::tileconv::WgmmaNarrowPolicy, "wgmma-narrow")                                                       \
  X(kWgmmaSmall, ::tileconv::WgmmaSmallPolicy, "wgmma-small")                                                          \
  X(kWgmmaSpecialized, ::tileconv::WgmmaSpecializedPolicy, "wgmma-specialized")                                        \
  X(kWgmmaSpecializedSmall, ::tileconv::WgmmaSpecializedSmallPolicy, "wgmma-specialized-small")                        \
  X(kWgmmaSpecializedNarrow, ::tileconv::WgmmaSpecializedNarrowPolicy, "wgmma-specialized-narrow")                     \
  X(kWgmmaSpecializedThin, ::tileconv::WgmmaSpecializedThinPolicy, "wgmma-specialized-thin")                           \
  X(kWgmmaSpecializedWide, ::tileconv::WgmmaSpecializedWidePolicy, "wgmma-specialized-wide")                           \
  X(kWgmmaSpecializedSolo, ::tileconv::WgmmaSpecializedSoloPolicy, "wgmma-specialized-solo")

namespace tileconv {

/// A policy of the launcher's table (`TILECONV_FOR_EACH_POLICY`).
enum class PolicyId {
#define TILECONV_POLICY_ENUMERATOR(id, type, name) id,
  TILECONV_FOR_EACH_POLICY(TILECONV_POLICY_ENUMERATOR)
#undef TILECONV_POLICY_ENUMERATOR
};

/// How many policies the table has.
inline constexpr int kPolicyCount = 0
#define TILECONV_POLICY_COUNT(id, type, name) +1
    TILECONV_FOR_EACH_POLICY(TILECONV_POLICY_COUNT)
#undef TILECONV_POLICY_COUNT
    ;

/// The policy a launcher falls back to when no candidate can plan a problem: the one with the fewest resources, so
/// that its own checks name what is wrong.
inline constexpr PolicyId kFallbackPolicy = PolicyId::kSmallTile;

/// The short name of a policy of the table, as printed in plans and logs.
constexpr char const* to_string(PolicyId id) {
  switch (id) {
#define TILECONV_POLICY_NAME_CASE(id_, type, name)                                                                     \
  case PolicyId::id_:                                                                                                  \
    return name;
    TILECONV_FOR_EACH_POLICY(TILECONV_POLICY_NAME_CASE)
#undef TILECONV_POLICY_NAME_CASE
  }
  return "unknown";
}

namespace detail {

template <PolicyId kId> struct PolicyTypeOf;
#define TILECONV_POLICY_TYPE_OF(id_, type_, name)                                                                      \
  template <> struct PolicyTypeOf<PolicyId::id_> { using type = type_; };
TILECONV_FOR_EACH_POLICY(TILECONV_POLICY_TYPE_OF)
#undef TILECONV_POLICY_TYPE_OF

} // namespace detail

/// The policy type of a table entry.
/// @tparam kId the entry
template <PolicyId kId> using PolicyType = typename detail::PolicyTypeOf<kId>::type;

/// Calls `f` with a value of the policy type `id` names and returns what it returns, so that a launcher switches
/// once per call. Every policy of the table instantiates `f`, so it must return the same type for all of them.
/// An `id` outside the table (a cast integer) calls it with the fallback policy.
template <class F> auto with_policy(PolicyId id, F&& f) {
  switch (id) {
#define TILECONV_POLICY_DISPATCH_CASE(id_, type, name)                                                                 \
  case PolicyId::id_:                                                                                                  \
    return std::forward<F>(f)(type{});
    TILECONV_FOR_EACH_POLICY(TILECONV_POLICY_DISPATCH_CASE)
#undef TILECONV_POLICY_DISPATCH_CASE
  }
  return std::forward<F>(f)(PolicyType<kFallbackPolicy>{});
}

/// The table's name of `Policy`, or "custom" for a policy the table does not list.
/// @tparam Policy a `TilePolicy` or a struct with the same members
template <class Policy> constexpr char const* policy_name() {
#define TILECONV_POLICY_NAME_OF(id, type, name)                                                                        \
  if constexpr (std::is_same_v<Policy, type>) {                                                                        \
    return name;                                                                                                       \
  }
  TILECONV_FOR_EACH_POLICY(TILECONV_POLICY_NAME_OF)
#undef TILECONV_POLICY_NAME_OF
  return "custom";
}

/// One policy with one kind of gather as a candidate on one architecture, with what the cost model needs to know
/// about it there. A warp-specialized policy may have several rows: its register gather, its channels-last one, its
/// pointwise and its tap-shifted one, whose costs differ by more than a constant (registers, and with them blocks per
/// SM).
///
/// The cost model (`host/kernel_choice.cuh`) counts a block's work in steps, one BLOCK_R slice of the reduction
/// each. n blocks sharing an SM each take max(step_us_alone, n * step_us_shared) per step: one block alone is held
/// back by latency, several by the SM's throughput.
struct PolicyCandidate {
  PolicyId policy;             ///< the table's policy
  int registers_channel_tiled; ///< per thread with the channel-tiled (or channels-last) gather, from `ptxas -v`
  int registers_analytic;      ///< per thread with the analytic gather (a channels-last row: the same as the above)
  double step_us_alone;        ///< microseconds per step of a block alone on its SM
  double step_us_shared;       ///< microseconds of SM time per block-step when the SM is saturated
  /// kAuto: the times are of the channel-tiled gather, which the launcher takes where the channels allow it (the
  /// analytic one elsewhere, at `kAnalyticStepFactor`); kChannelsLast: of the channels-last gather, including its
  /// gain but not its copy pass, which the cost model adds (only where the channels allow the channel-tiled order);
  /// kPointwise, kTapShifted: of that gather, a candidate only where it applies (`GatherKind`).
  GatherKind gather = GatherKind::kAuto;
};

/// The candidates of one range of compute capabilities, and the memory rate the split-K reduction pass runs at.
struct ArchPolicies {
  char const* name;                  ///< e.g. "sm_80/86"
  int first_cc;                      ///< first compute capability of the row, as 10 * major + minor, e.g. 86
  int last_cc;                       ///< last compute capability of the row
  double reduce_bytes_per_us;        ///< split-K reduction pass: bytes moved per microsecond
  double launch_us;                  ///< fixed cost of one kernel launch, back to back on a stream
  PolicyCandidate const* candidates; ///< in tie-break order
  int candidate_count;               ///< entries of `candidates`
};

namespace detail {

// Step times: measured on the H100 (NVIDIA H100 80GB HBM3, CUDA 13.0, bench/results/h100.json, CUDA-event medians
// of the benchmark suite, every shape at split_k 1), in microseconds per BLOCK_R = 16 step including one step's worth
// of fixed cost per block (the model adds one step per block; see kernel_choice.cuh):
//   large  (128 x 256): r50_3x3_c256_14 0.188 ms = 64 blocks alone on their SMs x 145 steps -> 1.28 us;
//          r50_3x3_c64_56 0.181 ms = 4 blocks in turn x 37 steps -> 1.20 us; unet_c32_512 0.694 ms -> 1.14 us;
//          seed 6.62 ms -> 1.44 us (1 GB input streamed from DRAM). One block per SM (190-196 registers), so the
//          shared rate is never reached on the H100: taken equal to the alone rate. 1.25 us.
//   narrow (64 x 256): alone: r50_3x3_c256_14 0.133 ms (128 blocks, 145 steps) -> 0.89 us, b1_c512_14 0.252 ms
//          (8 blocks, 289 steps) -> 0.86 us; two per SM: r50_3x3_c128_28 0.130 ms -> 2 x 0.87 us, r50_3x3_c64_56
//          0.134 ms -> 2 x 0.89 us. One block already saturates the SM: 0.88 us for both.
//   small  (64 x 64), refitted after the 16-byte filter copies (perf-notes v5, the autotuner's picks of session 3,
//          5-repetition suite medians): shared: r50_3x3_c64_56 0.119 ms (1568 blocks, 5 per SM, 37 steps) -> 0.21 us
//          per block-step, r50_1x1_c256_56 0.0688 ms -> 0.29, resnext_g32_c256_28 (analytic) 0.200 ms -> 0.21, and
//          r50_3x3_c512_7 split 2 (4 blocks per SM, 145 steps) 0.172 ms -> at most 0.28: 0.25. Alone: at most 1.12 us
//          by r50_3x3_c512_7 (before v5: 1.08 at 2 blocks per SM): 1.0.
//   square (128 x 128, BLOCK_R 32: a step has the large tile's MACs; session 4 sweep, 10-run medians, reordered
//          filter rounded to TF32): alone: r50_3x3_c256_14 0.0983 ms (128 blocks, 73 steps) -> 1.31 us; two per SM:
//          seed 5.36 ms (247 blocks per SM, 19 steps) -> 2 x 1.14 us, r50_3x3_c128_28 0.0884 ms -> 2 x 1.15,
//          r50_3x3_c64_56 0.174 ms -> 2 x 1.28, unet_c32_512 0.639 ms -> 2 x 1.01: 1.3 alone, 1.2 shared.
//   wgmma  (sm_90a only, BLOCK_R 32; session 5 sweep, perf-notes v10, 10-run medians; candidates only where the
//          build has the sm_90a kernels, see make_launch_plan):
//          square (128 x 128, 2 per SM): shared: seed 4.06 ms (246.85 blocks per SM, 19 steps) -> 0.87 us; alone:
//          r50_3x3_c256_14 0.0843 ms (128 blocks, 73 steps) -> 1.15, r50_3x3_c512_7 0.149 ms (145 steps) -> 1.03: 1.1.
//          narrow (64 x 128, 2 per SM): shared: unet_c32_512 0.375 ms (62 blocks per SM, 10 steps) -> 0.60,
//          dil2_c64_128 0.109 ms -> 0.74, r50_3x3_c512_7 0.175 ms (2 per SM, 145 steps) -> 0.60: 0.68; alone:
//          b1_c512_14 unsplit 0.116 ms (8 blocks, 145 steps) -> 0.8.
//          small (128 x 64, 1 warpgroup): alone: r50_3x3_c512_7 0.103 ms -> 0.71, b1_c512_14 0.112 ms -> 0.77: 0.75;
//          shared: r50_3x3_c256_14 0.094 ms (2 per SM, 73 steps) -> 0.64, seed 5.35 ms -> 0.57, and in the suite
//          r50_3x3_c512_7 split 2 0.115 ms (2 per SM, 73 steps, less ~10 us of reduction pass) -> 0.72: 0.68, which
//          keeps r50_3x3_c512_7 unsplit (0.103 ms, the autotuner's pick).
//          specialized (128 x 128, warp-specialized, one block per SM; session 7 sweep, perf-notes v12): alone:
//          r50_3x3_c256_14 0.0675 ms (128 blocks, 73 steps) -> 0.92, r50_3x3_c128_28 0.0699 ms (2 rounds of 37) ->
//          0.94, stride2_c128_56 0.0828 ms -> 1.1, seed 4.23 ms -> 0.86: 0.85, a little under the fit, because the
//          model's square tile at two blocks per SM is optimistic for grids of one round (r50_3x3_c128_28: 0.064 ms
//          estimated, 0.079 measured) and the specialized tile wins there; the seed shape then also takes it, 1%
//          slower than the square tile in the sweep. The channel-tiled gathers only (`make_launch_plan`; the cost model
//          derives the channels-last one's estimate, kernel_choice.cuh). Session 9
//          (perf-notes v14: the filter tile as one bulk copy from a tile image, the writer's tests once per tile;
//          H200 sweep, 40-run medians) took 7-12% off every row it leads (r50_3x3_c256_14 0.0694 -> 0.0643 ms,
//          r50_3x3_c128_28 -9%, seed -11%, stride2_c128_56 -12%): 0.85 x 0.9 = 0.77. Registers 127 (one block per SM
//          still); no choice of the suite changes.
//          specialized-small (128 x 64, the channels-last gather alone, so its times include that gather's gain and
//          the model adds its copy pass; session 12 sweep, H200, perf-notes v20): alone: r50_3x3_c512_7 0.0664-0.0675
//          ms (128 blocks, 145 steps, less ~8 us of copy pass and launch) -> 0.4; two per SM: r50_3x3_c256_14
//          0.0502-0.0511 (73 steps, less ~10 us) -> 0.28, r50_3x3_c128_28 0.0523-0.0530 (2 rounds of 37, less ~14
//          us) -> 0.26, and r50_3x3_c512_7 split 2 0.0705-0.0714 -> 0.38: 0.33, so that the model keeps the choices
//          the sweep measured best (the 128-pixel tile on the 14 x 14 and 28 x 28 maps, r50_3x3_c512_7 unsplit).
//          specialized, channels-last row: the channel-tiled row's times x 0.8, the gather's measured gain (H200,
//          session 12 sweep, perf-notes v18, kernel time alone: seed shape 0.73, r50_3x3_c512_7 0.75, c64_56 and dil2
//          0.77, r50_1x1_c256_56 0.79, c128_28 and c256_14 0.84, stride2_c128_56 0.9): 0.62.
//          specialized-narrow (64 x 128, the channels-last row alone; session 13 sweep, H200, perf-notes v21, less the
//          model's copy pass): two per SM: r50_3x3_c64_56 0.0715 ms (800 blocks, 18 steps) -> 0.36, dil2_c64_128
//          0.0827 (1024 blocks) -> 0.37, unet_c32_512 0.345 (8192 blocks, 9 steps) -> 0.40: 0.38; alone:
//          b1_c512_14 unsplit 0.0702 (16 blocks, 145 steps) -> 0.42. Its register gather (177 registers, one block
//          per SM) measured 1.3-1.5x slower on those rows, slower than wgmma-narrow: not a candidate.
//          specialized-thin (32 x 128, the channels-last row alone; session 13 sweep, H200, perf-notes v22, less the
//          model's copy pass): two per SM: unet_c32_512 0.273-0.278 ms (8192 blocks, 9 steps) -> 0.30, dil2_c64_128
//          0.113 (2048 blocks, 18 steps) -> 0.29, r50_3x3_c64_56 0.0938 (1600 blocks) -> 0.29: 0.29; alone:
//          b1_c512_14 unsplit 0.0698 (32 blocks, 145 steps) -> 0.42, the 64-channel tile's: a block alone waits on
//          latency, not on its wgmma.
//          specialized-narrow, pointwise row (1 x 1 convs, memory-bound; session 15 sweep, H200, perf-notes v27,
//          back-to-back launches, no pass before the conv): two per SM: r50_1x1_c256_56 40.5-41.1 us (800 tiles, 9
//          steps) -> 0.53, 64 -> 256 at 56 x 56 42.5-43.4 us (3200 tiles, 3 steps) -> 0.51, 512 -> 128 at 28 x 28
//          30.8-31.0 us (17 steps) -> 0.41, 1024 -> 256 at 14 x 14 30.3-31.0 us (33 steps) -> 0.42, 128 -> 512 at 28 x
//          28 35.3-36.0 us -> 0.46: 0.47; alone: not measured, taken as the shared rate of two (memory-bound: a block
//          alone streams no faster than a pair would let it): 0.94.
//          specialized-narrow and -thin, tap-shifted rows (stride-1 convs with rows as wide as the input's; session 17
//          sweep, H200, perf-notes v29, back-to-back launches, no pass before the conv): narrow, two per SM:
//          r50_3x3_c64_56 0.0676 ms (784 tiles, 18 steps) -> 0.57, r50_3x3_c128_28 0.0825 (400 tiles, 36 steps) ->
//          0.54, dil2_c64_128 0.0856 (1024 tiles) -> 0.54; set to 0.62, so that the model keeps the channels-last
//          gather wherever the input's copy fits, as measured on each (the model's channels-last estimate of
//          r50_3x3_c64_56 is 72.9 us against 61.6 measured). thin, two per SM: unet_c32_512 0.2551 (8192 tiles, 9
//          steps) -> 0.39, r50_3x3_c64_56 0.0986 -> 0.41, dil2_c64_128 0.1287 -> 0.41, r50_3x3_c128_28 0.1308 ->
//          0.43: 0.43, which keeps unet_c32_512 on the channels-last gather (0.2313 ms). Alone: not measured, twice the
//          shared rate. They win where the workspace holds the filter's tile image but not the input's copy.
//          specialized-wide and -solo, pointwise rows (one block per SM; session 21 sweep, H200, perf-notes v39,
//          back-to-back launches, the narrow row's shapes): the two have the same tiles and rounds on every 1 x 1 layer
//          of more than 64 output channels (8192 outputs a tile), so only their ratio matters there: the solo tile's
//          steps measured 0.84-0.87x the narrow tile's pair-steps on the 28 x 28 and 14 x 14 layers (0.81 and 0.77 us)
//          and 0.66x on 256 -> 128 at 56 x 56, the wide tile's 0.93-0.97x on every layer: 0.8 and 0.89, against the
//          narrow row's 2 x 0.47. Fitted on the same basis as the narrow row (whose 0.47 holds on the 28 x 28 and
//          14 x 14 layers, 0.63-0.65 on the 56 x 56 ones, DRAM-bound), so that the ranking among the three is the
//          sweep's: wide on r50_1x1_c256_56 (36.5 us, narrow 38.0, solo 44.4: half its channels padding) and solo on
//          the wider layers (46.2-47.3 us at 56 x 56, 28.3-30.4 at 28 x 28 and 14 x 14, where the default launcher took
//          wgmma-specialized's register gather at 39-62 us), except 128 -> 512 at 28 x 28 (solo 37.2 against wide 35.2,
//          the same rounds). Registers: 160 and 254 (`ptxas -v`, sm_90a), one block per SM either way.
// The analytic gather costs 1.5x per step (kernel_choice.cuh). Registers: `nvcc -Xptxas -v` of each policy's kernel
// for both gathers with the identity epilogue (examples/conv2d_demo.cu), CUDA 13.0, re-read in session 4 after
// perf-notes v7 (the channel-tiled loop now exists with and without A rounding), and for sm_90a in session 9 after
// perf-notes v14 (the output writer's per-tile stores): no block count changed. They only
// matter through the blocks per SM they allow: re-measure when a kernel's register count crosses a threshold (two
// square-tile blocks fit at any count a thread can have, 255).
inline constexpr PolicyCandidate kSm90Candidates[] = {
    {PolicyId::kLargeTile, 208, 246, 1.25, 1.25},
    {PolicyId::kNarrowTile, 122, 98, 0.88, 0.88},
    {PolicyId::kSmallTile, 72, 72, 1.0, 0.25},
    {PolicyId::kSquareTile, 210, 255, 1.3, 1.2},
    {PolicyId::kWgmmaSquare, 128, 128, 1.1, 0.87},
    {PolicyId::kWgmmaNarrow, 110, 128, 0.8, 0.68},
    {PolicyId::kWgmmaSmall, 168, 168, 0.75, 0.68},
    {PolicyId::kWgmmaSpecialized, 127, 127, 0.77, 0.77},
    {PolicyId::kWgmmaSpecialized, 127, 127, 0.62, 0.62, GatherKind::kChannelsLast},
    {PolicyId::kWgmmaSpecializedSmall, 98, 98, 0.4, 0.33, GatherKind::kChannelsLast},
    {PolicyId::kWgmmaSpecializedNarrow, 108, 108, 0.42, 0.38, GatherKind::kChannelsLast},
    {PolicyId::kWgmmaSpecializedNarrow, 128, 128, 0.94, 0.47, GatherKind::kPointwise},
    {PolicyId::kWgmmaSpecializedNarrow, 128, 128, 1.24, 0.62, GatherKind::kTapShifted},
    {PolicyId::kWgmmaSpecializedThin, 127, 127, 0.86, 0.43, GatherKind::kTapShifted},
    {PolicyId::kWgmmaSpecializedThin, 80, 80, 0.42, 0.29, GatherKind::kChannelsLast},
    {PolicyId::kWgmmaSpecializedWide, 160, 160, 0.89, 0.89, GatherKind::kPointwise},
    {PolicyId::kWgmmaSpecializedSolo, 254, 254, 0.8, 0.8, GatherKind::kPointwise},
};

// Not measured on these GPUs: the H100's step times scaled, argued from clocks and TF32 mma rates. The kernels are
// latency- and issue-bound, so the A100 (1.41 GHz against the H100's 1.98 GHz) is taken 1.4x slower per step. GeForce
// Ada has a quarter of the A100's TF32 mma rate per SM and clock: 0.65 TFLOP/s per SM on a 4090 at 2.52 GHz, below the
// ~0.84 TFLOP/s per SM that the large tile reaches on the H100, so it is taken 2.0x slower. The issue's sm_80/86 row is
// the A100's: an RTX 30 part (about as slow per SM as a 4090) is planned as an A100; only the split-K trade-off against
// the reduction's fixed cost depends on the absolute step time. Registers: `ptxas -v` for sm_80 and sm_89 (session 4,
// after perf-notes v7); sm_86 was the same as sm_80 when last measured.
inline constexpr double kAmpereStep = 1.4;
inline constexpr double kAdaStep = 2.0;
inline constexpr PolicyCandidate kSm80Candidates[] = {
    {PolicyId::kLargeTile, 210, 252, 1.25 * kAmpereStep, 1.25 * kAmpereStep},
    {PolicyId::kNarrowTile, 124, 126, 0.88 * kAmpereStep, 0.88 * kAmpereStep},
    {PolicyId::kSmallTile, 80, 80, 1.0 * kAmpereStep, 0.25 * kAmpereStep},
};
inline constexpr PolicyCandidate kSm89Candidates[] = {
    {PolicyId::kLargeTile, 210, 252, 1.25 * kAdaStep, 1.25 * kAdaStep},
    {PolicyId::kNarrowTile, 124, 126, 0.88 * kAdaStep, 0.88 * kAdaStep},
    {PolicyId::kSmallTile, 72, 80, 1.0 * kAdaStep, 0.25 * kAdaStep},
};
// Newer architectures run the sm_90 build's PTX through the driver's JIT: the portable policies only (never a
// Hopper-specific one), with the H100's times and the largest register counts measured for any target.
inline constexpr PolicyCandidate kNewerCandidates[] = {
    {PolicyId::kLargeTile, 210, 252, 1.25, 1.25},
    {PolicyId::kNarrowTile, 124, 128, 0.88, 0.88},
    {PolicyId::kSmallTile, 80, 80, 1.0, 0.25},
};

template <class T, int kN> constexpr int count_of(T const (&)[kN]) { return kN; }

/// The most candidate rows of any architecture.
inline constexpr int kMaxCandidates = std::max(
    {count_of(kSm80Candidates), count_of(kSm89Candidates), count_of(kSm90Candidates), count_of(kNewerCandidates)});

// Reduction pass rates: 2.5 TB/s on the H100 (of ~3.35 TB/s HBM3 peak; the partial sums of small maps stay in its
// 50 MB L2, so this is conservative); the others in proportion to their DRAM: A100 1.5 TB/s (1.9-2.0 peak), RTX 4090
// 0.9 TB/s (1.0 peak). Launch: ~3 us back to back, an estimate, not measured here.
inline constexpr ArchPolicies kArchTable[] = {
    {"sm_80/86", 80, 88, 1.5e6, 3.0, kSm80Candidates, count_of(kSm80Candidates)},
    {"sm_89", 89, 89, 0.9e6, 3.0, kSm89Candidates, count_of(kSm89Candidates)},
    {"sm_90", 90, 90, 2.5e6, 3.0, kSm90Candidates, count_of(kSm90Candidates)},
    {"sm_100+", 91, 1000, 2.5e6, 3.0, kNewerCandidates, count_of(kNewerCandidates)},
};

} // namespace detail

/// The candidates for a device of `compute_capability` (10 * major + minor), or null before sm_80 (no TF32 mma).
constexpr ArchPolicies const* arch_policies(int compute_capability) {
  for (ArchPolicies const& row : detail::kArchTable) {
    if (compute_capability >= row.first_cc && compute_capability <= row.last_cc) {
      return &row;
    }
  }
  return nullptr;
}

} // namespace tileconv
