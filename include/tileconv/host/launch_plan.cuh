#pragma once

/// \file launch_plan.cuh
/// The grid, block and occupancy of one launch, computed on the host from the problem and a `DeviceInfo`
/// alone, so that it can be tested without a GPU and printed for users.

#include <tileconv/device_info.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tileconv {

/// How a conv2d launch covers the output: one block per (pixel tile, channel tile, image * groups + group).
struct LaunchPlan {
  // the policy
  int block_oc = 0;
  int block_ow = 0;
  int block_r = 0;
  int warps_oc = 0;
  int warps_ow = 0;
  int stages = 0;
  GatherKind gather = GatherKind::kAuto; ///< resolved by the launcher for the problem

  dim3 grid{1, 1, 1};    ///< x: pixel tiles of one image, y: channel tiles of one group, z: batch * groups
  int threads = 0;       ///< per block
  int smem_bytes = 0;    ///< dynamic shared memory per block
  int sm_count = 0;      ///< of the device planned for
  int blocks_per_sm = 0; ///< resident blocks per SM
  bool occupancy_from_runtime = false; ///< blocks_per_sm from the occupancy API (counts registers), else estimated
                                       ///< from shared memory, thread and block limits only
  double useful_fraction = 0.0;        ///< output elements / elements the tiles cover (edge-tile waste)

  /// Blocks in the grid.
  constexpr std::int64_t blocks() const { return std::int64_t{grid.x} * grid.y * grid.z; }
  /// Blocks / (SMs * blocks per SM): how many times the GPU is filled.
  constexpr double waves() const {
    return blocks_per_sm > 0 ? double(blocks()) / (double(sm_count) * blocks_per_sm) : 0.0;
  }
  /// Fraction of block slots busy over all waves: waves / ceil(waves). 1.0 when the last wave is full.
  double wave_efficiency() const {
    double const w = waves();
    return w > 0.0 ? w / double(std::int64_t(w) + (w > double(std::int64_t(w)) ? 1 : 0)) : 0.0;
  }
};

/// One line describing a plan, e.g. for a demo's output or a log.
inline std::string to_string(LaunchPlan const& plan) {
  char text[512];
  std::snprintf(
      text, sizeof(text),
      "policy BLOCK_OC=%d BLOCK_OW=%d BLOCK_R=%d warps=%dx%d stages=%d, %s gather | grid=(%u, %u, %u) = %lld blocks "
      "of %d threads, %d B shared memory | %d blocks/SM (%s) on %d SMs = %.2f waves, %.0f%% wave "
      "efficiency | %.1f%% of tile outputs useful",
      plan.block_oc, plan.block_ow, plan.block_r, plan.warps_oc, plan.warps_ow, plan.stages, to_string(plan.gather),
      plan.grid.x, plan.grid.y, plan.grid.z, static_cast<long long>(plan.blocks()), plan.threads, plan.smem_bytes,
      plan.blocks_per_sm, plan.occupancy_from_runtime ? "occupancy API" : "estimated from limits", plan.sm_count,
      plan.waves(), 100.0 * plan.wave_efficiency(), 100.0 * plan.useful_fraction);
  return text;
}

/// Plans `problem` for tile policy `Policy` on `device`: checks the problem, the architecture, the shared memory
/// and the grid limits, and fills `plan`, recording `gather` in it. Makes no CUDA call. The gather's own condition
/// on the problem is the launcher's (`Conv2d::can_implement`).
template <class Policy>
Status make_launch_plan(Conv2dProblem const& problem, DeviceInfo const& device, LaunchPlan* plan,
                        GatherKind gather = GatherKind::kAnalytic) {
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
  int const smem_bytes = Policy::kSmemBytes;
  std::int64_t const pixel_tiles = (std::int64_t{problem.gemm_n()} + Policy::BLOCK_OW - 1) / Policy::BLOCK_OW;
  if (smem_bytes > device.smem_per_block_optin) {
    return Status::kErrorSharedMemoryExceeded;
  }
  std::int64_t const channel_tiles = (std::int64_t{problem.gemm_m()} + Policy::BLOCK_OC - 1) / Policy::BLOCK_OC;
  std::int64_t const images_groups = std::int64_t{problem.batch} * problem.groups;
  if (pixel_tiles > device.max_grid[0] || channel_tiles > device.max_grid[1] || images_groups > device.max_grid[2]) {
    return Status::kErrorGridTooLarge;
  }

  LaunchPlan result;
  result.block_oc = Policy::BLOCK_OC;
  result.block_ow = Policy::BLOCK_OW;
  result.block_r = Policy::BLOCK_R;
  result.warps_oc = Policy::WARPS_OC;
  result.warps_ow = Policy::WARPS_OW;
  result.stages = Policy::STAGES;
  result.gather = gather;
  result.grid = dim3(static_cast<unsigned>(pixel_tiles), static_cast<unsigned>(channel_tiles),
                     static_cast<unsigned>(images_groups));
  result.threads = Policy::kThreads;
  result.smem_bytes = smem_bytes;
  result.sm_count = device.sm_count;
  // Registers are unknown without the compiled kernel; the launcher replaces this with the occupancy API's count.
  int const by_smem = device.smem_per_sm / (smem_bytes + device.smem_reserved_per_block);
  int const by_threads = device.max_threads_per_sm / Policy::kThreads;
  result.blocks_per_sm = std::max(0, std::min({by_smem, by_threads, device.max_blocks_per_sm}));
  result.occupancy_from_runtime = false;
  result.useful_fraction = double(problem.gemm_m()) * problem.gemm_n() /
                           (double(channel_tiles * Policy::BLOCK_OC) * double(pixel_tiles * Policy::BLOCK_OW));
  *plan = result;
  return Status::kSuccess;
}

} // namespace tileconv
