#pragma once

/// \file kernel_choice.cuh
/// The default launcher's choice of tile policy and split-K count for a problem on a device: a small cost model over
/// the architecture's candidates (`host/policy_table.cuh`), deterministic, on the CPU, no CUDA call. The model, its
/// constants and where they come from: docs/launcher.md.

#include <tileconv/device_info.cuh>
#include <tileconv/host/launch_plan.cuh>
#include <tileconv/host/policy_table.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace tileconv {

/// `choose_kernel`'s workspace for "no limit": the choice is then the cost model's best, which needs
/// `KernelChoice::workspace_bytes`. `choose_kernel` with at least that many bytes makes the same choice.
inline constexpr std::size_t kUnlimitedWorkspace = std::numeric_limits<std::size_t>::max();

/// The most splits the cost model considers. Argued, not measured: beyond it the reduction pass reads 32+ partial
/// outputs per output, and no shape of bench/shapes.csv wants more (b1_c512_14, 4 large tiles, takes 32 on the H100).
inline constexpr int kMaxSplitK = 32;

namespace choice_reason {
/// Split-K chosen.
inline constexpr char kSplitK[] = "split-K: the output tiles fill less than one wave; splitting the reduction over "
                                  "more blocks fills the SMs and pays for its reduction pass";
/// No split-K although the model prefers it: the caller's workspace is too small.
inline constexpr char kSplitKNeedsWorkspace[] =
    "fastest without split-K; split-K would be faster but needs more workspace than given (conv2d_workspace_size)";
/// The winner wastes less of its tiles on padding past the output's edges than the runner-up.
inline constexpr char kLeastPadding[] = "fastest: least edge-tile padding for this output size";
/// The winner keeps more of the SMs busy than the runner-up (a fuller last wave, or more SMs in the only one).
inline constexpr char kMoreSmsBusy[] =
    "fastest: keeps more SMs busy (a fuller last wave) than the policies with more work per tile";
/// Same padding and SM occupancy: the winner does more work per SM and step.
inline constexpr char kMostWorkPerStep[] = "fastest: the most work per SM and step, the GPU filled alike";
/// Only one policy of the architecture's table can plan the problem.
inline constexpr char kOnlyCandidate[] = "the only policy of this architecture's table that can plan the problem";
/// No policy of the table can plan it (a device before sm_80, an invalid problem, a grid too large).
inline constexpr char kNoCandidate[] =
    "no policy of the table can plan this problem on this device; the fallback policy's checks name why";
/// The input copied channels-last first (GatherKind::kChannelsLast).
inline constexpr char kChannelsLast[] =
    "fastest: the input copied channels-last first, so that the producers copy whole 128-byte pixel rows; the copy "
    "pass costs less than it saves";
/// A 1 x 1 conv read in place by TMA copies (GatherKind::kPointwise).
inline constexpr char kPointwise[] =
    "fastest: a 1 x 1 conv, its input copied in place by TMA, 32 channels of the tile's consecutive pixels at a time";
/// A stride-1 conv with output rows as wide as the input's read in place by TMA (GatherKind::kTapShifted).
inline constexpr char kTapShifted[] = "fastest: a stride-1 conv whose output rows are as wide as the input's, its "
                                      "input copied in place by TMA, the tile's pixels shifted by each tap";
/// A runner-up that `kernel_candidates` lists for the autotuner.
inline constexpr char kAlternative[] = "a runner-up of the cost model, for the autotuner to time";
/// `autotune_conv2d` timed the candidates and this one was fastest.
inline constexpr char kAutotuned[] = "fastest of the candidates timed by autotune_conv2d";
} // namespace choice_reason

/// A policy of the table and how many ways to split the reduction, with why and what the cost model expects.
struct KernelChoice {
  PolicyId policy = kFallbackPolicy;
  GatherKind gather = GatherKind::kAuto; ///< kAuto, or a warp-specialized policy's gather by TMA copies
  int split_k = 1;                       ///< 1: no split-K; else `split_k_workspace_bytes(problem, split_k)` needed
  std::size_t workspace_bytes = 0;       ///< what the choice cannot run without: the split-K partial sums, and for a
                                         ///< wgmma policy the filter's TF32 copy before them (and the input's
                                         ///< channels-last copy between them)
  double estimated_sm_utilization = 0.0; ///< share of the SMs' time spent on tiles, split-K pass included (0..1)
  double estimated_us = 0.0; ///< the cost model's time, microseconds, calibrated on the H100: a ranking, not a
                             ///< promise (and only a ranking on other GPUs)
  char const* reason = choice_reason::kNoCandidate; ///< why (a static string from `choice_reason`)

  friend constexpr bool operator==(KernelChoice const& a, KernelChoice const& b) {
    return a.policy == b.policy && a.gather == b.gather && a.split_k == b.split_k &&
           a.workspace_bytes == b.workspace_bytes && a.estimated_sm_utilization == b.estimated_sm_utilization &&
           a.estimated_us == b.estimated_us && a.reason == b.reason;
  }
  friend constexpr bool operator!=(KernelChoice const& a, KernelChoice const& b) { return !(a == b); }
};

namespace detail {

/// The analytic gather's cost per step relative to the channel-tiled one. H100, seed shape, 128 x 256 tiles:
/// 10.2 ms analytic vs 6.70 ms channel-tiled (docs/perf-notes.md, v1).
inline constexpr double kAnalyticStepFactor = 1.5;
/// The rate of the operand pass before the main kernel (one launch), bytes read and written per microsecond: it copies
/// the filter (the TF32 copy or tile image the wgmma policies read, an mma.sync policy's reordered filter), and with
/// the channels-last gather the input too. The input's copy: 2.13 GB in 637 us on the seed shape's input, 184 MB in 59
/// us on r50_1x1_c256_56's (ncu, H200). On an H100 (3.35 TB/s of HBM3 against the H200's 4.8) it would take ~1.4x
/// longer, which would make the seed shape a near tie there. The filter's copy at the same rate: it is what the model
/// missed on b1_c512_14, whose 9.4 MB filter is the largest operand (session 20 sweep, H200, perf-notes v38: every
/// wgmma-specialized estimate 5-9 us under the measured time, the channel-tiled ones, whose filter pass is a launch of
/// its own, by 3 us more).
inline constexpr double kOperandPassBytesPerUs = 3.3e6;
/// A block's fixed cost (pipeline fill, epilogue), in steps. Argued: the prologue issues STAGES - 1 copies at once
/// and waits about one step's latency; the H100 step times of the table were fitted with it included.
inline constexpr double kFixedStepsPerBlock = 1.0;
/// Split-K must beat the best unsplit choice by this fraction of its time and by kSplitKMinSavingUs. Argued: the
/// split-K constants are not measured yet, a near-tie is not worth a second launch and a workspace, and below a few
/// microseconds the saving is within the uncertainty of the two launch costs (~3 us each, not measured here).
inline constexpr double kSplitKMargin = 0.10;
inline constexpr double kSplitKMinSavingUs = 5.0;

/// The gather `Conv2d<Policy, GatherKind::kAuto>` runs `problem` with: channel-tiled wherever in_channels / groups
/// is a multiple of BLOCK_R.
constexpr GatherKind auto_gather(Conv2dProblem const& problem, int block_r) {
  return problem.in_channels_per_group() % block_r == 0 ? GatherKind::kChannelTiled : GatherKind::kAnalytic;
}

/// Resident blocks per SM that `registers` per thread allow; the register file is allocated per warp in units of
/// 256 registers. A device without a register count (a hand-built DeviceInfo) is not limited.
constexpr int blocks_per_sm_by_registers(int registers, int threads, DeviceInfo const& device) {
  if (registers <= 0 || device.regs_per_sm <= 0 || threads <= 0) {
    return std::numeric_limits<int>::max();
  }
  int const per_warp = (registers * 32 + 255) / 256 * 256;
  return (device.regs_per_sm / per_warp) / ((threads + 31) / 32);
}

/// The candidate row of `policy` with `gather` on `arch` (a gather by TMA copies: its row of that gather; any
/// other: its kAuto row), or null where the architecture does not list it so.
constexpr PolicyCandidate const* find_candidate(ArchPolicies const& arch, PolicyId policy, GatherKind gather) {
  GatherKind const row_gather = copies_by_tma(gather) ? gather : GatherKind::kAuto;
  for (int i = 0; i < arch.candidate_count; ++i) {
    if (arch.candidates[i].policy == policy && arch.candidates[i].gather == row_gather) {
      return &arch.candidates[i];
    }
  }
  return nullptr;
}

/// The cost model's view of one (policy, split count).
struct Estimate {
  PolicyId policy = kFallbackPolicy;
  GatherKind gather = GatherKind::kAuto; ///< kAuto, or a gather by TMA copies (`copies_by_tma`)
  int order = 0;                         ///< position in the architecture's candidate list: the tie-break
  int split_k = 1;
  int stages = 0;                  ///< the policy's pipeline depth
  std::int64_t k_tiles = 0;        ///< steps of the whole reduction
  std::int64_t blocks = 0;         ///< blocks of the main kernel
  int blocks_per_sm = 0;           ///< estimated from shared memory, threads, block limit and measured registers
  double useful_fraction = 0.0;    ///< output elements / elements the tiles cover
  double time_us = 0.0;            ///< main kernel, plus the reduction pass where split
  double utilization = 0.0;        ///< SM time at the policy's saturated rate / (SMs * time)
  std::size_t workspace_bytes = 0; ///< what the launch cannot run as estimated without: split-K partial sums, and
                                   ///< for a wgmma policy the filter's TF32 copy (Conv2d::reordered_filter_bytes),
                                   ///< with the channels-last gather the input's copy

  /// Fills less than one wave: the condition for considering split-K.
  constexpr bool under_one_wave(int sm_count) const { return blocks < std::int64_t{sm_count} * blocks_per_sm; }
  /// Whether this estimate ranks before `other`: lower time, then fewer splits, then the table's order, then
  /// without the channels-last copy.
  constexpr bool before(Estimate const& other) const {
    if (time_us != other.time_us) {
      return time_us < other.time_us;
    }
    if (split_k != other.split_k) {
      return split_k < other.split_k;
    }
    if (order != other.order) {
      return order < other.order;
    }
    return gather != GatherKind::kChannelsLast && other.gather == GatherKind::kChannelsLast;
  }
};

/// What the cost model needs of one candidate on one problem, taken from its unsplit plan.
struct CandidateShape {
  PolicyCandidate const* candidate = nullptr;
  int order = 0;                         ///< position in the architecture's candidate list
  int stages = 0;                        ///< the policy's pipeline depth
  std::int64_t tiles = 0;                ///< output tiles: blocks of the unsplit launch
  std::int64_t k_tiles = 0;              ///< steps of the whole reduction
  std::int64_t grid_z = 0;               ///< batch * groups: grid z of the unsplit launch
  int blocks_per_sm = 0;                 ///< estimated from shared memory, threads, block limit and measured registers
  double useful_fraction = 0.0;          ///< output elements / elements the tiles cover
  double step_factor = 1.0;              ///< the gather's cost per step
  std::size_t filter_copy_bytes = 0;     ///< the filter's copy the policy needs in the workspace, 0 for mma.sync ones
  std::size_t filter_pass_bytes = 0;     ///< the filter's copy a launch makes by a pass before the main kernel where
                                         ///< the workspace holds it: filter_copy_bytes, or for an mma.sync policy
                                         ///< with a channel-tiled gather its optional reordered copy
  std::size_t channels_last_bytes = 0;   ///< the input's channels-last copy in the workspace, with that gather
  std::size_t partial_bytes = 0;         ///< one split's partial sums, the output's size (`split_k_partial_bytes`)
  GatherKind gather = GatherKind::kAuto; ///< kAuto, or a gather by TMA copies (kChannelsLast with the input's copy)
  double input_bytes = 0.0;              ///< which the channels-last copy reads once and writes once
};

/// Plans candidate `order` of `arch` unsplit. False where it cannot be planned (shared memory, grid, registers, a
/// channels-last, pointwise or tap-shifted row where the channels do not allow the channel-tiled order, a pointwise or
/// tap-shifted row where the gather does not apply or the tensors are not 16-byte aligned, `aligned_16`).
inline bool candidate_shape(Conv2dProblem const& problem, DeviceInfo const& device, ArchPolicies const& arch, int order,
                            bool aligned_16, CandidateShape* shape) {
  PolicyCandidate const& candidate = arch.candidates[order];
  return with_policy(candidate.policy, [&](auto policy) {
    using Policy = decltype(policy);
    GatherKind gather = auto_gather(problem, Policy::BLOCK_R);
    if (candidate.gather != GatherKind::kAuto) { // the forms of the channel-tiled gather by TMA copies
      if (gather != GatherKind::kChannelTiled || (copies_plane_boxes(candidate.gather) && !aligned_16)) {
        return false;
      }
      gather = candidate.gather;
    }
    LaunchPlan plan;
    if (make_launch_plan<Policy>(problem, device, &plan, gather, 1) != Status::kSuccess) {
      return false;
    }
    int const registers =
        gather != GatherKind::kAnalytic ? candidate.registers_channel_tiled : candidate.registers_analytic;
    int const blocks_per_sm =
        std::min(plan.blocks_per_sm, blocks_per_sm_by_registers(registers, Policy::kThreads, device));
    if (blocks_per_sm < 1 || device.sm_count < 1) {
      return false;
    }
    shape->candidate = &candidate;
    shape->order = order;
    shape->stages = Policy::STAGES;
    shape->tiles = plan.blocks();
    shape->k_tiles = plan.k_tiles;
    shape->grid_z = plan.grid.z;
    shape->blocks_per_sm = blocks_per_sm;
    shape->useful_fraction = plan.useful_fraction;
    shape->step_factor = gather == GatherKind::kAnalytic ? kAnalyticStepFactor : 1.0;
    // wgmma reads the filter as stored and truncates it to TF32: its step times (and accuracy) assume the rounded
    // copy the launcher makes in the workspace; read in place, the filter tiles also lose their 16-byte copies
    // (seed shape 11.7 ms instead of 4.3)
    // (the pointwise kernel rounds the filter stages it copies itself: no copy)
    shape->filter_copy_bytes = gather == GatherKind::kPointwise ? 0 : required_filter_copy_bytes<Policy>(problem);
    // as `Conv2d::reordered_filter_bytes`: every gather but the analytic one reads the reordered filter where the
    // workspace holds it
    shape->filter_pass_bytes = gather == GatherKind::kPointwise  ? 0
                               : gather != GatherKind::kAnalytic ? filter_copy_bytes(problem)
                                                                 : shape->filter_copy_bytes;
    shape->gather = copies_by_tma(gather) ? gather : GatherKind::kAuto;
    // the workspace's parts, once per candidate: `estimate` runs for up to kMaxSplitK split counts of each
    shape->channels_last_bytes = gather == GatherKind::kChannelsLast ? channels_last_copy_bytes(problem) : 0;
    shape->partial_bytes = split_k_partial_bytes(problem);
    shape->input_bytes = double(problem.input_elements()) * sizeof(float);
    return true;
  });
}

/// The estimate of `shape` split `split_k` ways, a valid split count whose grid fits (see `for_each_estimate`).
inline Estimate estimate(DeviceInfo const& device, ArchPolicies const& arch, CandidateShape const& shape, int split_k) {
  PolicyCandidate const& candidate = *shape.candidate;
  // One block's steps: its share of the reduction plus its fixed cost. n blocks sharing an SM each take
  // max(alone, n * shared) per step.
  double const steps = double((shape.k_tiles + split_k - 1) / split_k) + kFixedStepsPerBlock;
  auto const block_us = [&](int sharing) {
    return steps * shape.step_factor * std::max(candidate.step_us_alone, sharing * candidate.step_us_shared);
  };
  // The block scheduler spreads blocks over the SMs first, so the busiest SM gets ceil(blocks / SMs) of them and
  // runs them blocks_per_sm at a time: the last round is the tail.
  std::int64_t const blocks = shape.tiles * split_k;
  std::int64_t const per_sm = (blocks + device.sm_count - 1) / device.sm_count;
  std::int64_t const full_rounds = per_sm / shape.blocks_per_sm;
  int const tail = static_cast<int>(per_sm % shape.blocks_per_sm);
  double time_us =
      arch.launch_us + double(full_rounds) * block_us(shape.blocks_per_sm) + (tail > 0 ? block_us(tail) : 0.0);
  if (split_k > 1) {
    // the main kernel writes split_k partial outputs instead of the output (which the step times include), the
    // reduction pass reads them and writes the output
    time_us += arch.launch_us + double(2 * split_k) * double(shape.partial_bytes) / arch.reduce_bytes_per_us;
  }
  // the pass before the main kernel reads and writes the filter's copy, and the input's with the channels-last
  // gather. Charged also where an mma.sync policy's launch has no room for its optional copy: it then reads the filter
  // in place, slower, which the step times (fitted with the copy) do not show; argued to cost about as much, so that
  // the choice does not depend on the workspace beyond what fits.
  double const pass_bytes =
      2.0 * (double(shape.filter_pass_bytes) + (shape.gather == GatherKind::kChannelsLast ? shape.input_bytes : 0.0));
  if (pass_bytes > 0.0) {
    time_us += arch.launch_us + pass_bytes / kOperandPassBytesPerUs;
  }
  double const busy_us = double(blocks) * steps * shape.step_factor * candidate.step_us_shared;

  Estimate e;
  e.policy = candidate.policy;
  e.gather = shape.gather;
  e.order = shape.order;
  e.split_k = split_k;
  e.stages = shape.stages;
  e.k_tiles = shape.k_tiles;
  e.blocks = blocks;
  e.blocks_per_sm = shape.blocks_per_sm;
  e.useful_fraction = shape.useful_fraction;
  e.time_us = time_us;
  e.utilization = std::min(1.0, busy_us / (double(device.sm_count) * time_us));
  e.workspace_bytes = shape.filter_copy_bytes + shape.channels_last_bytes +
                      (split_k > 1 ? static_cast<std::size_t>(split_k) * shape.partial_bytes : 0);
  return e;
}

/// Calls `visit(Estimate const&)` for every candidate of the device's architecture that can be planned (the pointwise
/// and tap-shifted rows only with `aligned_16` tensors): unsplit, and where its tiles fill less than one wave,
/// split 2..kMaxSplitK ways (valid split counts only, each split at least STAGES steps long, since a shorter one never
/// overlaps its copies with math, and batch * groups * split_k within the grid's z; never the pointwise and tap-shifted
/// rows, which run unsplit). Each candidate is planned once; its other estimates are arithmetic on that plan.
template <class Visit>
void for_each_estimate(Conv2dProblem const& problem, DeviceInfo const& device, bool aligned_16, Visit&& visit) {
  ArchPolicies const* arch = arch_policies(device.compute_capability());
  if (arch == nullptr || problem.validate() != Status::kSuccess) {
    return;
  }
  for (int i = 0; i < arch->candidate_count; ++i) {
    CandidateShape shape;
    if (!candidate_shape(problem, device, *arch, i, aligned_16, &shape)) {
      continue;
    }
    Estimate const unsplit = estimate(device, *arch, shape, 1);
    visit(unsplit);
    if (!unsplit.under_one_wave(device.sm_count) || copies_plane_boxes(shape.gather)) {
      continue;
    }
    for (int split_k = 2; split_k <= kMaxSplitK; ++split_k) {
      if ((shape.k_tiles + split_k - 1) / split_k < shape.stages || shape.grid_z * split_k > device.max_grid[2]) {
        break;
      }
      if (is_split_count(shape.k_tiles, split_k)) {
        visit(estimate(device, *arch, shape, split_k));
      }
    }
  }
}

inline KernelChoice to_choice(Estimate const& e, char const* reason) {
  KernelChoice choice;
  choice.policy = e.policy;
  choice.gather = e.gather;
  choice.split_k = e.split_k;
  choice.workspace_bytes = e.workspace_bytes;
  choice.estimated_sm_utilization = e.utilization;
  choice.estimated_us = e.time_us;
  choice.reason = reason;
  return choice;
}

/// The best unsplit estimate and the best unsplit one of another policy, the best split one that fits
/// `workspace_bytes`, and the best split one at all.
struct BestEstimates {
  bool have_unsplit = false;
  bool have_runner_up = false;
  bool have_split_fitting = false;
  bool have_split_any = false;
  Estimate unsplit;
  Estimate runner_up;
  Estimate split_fitting;
  Estimate split_any;
};

inline BestEstimates best_estimates(Conv2dProblem const& problem, DeviceInfo const& device, std::size_t workspace_bytes,
                                    bool aligned_16) {
  BestEstimates best;
  for_each_estimate(problem, device, aligned_16, [&](Estimate const& e) {
    if (e.split_k == 1) {
      if (e.workspace_bytes > workspace_bytes) {
        return; // a wgmma policy without room for its filter copy
      }
      // one unsplit estimate per policy and gather: the best two are the winner and the runner-up
      if (!best.have_unsplit || e.before(best.unsplit)) {
        best.runner_up = best.unsplit;
        best.have_runner_up = best.have_unsplit;
        best.unsplit = e;
        best.have_unsplit = true;
      } else if (!best.have_runner_up || e.before(best.runner_up)) {
        best.runner_up = e;
        best.have_runner_up = true;
      }
      return;
    }
    if (!best.have_split_any || e.before(best.split_any)) {
      best.split_any = e;
      best.have_split_any = true;
    }
    if (e.workspace_bytes <= workspace_bytes && (!best.have_split_fitting || e.before(best.split_fitting))) {
      best.split_fitting = e;
      best.have_split_fitting = true;
    }
  });
  return best;
}

/// Whether split estimate `split` pays against the best unsplit one.
constexpr bool split_pays(Estimate const& split, Estimate const& unsplit) {
  return split.time_us < (1.0 - kSplitKMargin) * unsplit.time_us &&
         unsplit.time_us - split.time_us >= kSplitKMinSavingUs;
}

/// Why the unsplit winner of `best` on `arch` beat its runner-up, another policy (or its own channel-tiled gather).
inline char const* unsplit_reason(BestEstimates const& best, ArchPolicies const& arch) {
  if (best.unsplit.gather == GatherKind::kPointwise) {
    return choice_reason::kPointwise;
  }
  if (best.unsplit.gather == GatherKind::kTapShifted) {
    return choice_reason::kTapShifted;
  }
  bool const copy_chosen = best.unsplit.gather == GatherKind::kChannelsLast &&
                           find_candidate(arch, best.unsplit.policy, GatherKind::kAuto) != nullptr;
  if (copy_chosen) { // over the same policy's channel-tiled gather
    return choice_reason::kChannelsLast;
  }
  if (!best.have_runner_up) {
    return choice_reason::kOnlyCandidate;
  }
  Estimate const& winner = best.unsplit;
  Estimate const& runner_up = best.runner_up;
  constexpr double kClearly = 0.02; // differences below 2 points do not explain the choice
  if (winner.useful_fraction > runner_up.useful_fraction + kClearly) {
    return choice_reason::kLeastPadding;
  }
  if (winner.utilization > runner_up.utilization + kClearly) {
    return choice_reason::kMoreSmsBusy;
  }
  return choice_reason::kMostWorkPerStep;
}

} // namespace detail

/// The default launcher's choice for `problem` on `device` with `workspace_bytes` of workspace (0: no split-K;
/// `kUnlimitedWorkspace`: whatever the best choice needs). A choice needs its split-K partial sums
/// (`split_k_workspace_bytes`) to fit, and a wgmma policy also the filter's TF32 copy; the launcher's
/// `conv2d_workspace_size` may add room for more (the reordered filter of an mma.sync policy), which speeds a
/// launch up but is not needed to run it.
///
/// Per candidate policy of the device's architecture (`arch_policies`) and split count, the cost model estimates the
/// time: blocks = output tiles * split_k spread over the SMs, run blocks_per_sm at a time (shared memory, threads and
/// measured registers), each taking its share of the reduction's BLOCK_R steps at the policy's measured step time
/// (slower alone than shared, slower with the analytic gather), plus the split-K partial sums' traffic and the
/// reduction pass's launch, and the operand pass before the main kernel (the filter's copy, and the input's
/// channels-last copy with that gather). It returns the fastest unsplit choice unless a split one that fits the
/// workspace is clearly faster
/// (`detail::split_pays`); split-K is considered only for a policy whose tiles fill less than one wave.
/// Ties go to fewer splits, then to the table's order. Deterministic; no CUDA call. Where nothing can be planned
/// (device before sm_80, invalid problem, grid too large) it returns `kFallbackPolicy`, unsplit, with reason
/// `choice_reason::kNoCandidate`, so that the launcher's checks of that policy name the cause. `aligned_16`: whether
/// the call's input, filter, output and workspace are 16-byte aligned, as cudaMalloc's are; the pointwise and
/// tap-shifted gathers need them so (`detail::plane_boxes_aligned`).
inline KernelChoice choose_kernel(Conv2dProblem const& problem, DeviceInfo const& device, std::size_t workspace_bytes,
                                  bool aligned_16 = true) {
  detail::BestEstimates const best = detail::best_estimates(problem, device, workspace_bytes, aligned_16);
  if (!best.have_unsplit) {
    return KernelChoice{};
  }
  if (best.have_split_fitting && detail::split_pays(best.split_fitting, best.unsplit)) {
    return detail::to_choice(best.split_fitting, choice_reason::kSplitK);
  }
  if (best.have_split_any && detail::split_pays(best.split_any, best.unsplit)) {
    return detail::to_choice(best.unsplit, choice_reason::kSplitKNeedsWorkspace);
  }
  return detail::to_choice(best.unsplit, detail::unsplit_reason(best, *arch_policies(device.compute_capability())));
}

/// Up to `capacity` choices that fit `workspace_bytes`, for an autotuner to time: `choose_kernel`'s first; then the
/// best of the other kind (split-K if the first is unsplit, unsplit if it is split), even where the model's margin
/// ruled it out; then the best of each policy not yet listed; then the rest, fastest first. All distinct, their
/// estimates filled in, the runners-up with reason `choice_reason::kAlternative`. Returns how many it wrote.
/// `aligned_16` as for `choose_kernel`.
inline int kernel_candidates(Conv2dProblem const& problem, DeviceInfo const& device, std::size_t workspace_bytes,
                             KernelChoice* candidates, int capacity, bool aligned_16 = true) {
  if (candidates == nullptr || capacity <= 0) {
    return 0;
  }
  KernelChoice const first = choose_kernel(problem, device, workspace_bytes, aligned_16);
  if (first.reason == choice_reason::kNoCandidate) {
    return 0;
  }
  // every fitting estimate, fastest first (at most kMaxSplitK per candidate row)
  constexpr int kMaxEstimates = detail::kMaxCandidates * kMaxSplitK;
  detail::Estimate estimates[kMaxEstimates];
  int count = 0;
  detail::for_each_estimate(problem, device, aligned_16, [&](detail::Estimate const& e) {
    if (count < kMaxEstimates && e.workspace_bytes <= workspace_bytes) {
      estimates[count++] = e;
    }
  });
  std::sort(estimates, estimates + count,
            [](detail::Estimate const& a, detail::Estimate const& b) { return a.before(b); });

  int written = 0;
  bool taken[kMaxEstimates] = {};
  auto const listed = [&](detail::Estimate const& e) {
    for (int i = 0; i < written; ++i) {
      if (candidates[i].policy == e.policy && candidates[i].gather == e.gather && candidates[i].split_k == e.split_k) {
        return true;
      }
    }
    return false;
  };
  auto const take_first = [&](auto&& wanted) {
    for (int i = 0; i < count && written < capacity; ++i) {
      if (!taken[i] && !listed(estimates[i]) && wanted(estimates[i])) {
        taken[i] = true;
        candidates[written++] = detail::to_choice(estimates[i], choice_reason::kAlternative);
        return;
      }
    }
  };
  candidates[written++] = first;
  take_first([&](detail::Estimate const& e) { return (e.split_k > 1) != (first.split_k > 1); });
  for (int p = 0; p < kPolicyCount; ++p) {
    take_first([&](detail::Estimate const& e) {
      for (int i = 0; i < written; ++i) {
        if (candidates[i].policy == e.policy) {
          return false;
        }
      }
      return true;
    });
  }
  while (written < capacity) {
    int const before = written;
    take_first([](detail::Estimate const&) { return true; });
    if (written == before) {
      break;
    }
  }
  return written;
}

/// The plan of `choice` for `problem` on `device`: `make_launch_plan` of the choice's policy and split count with the
/// gather the launcher resolves (`detail::auto_gather`), blocks per SM limited by the table's measured registers, and
/// the choice's reason and estimated SM utilization. No CUDA call.
inline Status plan_kernel_choice(Conv2dProblem const& problem, DeviceInfo const& device, KernelChoice const& choice,
                                 LaunchPlan* plan) {
  if (plan == nullptr) {
    return Status::kErrorNullPointer;
  }
  return with_policy(choice.policy, [&](auto policy) {
    using Policy = decltype(policy);
    GatherKind const gather =
        detail::copies_by_tma(choice.gather) ? choice.gather : detail::auto_gather(problem, Policy::BLOCK_R);
    Status const status = make_launch_plan<Policy>(problem, device, plan, gather, choice.split_k);
    if (status != Status::kSuccess) {
      return status;
    }
    ArchPolicies const* arch = arch_policies(device.compute_capability());
    PolicyCandidate const* candidate =
        arch != nullptr ? detail::find_candidate(*arch, choice.policy, choice.gather) : nullptr;
    if (candidate != nullptr) {
      int const registers =
          gather != GatherKind::kAnalytic ? candidate->registers_channel_tiled : candidate->registers_analytic;
      plan->blocks_per_sm =
          std::min(plan->blocks_per_sm, detail::blocks_per_sm_by_registers(registers, Policy::kThreads, device));
    }
    plan->reason = choice.reason;
    plan->estimated_sm_utilization = choice.estimated_sm_utilization;
    return Status::kSuccess;
  });
}

} // namespace tileconv
