#pragma once

/// \file launch_plan.cuh
/// The grid, block and occupancy of one launch, computed on the host from the problem and a `DeviceInfo`
/// alone, so that it can be tested without a GPU and printed for users.

#include <tileconv/device_info.cuh>
#include <tileconv/host/im2col_tensor_map.cuh>
#include <tileconv/host/plane_box_tensor_map.cuh>
#include <tileconv/host/policy_table.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/policy/mma_kind.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tileconv {

/// Why a plan has its policy: static strings, so that a plan can be copied freely and compared by pointer in tests.
namespace choice_reason {
/// `make_launch_plan<Policy>`: the caller named the policy.
inline constexpr char kFixedPolicy[] = "policy fixed by the caller";
} // namespace choice_reason

/// Whether this build has the wgmma kernels: TILECONV_SM90A is defined where every sm_90 target is sm_90a (the CMake
/// project defines it for its own targets when CMAKE_CUDA_ARCHITECTURES lists 90a; device/kernel.cuh refuses to
/// compile plain sm_90 code with it). The host compiler cannot tell sm_90 from sm_90a on its own.
#if defined(TILECONV_SM90A)
inline constexpr bool kBuiltForSm90a = true;
#else
inline constexpr bool kBuiltForSm90a = false;
#endif

namespace detail {

/// Steps of the reduction one output tile takes: ceil(gemm_k / block_r), BLOCK_R reduction elements each.
constexpr std::int64_t k_tiles(Conv2dProblem const& problem, int block_r) {
  return (std::int64_t{problem.gemm_k()} + block_r - 1) / block_r;
}

/// Whether `split_k` splits `k_tiles` steps into split_k non-empty ranges of ceil(k_tiles / split_k) steps (the last
/// one shorter), the partition the split-K kernel uses. 7 steps split 4 ways is 2 + 2 + 2 + 1; split 6 ways it would be
/// 2 + 2 + 2 + 1 + 0 + 0, so 6 is not a split count of 7 steps.
constexpr bool is_split_count(std::int64_t k_tiles, int split_k) {
  if (split_k < 1 || k_tiles < 1) {
    return false;
  }
  std::int64_t const per_split = (k_tiles + split_k - 1) / split_k;
  return (k_tiles + per_split - 1) / per_split == split_k;
}

/// Bytes of a launch's copy of the filter in the workspace (reordered, or only rounded to TF32), 256-byte aligned so
/// that the split-K partial sums after it start aligned.
constexpr std::size_t filter_copy_bytes(Conv2dProblem const& problem) {
  std::size_t const bytes = static_cast<std::size_t>(problem.filter_elements()) * sizeof(float);
  return (bytes + 255) / 256 * 256;
}

/// Whether `Policy` has the channels-last gather alone (`WarpSpecializedTilePolicy::kChannelsLastOnly`); false for
/// every other policy.
template <class Policy> constexpr bool channels_last_only() {
  if constexpr (Policy::kWarpSpecialized) {
    return Policy::kChannelsLastOnly;
  } else {
    return false;
  }
}

/// Whether `Policy` has the gathers of plane boxes (`GatherKind::kPointwise`, `kTapShifted`): a warp-specialized
/// policy whose consumer warpgroups own multiples of 128 pixels, a thread's four pixels spanning two 64-pixel wgmma
/// slices (device/plane_box_warpgroup_mma.cuh).
template <class Policy> constexpr bool has_plane_box_gathers() {
  if constexpr (Policy::kWarpSpecialized) {
    return Policy::kMmasOw % 2 == 0;
  } else {
    return false;
  }
}

/// Bytes of the input's channels-last copy in the workspace (`GatherKind::kChannelsLast`): the input's size rounded to
/// 256 bytes, so that the partial sums after it start aligned, and 12 more, by which the launcher moves the filter's
/// copy and this one from a 4-byte aligned workspace's start to a 16-byte boundary.
constexpr std::size_t channels_last_copy_bytes(Conv2dProblem const& problem) {
  std::size_t const bytes = static_cast<std::size_t>(problem.input_elements()) * sizeof(float);
  return (bytes + 255) / 256 * 256 + 12;
}

/// The filter copy a launch of `Policy` cannot do without: a wgmma policy reads the filter as stored and TF32 wgmma
/// truncates it, so its launches read a copy rounded to TF32 (`filter_copy_bytes`); 0 for mma.sync policies, which
/// round their filter fragments themselves where the filter is read in place.
template <class Policy> constexpr std::size_t required_filter_copy_bytes(Conv2dProblem const& problem) {
  return Policy::kMma == MmaKind::kWarpgroup ? filter_copy_bytes(problem) : 0;
}

} // namespace detail

/// Bytes of one split's partial output in a split-K workspace: the output's size in float; 0 for an invalid problem.
constexpr std::size_t split_k_partial_bytes(Conv2dProblem const& problem) {
  return problem.validate() == Status::kSuccess ? static_cast<std::size_t>(problem.output_elements()) * sizeof(float)
                                                : 0;
}

/// Device memory a split-K launch of `problem` needs: `split_k` partial outputs of float, laid out
/// [split][output element]; 0 for split_k <= 1. Makes no CUDA call.
constexpr std::size_t split_k_workspace_bytes(Conv2dProblem const& problem, int split_k) {
  return split_k > 1 ? static_cast<std::size_t>(split_k) * split_k_partial_bytes(problem) : 0;
}

/// How a conv2d launch covers the output: one block per (pixel tile, channel tile, (image * groups + group) * split_k
/// + split), and with split-K a second pass that sums the splits.
struct LaunchPlan {
  // the policy
  char const* policy_name = "custom"; ///< the table's name of the policy (`policy_name<Policy>()`), or "custom"
  int block_oc = 0;
  int block_ow = 0;
  int block_r = 0;
  int warps_oc = 0;
  int warps_ow = 0;
  int stages = 0;
  GatherKind gather = GatherKind::kAuto; ///< resolved by the launcher for the problem

  // the reduction
  int split_k = 1;                    ///< splits of the reduction; > 1: partial sums to the workspace, then a sum pass
  std::int64_t k_tiles = 0;           ///< BLOCK_R steps of the whole reduction
  std::int64_t k_tiles_per_split = 0; ///< steps of one split (the last may have fewer)
  std::size_t workspace_bytes = 0;    ///< `split_k_workspace_bytes(problem, split_k)`

  // why
  char const* reason = choice_reason::kFixedPolicy; ///< why this policy and split count (a static string)
  double estimated_sm_utilization = 0.0; ///< the cost model's share of SM time doing tiles, split-K pass included;
                                         ///< 0 where the cost model did not choose the plan

  dim3 grid{1, 1, 1};    ///< x: pixel tiles of one image, y: channel tiles of one group, z: batch * groups * split_k
                         ///< (the gathers of plane boxes: x pixel tiles of the whole batch, z groups, see
                         ///< `make_launch_plan`)
  int threads = 0;       ///< per block
  int smem_bytes = 0;    ///< dynamic shared memory per block
  int sm_count = 0;      ///< of the device planned for
  int blocks_per_sm = 0; ///< resident blocks per SM
  bool occupancy_from_runtime = false; ///< blocks_per_sm from the occupancy API (counts registers), else estimated
                                       ///< from shared memory, thread and block limits only
  double useful_fraction = 0.0;        ///< output elements / elements the tiles cover (edge-tile waste)

  /// Blocks in the grid.
  constexpr std::int64_t blocks() const { return std::int64_t{grid.x} * grid.y * grid.z; }
  /// The grid of a persistent launch of the plan (the kernels of the gathers by TMA copies): one block per tile up to
  /// as many as are resident at once (SMs x blocks per SM), each walking its share of `grid`'s tiles in turn.
  dim3 persistent_grid() const {
    std::int64_t const resident = std::int64_t{sm_count} * std::max(blocks_per_sm, 1);
    return dim3(static_cast<unsigned>(std::max<std::int64_t>(std::min(blocks(), resident), 1)));
  }
  /// Blocks / (SMs * blocks per SM): how many times the GPU is filled.
  constexpr double waves() const {
    return blocks_per_sm > 0 ? double(blocks()) / (double(sm_count) * blocks_per_sm) : 0.0;
  }
  /// Fraction of block slots busy over all waves: waves / ceil(waves). 1.0 when the last wave is full.
  double wave_efficiency() const {
    double const w = waves();
    return w > 0.0 ? w / double(std::int64_t(w) + (w > double(std::int64_t(w)) ? 1 : 0)) : 0.0;
  }
  /// Fraction of the last wave's block slots that hold a block (the tail): 1.0 when it is full, 0.25 when the last
  /// wave is three-quarters empty.
  constexpr double last_wave_fill() const {
    std::int64_t const slots = std::int64_t{sm_count} * blocks_per_sm;
    if (slots <= 0 || blocks() <= 0) {
      return 0.0;
    }
    std::int64_t const tail = blocks() % slots;
    return tail == 0 ? 1.0 : double(tail) / double(slots);
  }
};

/// One line describing a plan, e.g. for a demo's output or a log: the policy and why, the split-K count, the grid,
/// the occupancy, the waves and their tail, the edge-tile waste and the estimated SM utilization.
inline std::string to_string(LaunchPlan const& plan) {
  char split[160];
  if (plan.split_k > 1) {
    std::snprintf(split, sizeof(split), "split-K %d (%lld of %lld steps each, %llu B workspace)", plan.split_k,
                  static_cast<long long>(plan.k_tiles_per_split), static_cast<long long>(plan.k_tiles),
                  static_cast<unsigned long long>(plan.workspace_bytes));
  } else {
    std::snprintf(split, sizeof(split), "no split-K (%lld steps)", static_cast<long long>(plan.k_tiles));
  }
  char utilization[64];
  if (plan.estimated_sm_utilization > 0.0) {
    std::snprintf(utilization, sizeof(utilization), "%.0f%%", 100.0 * plan.estimated_sm_utilization);
  } else {
    std::snprintf(utilization, sizeof(utilization), "not estimated");
  }
  char text[1024];
  std::snprintf(
      text, sizeof(text),
      "policy %s (BLOCK_OC=%d BLOCK_OW=%d BLOCK_R=%d warps=%dx%d stages=%d), %s gather, %s | why: %s | grid=(%u, %u, "
      "%u) = %lld blocks of %d threads, %d B shared memory | %d blocks/SM (%s) on %d SMs = %.2f waves, %.0f%% wave "
      "efficiency, last wave %.0f%% full | %.1f%% of tile outputs useful | estimated SM utilization %s",
      plan.policy_name, plan.block_oc, plan.block_ow, plan.block_r, plan.warps_oc, plan.warps_ow, plan.stages,
      to_string(plan.gather), split, plan.reason, plan.grid.x, plan.grid.y, plan.grid.z,
      static_cast<long long>(plan.blocks()), plan.threads, plan.smem_bytes, plan.blocks_per_sm,
      plan.occupancy_from_runtime ? "occupancy API" : "estimated from limits", plan.sm_count, plan.waves(),
      100.0 * plan.wave_efficiency(), 100.0 * plan.last_wave_fill(), 100.0 * plan.useful_fraction, utilization);
  return text;
}

/// Plans `problem` for tile policy `Policy` on `device`, its reduction split `split_k` ways: checks the problem, the
/// architecture, the shared memory, the split count and the grid limits, and fills `plan`, recording `gather` in it.
/// Makes no CUDA call. The gather's own condition on the problem is the launcher's (`Conv2d::can_implement`).
/// Returns kErrorInvalidSplitK for split_k < 1 or a split count that would leave a split empty (see
/// `detail::is_split_count`), and kErrorGridTooLarge where batch * groups * split_k exceeds the device's grid in z.
template <class Policy>
Status make_launch_plan(Conv2dProblem const& problem, DeviceInfo const& device, LaunchPlan* plan,
                        GatherKind gather = GatherKind::kAnalytic, int split_k = 1) {
  if (plan == nullptr) {
    return Status::kErrorNullPointer;
  }
  Status const status = problem.validate();
  if (status != Status::kSuccess) {
    return status;
  }
  if (device.compute_capability() < 80) {
    return Status::kErrorArchNotSupported;
  }
  // wgmma is sm_90a's alone: neither older parts nor newer ones (sm_100's tensor cores drop it) run it
  if (Policy::kMma == MmaKind::kWarpgroup && (device.compute_capability() != 90 || !kBuiltForSm90a)) {
    return Status::kErrorArchNotSupported;
  }
  // the warp-specialized producers have the channel-tiled gather, its channels-last form and the gathers of plane boxes
  // only (some of them the channels-last one alone), and only they copy by TMA: the channels-last copy through a map
  // that must be able to describe it, the pointwise one 1 x 1 convs and the tap-shifted one convs at stride 1 with
  // output rows as wide as the input's, both unsplit (the pointwise writer's 16-byte stores would need the partial
  // sums 16-byte aligned; the tap-shifted gather has not been measured split)
  bool const by_copies = detail::copies_by_tma(gather);
  bool const channel_tiled = gather == GatherKind::kChannelTiled || by_copies;
  if ((Policy::kWarpSpecialized ? !channel_tiled : by_copies) ||
      (gather == GatherKind::kChannelTiled && detail::channels_last_only<Policy>()) ||
      (gather == GatherKind::kChannelsLast && !detail::im2col_map_fits(problem)) ||
      (detail::copies_plane_boxes(gather) &&
       (!detail::has_plane_box_gathers<Policy>() || split_k != 1 ||
        !(gather == GatherKind::kPointwise ? detail::pointwise_applies(problem)
                                           : detail::tap_shifted_applies(problem))))) {
    return Status::kErrorNotSupported;
  }
  int const smem_bytes = Policy::kSmemBytes;
  // The tiles of the gathers of plane boxes are BLOCK_OW / 32 boxes of 32 pixels from the batch's output planes in
  // turn, so a tile may span images and only the plane's last box reaches past it (r50_1x1_c256_56: 784 tiles, not 32
  // images x 25 with the last half empty); x numbers them, and z holds the groups alone. Other gathers' tiles lie in
  // one image.
  bool const plane_boxes = detail::copies_plane_boxes(gather);
  std::int64_t const pixel_tiles =
      plane_boxes
          ? (problem.batch * detail::output_plane_boxes(problem) * detail::kPlaneBoxPixels + Policy::BLOCK_OW - 1) /
                Policy::BLOCK_OW
          : (std::int64_t{problem.gemm_n()} + Policy::BLOCK_OW - 1) / Policy::BLOCK_OW;
  if (smem_bytes > device.smem_per_block_optin) {
    return Status::kErrorSharedMemoryExceeded;
  }
  std::int64_t const channel_tiles = (std::int64_t{problem.gemm_m()} + Policy::BLOCK_OC - 1) / Policy::BLOCK_OC;
  std::int64_t const k_tiles = detail::k_tiles(problem, Policy::BLOCK_R);
  if (!detail::is_split_count(k_tiles, split_k)) {
    return Status::kErrorInvalidSplitK;
  }
  std::int64_t const images_groups_splits =
      plane_boxes ? std::int64_t{problem.groups} : std::int64_t{problem.batch} * problem.groups * split_k;
  if (pixel_tiles > device.max_grid[0] || channel_tiles > device.max_grid[1] ||
      images_groups_splits > device.max_grid[2]) {
    return Status::kErrorGridTooLarge;
  }
  // the warp-specialized blocks walk the tiles by a 32-bit number (`tile_of`)
  if (Policy::kWarpSpecialized && pixel_tiles * channel_tiles * images_groups_splits > INT_MAX) {
    return Status::kErrorGridTooLarge;
  }

  LaunchPlan result;
  result.policy_name = policy_name<Policy>();
  result.block_oc = Policy::BLOCK_OC;
  result.block_ow = Policy::BLOCK_OW;
  result.block_r = Policy::BLOCK_R;
  result.warps_oc = Policy::WARPS_OC;
  result.warps_ow = Policy::WARPS_OW;
  result.stages = Policy::STAGES;
  result.gather = gather;
  result.split_k = split_k;
  result.k_tiles = k_tiles;
  result.k_tiles_per_split = (k_tiles + split_k - 1) / split_k;
  result.workspace_bytes = split_k_workspace_bytes(problem, split_k);
  result.reason = choice_reason::kFixedPolicy;
  result.estimated_sm_utilization = 0.0;
  result.grid = dim3(static_cast<unsigned>(pixel_tiles), static_cast<unsigned>(channel_tiles),
                     static_cast<unsigned>(images_groups_splits));
  result.threads = Policy::kThreads;
  result.smem_bytes = smem_bytes;
  result.sm_count = device.sm_count;
  // Registers are unknown without the compiled kernel; the launcher replaces this with the occupancy API's count.
  int const by_smem = device.smem_per_sm / (smem_bytes + device.smem_reserved_per_block);
  int const by_threads = device.max_threads_per_sm / Policy::kThreads;
  result.blocks_per_sm = std::max(0, std::min({by_smem, by_threads, device.max_blocks_per_sm}));
  result.occupancy_from_runtime = false;
  double const covered_pixels = double(pixel_tiles * Policy::BLOCK_OW) * (plane_boxes ? 1 : problem.batch);
  result.useful_fraction = double(problem.gemm_m()) * problem.gemm_n() * problem.batch /
                           (double(channel_tiles * Policy::BLOCK_OC) * covered_pixels);
  *plan = result;
  return Status::kSuccess;
}

} // namespace tileconv
