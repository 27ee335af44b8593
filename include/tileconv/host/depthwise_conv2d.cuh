#pragma once

/// \file depthwise_conv2d.cuh
/// The host launcher of the depthwise path (one input channel per group): validate, choose the tile, launch on the
/// caller's stream. No allocation, no synchronization.

#include <tileconv/device/depthwise_conv2d.cuh>
#include <tileconv/device_info.cuh>
#include <tileconv/host/check_arguments.cuh>
#include <tileconv/host/launch_plan.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <climits>
#include <cstdint>

namespace tileconv {
namespace detail {

/// How one depthwise launch covers the output: tiles of `tile`'s shape, one block each.
struct DepthwiseTiling {
  DepthwiseTileShape tile;
  std::int64_t plane_tiles = 0;  ///< ceil(batch * out_channels / tile.planes)
  std::int64_t row_tiles = 0;    ///< ceil(out_h / tile.rows)
  std::int64_t column_tiles = 0; ///< ceil(out_w / tile.columns)
  int smem_bytes = 0;            ///< dynamic shared memory per block

  constexpr std::int64_t blocks() const { return plane_tiles * row_tiles * column_tiles; }
};

} // namespace detail

/// Depthwise conv2d: groups == in_channels and out_channels = m * in_channels (depth multiplier m >= 1), so that
/// output channel k reads input channel k / m alone. A direct, bandwidth-bound kernel in exact FP32 (see
/// `detail::DepthwiseConv2d`) instead of the implicit GEMM, whose reduction would be only R * S deep.
class DepthwiseConv2d {
public:
  /// Whether `problem` has one input channel per group, the only case this path computes.
  static constexpr bool applies(Conv2dProblem const& problem) {
    return problem.groups == problem.in_channels && problem.in_channels > 0 &&
           problem.out_channels % problem.in_channels == 0;
  }

  /// Every reason `run` would not launch, without CUDA calls: `check_arguments`, kErrorNotSupported where the
  /// problem is not depthwise, then `plan`'s reasons.
  static Status can_implement(Conv2dArguments const& args, DeviceInfo const& device) {
    Status const status = check_arguments(args);
    if (status != Status::kSuccess) {
      return status;
    }
    LaunchPlan plan_unused;
    return plan(args.problem, device, &plan_unused);
  }

  /// The launch for `problem` on `device`, from the problem and the device alone (no CUDA call). Fills grid (one
  /// dimension: x), threads, smem_bytes, sm_count, useful_fraction and blocks_per_sm estimated from the shared
  /// memory, thread and block limits and the registers the kernel's launch bounds allow. The implicit-GEMM policy
  /// fields (block_oc ... stages, gather) do not apply to this path and stay 0 / kAuto.
  static Status plan(Conv2dProblem const& problem, DeviceInfo const& device, LaunchPlan* plan) {
    if (plan == nullptr) {
      return Status::kErrorNullPointer;
    }
    detail::DepthwiseTiling tiling;
    Status const status = choose_tiling(problem, device, &tiling);
    if (status != Status::kSuccess) {
      return status;
    }
    LaunchPlan result;
    result.grid = dim3(static_cast<unsigned>(tiling.blocks()), 1, 1);
    result.threads = detail::DepthwisePolicy::kThreads;
    result.smem_bytes = tiling.smem_bytes;
    result.sm_count = device.sm_count;
    int const by_smem = device.smem_per_sm / (tiling.smem_bytes + device.smem_reserved_per_block);
    int const by_threads = device.max_threads_per_sm / detail::DepthwisePolicy::kThreads;
    int const fixed_size = fixed_filter_size(problem);
    // registers: what the kernel's launch bounds guarantee (3x3 and the any-size kernel use exactly that many)
    int const by_registers = detail::DepthwisePolicy::min_blocks_per_sm(fixed_size * fixed_size);
    result.blocks_per_sm = std::max(0, std::min({by_smem, by_threads, by_registers, device.max_blocks_per_sm}));
    result.occupancy_from_runtime = false;
    double const covered = double(tiling.plane_tiles * tiling.tile.planes) *
                           double(tiling.row_tiles * tiling.tile.rows) *
                           double(tiling.column_tiles * tiling.tile.columns);
    result.useful_fraction = double(problem.output_elements()) / covered;
    *plan = result;
    return Status::kSuccess;
  }

  /// Validates, then launches on `stream`; each output is stored as `epilogue(conv + bias, OutputCoord)`.
  /// Returns without launching on any error; on the CUDA-derived codes `*cuda_error` (if given) holds the
  /// runtime's error.
  /// @tparam Epilogue trivially copyable functor, `float operator()(float, OutputCoord const&) const` on the device
  template <class Epilogue>
  static Status run(Conv2dArguments const& args, Epilogue const& epilogue, DeviceInfo const& device,
                    cudaStream_t stream, cudaError_t* cuda_error = nullptr) {
    Status status = check_arguments(args);
    if (status != Status::kSuccess) {
      return status;
    }
    detail::DepthwiseTiling tiling;
    status = choose_tiling(args.problem, device, &tiling);
    if (status == Status::kSuccess) {
      status = detail::pending_cuda_error(cuda_error);
    }
    if (status != Status::kSuccess) {
      return status;
    }
    detail::DepthwiseKernelParams<Epilogue> const params{
        detail::DepthwiseConv2dParams::make(args, tiling.tile, detail::DepthwiseConv2dParams::can_vectorize(args)),
        epilogue};
    switch (fixed_filter_size(args.problem)) {
    case 3:
      return launch<3, 3>(params, tiling, stream, cuda_error);
    case 5:
      return launch<5, 5>(params, tiling, stream, cuda_error);
    case 7:
      return launch<7, 7>(params, tiling, stream, cuda_error);
    default:
      return launch<0, 0>(params, tiling, stream, cuda_error);
    }
  }

  /// The square filter size of the fixed-size kernel `run` launches for `problem`, or 0 for the any-size kernel.
  /// The filter sizes of MobileNet, EfficientNet and ConvNeXt at a unit row step keep their taps in registers and
  /// slide over the staged rows; everything else (strided and dilated rows included) runs the any-size kernel.
  static constexpr int fixed_filter_size(Conv2dProblem const& problem) {
    bool const unit_row_step = problem.stride_h == 1 && problem.dilation_h == 1;
    bool const square = problem.filter_h == problem.filter_w;
    int const size = problem.filter_h;
    return unit_row_step && square && (size == 3 || size == 5 || size == 7) ? size : 0;
  }

  /// The tile, grid and shared memory of `problem` on `device`; what `plan` reports and `run` launches.
  /// - Full output width up to kMaxTileColumns, else equal column tiles.
  /// - As many row groups of kRowsPerThread rows as give each thread about one item, balanced over the row tiles.
  /// - Where one tile holds a whole plane (small images), several planes a block, again about one item a thread.
  /// - Then, while the shared memory exceeds a budget that leaves room for min_blocks_per_sm(0) blocks (at most the
  ///   48 KiB a block gets without opt-in), fewer planes, fewer row groups, narrower columns, in that order.
  static Status choose_tiling(Conv2dProblem const& problem, DeviceInfo const& device, detail::DepthwiseTiling* tiling) {
    using Policy = detail::DepthwisePolicy;
    Status const status = problem.validate();
    if (status != Status::kSuccess) {
      return status;
    }
    if (!applies(problem)) {
      return Status::kErrorNotSupported;
    }
    if (device.compute_capability() < 80) {
      return Status::kErrorArchNotSupported; // cp.async
    }
    std::int64_t const planes = std::int64_t{problem.batch} * problem.out_channels;
    // plane indices (and plane0 + tile.planes) go through 32-bit FastDivmod on the device
    if (planes > INT_MAX - Policy::kThreads) {
      return Status::kErrorProblemTooLarge;
    }
    std::int64_t const out_h = problem.out_h();
    std::int64_t const out_w = problem.out_w();
    std::int64_t const row_groups = ceil_div(out_h, Policy::kRowsPerThread);

    std::int64_t column_tiles = ceil_div(out_w, Policy::kMaxTileColumns);
    std::int64_t columns = ceil_div(out_w, column_tiles);
    std::int64_t groups = std::clamp<std::int64_t>(Policy::kThreads / columns, 1, row_groups);
    std::int64_t row_tiles = ceil_div(row_groups, groups);
    groups = ceil_div(row_groups, row_tiles);
    std::int64_t tile_planes = row_tiles == 1 && column_tiles == 1
                                   ? std::clamp<std::int64_t>(Policy::kThreads / (groups * columns), 1, planes)
                                   : 1;

    std::int64_t const budget = std::min<std::int64_t>(kDefaultDynamicSmemLimit,
                                                       std::int64_t{device.smem_per_sm} / Policy::min_blocks_per_sm(0) -
                                                           device.smem_reserved_per_block);
    auto shape = [&] {
      detail::DepthwiseTileShape tile;
      tile.planes = static_cast<int>(tile_planes);
      tile.rows = static_cast<int>(groups * Policy::kRowsPerThread);
      tile.columns = static_cast<int>(columns);
      return tile;
    };
    std::int64_t bytes = detail::DepthwiseSmemLayout::bytes(problem, shape());
    while (bytes > budget) {
      if (tile_planes > 1) {
        tile_planes /= 2;
      } else if (groups > 1) {
        row_tiles = ceil_div(row_groups, groups / 2);
        groups = ceil_div(row_groups, row_tiles);
      } else if (columns > Policy::kMinTileColumns) {
        column_tiles = ceil_div(out_w, ceil_div(columns, 2));
        columns = ceil_div(out_w, column_tiles);
      } else {
        break; // the smallest tile; it may still fit with the opt-in
      }
      bytes = detail::DepthwiseSmemLayout::bytes(problem, shape());
    }
    if (bytes > device.smem_per_block_optin) {
      return Status::kErrorSharedMemoryExceeded;
    }
    // The device's block coordinates are int (`detail::DepthwiseBlock`): they reach at most the padded extent plus
    // the staged rows or columns of one tile, each below the staged floats.
    std::int64_t const staged_extent = bytes / std::int64_t{sizeof(float)} + detail::DepthwiseSmemLayout::kAlignFloats;
    if (std::int64_t{problem.in_h} + problem.pad_top() + problem.pad_bottom() + staged_extent > INT_MAX ||
        std::int64_t{problem.in_w} + problem.pad_left() + problem.pad_right() + staged_extent > INT_MAX) {
      return Status::kErrorProblemTooLarge;
    }

    detail::DepthwiseTiling result;
    result.tile = shape();
    result.plane_tiles = ceil_div(planes, tile_planes);
    result.row_tiles = row_tiles;
    result.column_tiles = column_tiles;
    result.smem_bytes = static_cast<int>(bytes);
    if (result.blocks() > device.max_grid[0]) {
      return Status::kErrorGridTooLarge;
    }
    *tiling = result;
    return Status::kSuccess;
  }

private:
  /// The dynamic shared memory a block gets without cudaFuncAttributeMaxDynamicSharedMemorySize.
  static constexpr int kDefaultDynamicSmemLimit = 48 * 1024;

  static constexpr std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

  template <int kFilterH, int kFilterW, class Epilogue>
  static Status launch(detail::DepthwiseKernelParams<Epilogue> const& params, detail::DepthwiseTiling const& tiling,
                       cudaStream_t stream, cudaError_t* cuda_error) {
    using Functor = detail::DepthwiseConv2d<kFilterH, kFilterW, Epilogue>;
    auto const kernel = &detail::depthwise_conv2d_kernel<Functor, detail::DepthwiseKernelParams<Epilogue>>;
    if (tiling.smem_bytes > kDefaultDynamicSmemLimit) {
      // only tiles of large dilations or strides: the budget of choose_tiling keeps the others below the default
      Status const status = detail::own_cuda_call(
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, tiling.smem_bytes), cuda_error);
      if (status != Status::kSuccess) {
        return status;
      }
    }
    kernel<<<static_cast<unsigned>(tiling.blocks()), Functor::kThreads, tiling.smem_bytes, stream>>>(params);
    return detail::status_from_cuda(cudaGetLastError(), cuda_error);
  }
};

} // namespace tileconv
