#pragma once

/// \file direct_conv2d.cuh
/// The host launcher of the direct path (depthwise, and groups of few channels): validate, choose the tile, launch
/// on the caller's stream. No allocation, no synchronization.

#include <tileconv/device/direct_conv2d.cuh>
#include <tileconv/device/direct_mma_conv2d.cuh>
#include <tileconv/device_info.cuh>
#include <tileconv/epilogue/epilogue_traits.cuh>
#include <tileconv/host/check_arguments.cuh>
#include <tileconv/host/launch_plan.cuh>
#include <tileconv/host/tiled_tensor_map.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <climits>
#include <cstdint>

namespace tileconv {
namespace detail {

/// How one direct launch covers the output: tiles of `tile`'s shape, one block each.
struct DirectTiling {
  DirectTileShape tile;
  int channels = 1;              ///< output channels a thread: DirectConvPolicy::channels_per_thread
  std::int64_t slice_tiles = 0;  ///< ceil(batch * groups / tile.slices)
  std::int64_t row_tiles = 0;    ///< ceil(out_h / tile.rows)
  std::int64_t column_tiles = 0; ///< ceil(out_w / tile.columns)
  int smem_bytes = 0;            ///< dynamic shared memory per block

  constexpr std::int64_t blocks() const { return slice_tiles * row_tiles * column_tiles; }
};

} // namespace detail

/// The direct conv2d of groups with few channels: depthwise (groups == in_channels, out_channels = m * in_channels
/// for a depth multiplier m >= 1, so that output channel k reads input channel k / m alone), and grouped convs of at
/// most `detail::DirectConvPolicy::kMaxGroupChannels` input and output channels a group (ResNeXt's 32 groups of 4
/// to 16). Instead of the implicit GEMM, whose tiles would be mostly padding for a GEMM at most 16 wide and 16 R S
/// deep: 3x3 groups of 8 -> 8 channels at unit steps on TF32 tensor cores, one m16n8k8 a tap
/// (`detail::DirectMmaConv2d`, `uses_tensor_cores`); every other group size in exact FP32 (`detail::DirectConv2d`).
class DirectConv2d {
public:
  /// Whether `problem` has groups of few channels, the only case this path computes: one input channel a group
  /// (any multiplier), or more than one group of at most kMaxGroupChannels input and output channels each.
  static constexpr bool applies(Conv2dProblem const& problem) {
    if (problem.groups <= 0 || problem.in_channels <= 0 || problem.in_channels % problem.groups != 0 ||
        problem.out_channels % problem.groups != 0) {
      return false;
    }
    int const in_per_group = problem.in_channels_per_group();
    int const out_per_group = problem.out_channels_per_group();
    if (in_per_group == 1) {
      return out_per_group >= 1;
    }
    constexpr int kMax = detail::DirectConvPolicy::kMaxGroupChannels;
    return problem.groups > 1 && in_per_group <= kMax && out_per_group >= 1 && out_per_group <= kMax;
  }

  /// Whether the default launcher sends `problem` to this path on `device`: it `applies`, and its tiling fits the
  /// device (`choose_tiling` succeeds). Few-channel groups whose smallest tile does not (a large filter with large
  /// strides or dilations, e.g. 16 -> 7 channels a group, 8x8, stride 4, dilation 3, past the H100's 227 KiB) go to
  /// the implicit GEMM, whose tiles are fixed-size whatever the filter, stride and dilation.
  static bool takes(Conv2dProblem const& problem, DeviceInfo const& device) {
    detail::DirectTiling tiling_unused;
    return applies(problem) && choose_tiling(problem, device, &tiling_unused) == Status::kSuccess;
  }

  /// Every reason `run` would not launch, without CUDA calls: `check_arguments`, kErrorNotSupported where the
  /// problem's groups are not few-channel ones (`applies`), then `plan`'s reasons.
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
    detail::DirectTiling tiling;
    Status const status = choose_tiling(problem, device, &tiling);
    if (status != Status::kSuccess) {
      return status;
    }
    LaunchPlan result;
    result.grid = dim3(static_cast<unsigned>(tiling.blocks()), 1, 1);
    result.threads = detail::DirectConvPolicy::kThreads;
    result.smem_bytes = tiling.smem_bytes;
    result.sm_count = device.sm_count;
    int const by_smem = device.smem_per_sm / (tiling.smem_bytes + device.smem_reserved_per_block);
    int const by_threads = device.max_threads_per_sm / detail::DirectConvPolicy::kThreads;
    int const fixed_size = fixed_filter_size(problem);
    // registers: what the kernel's launch bounds guarantee (3x3 and the any-size kernel use exactly that many)
    int const by_registers = detail::DirectConvPolicy::min_blocks_per_sm(fixed_size * fixed_size, tiling.channels);
    result.blocks_per_sm = std::max(0, std::min({by_smem, by_threads, by_registers, device.max_blocks_per_sm}));
    result.occupancy_from_runtime = false;
    result.policy_name = uses_tensor_cores(problem) ? "direct-tf32" : "direct";
    double const covered = double(tiling.slice_tiles * tiling.tile.slices) * problem.out_channels_per_group() *
                           double(tiling.row_tiles * tiling.tile.rows) *
                           double(tiling.column_tiles * tiling.tile.columns);
    result.useful_fraction = double(problem.output_elements()) / covered;
    *plan = result;
    return Status::kSuccess;
  }

  /// Validates (the arguments, the tiling, then the epilogue's own `check`), then launches on `stream`; each output
  /// is stored as `epilogue(conv + bias, OutputCoord)`.
  /// Returns without launching on any error; on the CUDA-derived codes `*cuda_error` (if given) holds the
  /// runtime's error.
  /// @tparam Epilogue trivially copyable functor, `float operator()(float, OutputCoord const&) const` on the device
  template <class Epilogue>
  static Status run(Conv2dArguments const& args, Epilogue const& epilogue, DeviceInfo const& device,
                    cudaStream_t stream, cudaError_t* cuda_error = nullptr) {
    Status status = check_arguments(args);
    if (status == Status::kSuccess) {
      status = check_epilogue(epilogue, args);
    }
    if (status != Status::kSuccess) {
      return status;
    }
    detail::DirectTiling tiling;
    status = choose_tiling(args.problem, device, &tiling);
    if (status == Status::kSuccess) {
      status = detail::pending_cuda_error(cuda_error);
    }
    if (status != Status::kSuccess) {
      return status;
    }
    detail::DirectKernelParams<Epilogue> const params{
        detail::DirectConv2dParams::make(args, tiling.tile, tiling.channels,
                                         detail::DirectConv2dParams::can_vectorize(args)),
        epilogue};
    if (uses_tensor_cores(args.problem)) {
      return launch_staged<detail::DirectMmaConv2d<Epilogue, true>, detail::DirectMmaConv2d<Epilogue, false>>(
          args, params, tiling, device, stream, cuda_error);
    }
    switch (fixed_filter_size(args.problem)) {
    case 3:
      if (tiling.channels == 1) {
        return launch_staged<detail::DirectConv2d<3, 3, 1, Epilogue, true>, detail::DirectConv2d<3, 3, 1, Epilogue>>(
            args, params, tiling, device, stream, cuda_error);
      }
      return launch_channels<3, 3>(params, tiling, stream, cuda_error);
    case 5:
      return launch_staged<detail::DirectConv2d<5, 5, 1, Epilogue, true>, detail::DirectConv2d<5, 5, 1, Epilogue>>(
          args, params, tiling, device, stream, cuda_error);
    case 7:
      return launch_staged<detail::DirectConv2d<7, 7, 1, Epilogue, true>, detail::DirectConv2d<7, 7, 1, Epilogue>>(
          args, params, tiling, device, stream, cuda_error);
    default:
      return launch_channels<0, 0>(params, tiling, stream, cuda_error);
    }
  }

  /// Whether `run` launches the TF32 tensor-core kernel for `problem` (`detail::DirectMmaConv2d`): groups of 8 -> 8
  /// channels (`detail::DirectConvPolicy::uses_mma`) with a 3x3 filter at unit stride and dilation, whose tap
  /// offsets the kernel fixes at compile time; the exact FP32 kernels otherwise.
  static constexpr bool uses_tensor_cores(Conv2dProblem const& problem) {
    bool const unit_steps =
        problem.stride_h == 1 && problem.stride_w == 1 && problem.dilation_h == 1 && problem.dilation_w == 1;
    return applies(problem) && unit_steps && problem.filter_h == 3 && problem.filter_w == 3 &&
           detail::DirectConvPolicy::uses_mma(problem.in_channels_per_group(), problem.out_channels_per_group());
  }

  /// Whether `run`'s kernel for `args` on `device` has the copy engine stage its tile (TMA,
  /// `detail::DirectTensorMapParams`), where it has that form: the tensor-core kernel (its input a box a slice and its
  /// filter) and the fixed-size depthwise kernels (their input, one box a tile). Conditions: an H100/H200 in a build
  /// with sm_90a code (`kBuiltForSm90a`, as the wgmma kernels); the 16-byte row copies' conditions
  /// (`params.vectorized`: the input 16-byte aligned, in_w a multiple of 4, which the descriptor's strides need); a
  /// box's staged row, rows and planes within 256 elements each; the filter 16-byte aligned where it is boxed too; and
  /// the shared memory the form adds (`kExtraSmemBytes`) within the device's. Elsewhere every thread's cp.async copies
  /// stage the tile.
  template <class Epilogue>
  static bool uses_tensor_maps(Conv2dArguments const& args, detail::DirectConv2dParams const& params,
                               detail::DirectTiling const& tiling, DeviceInfo const& device) {
    constexpr int kMaxBoxElements = 256;
    bool const tensor_cores = uses_tensor_cores(args.problem);
    if (!tensor_cores && (fixed_filter_size(args.problem) == 0 || tiling.channels != 1)) {
      return false; // a kernel without the form
    }
    // the depthwise kernels' extra bytes do not depend on the filter size
    int const extra_smem_bytes = tensor_cores ? detail::DirectMmaConv2d<Epilogue, true>::kExtraSmemBytes
                                              : detail::DirectConv2d<3, 3, 1, Epilogue, true>::kExtraSmemBytes;
    return kBuiltForSm90a && device.compute_capability() == 90 && params.vectorized &&
           params.smem.pitch <= kMaxBoxElements && params.smem.rows <= kMaxBoxElements &&
           input_box_planes(args.problem, params) <= kMaxBoxElements &&
           (!tensor_cores || reinterpret_cast<std::uintptr_t>(args.filter) % 16 == 0) &&
           tiling.smem_bytes + extra_smem_bytes <= device.smem_per_block_optin;
  }

  /// The square filter size of the fixed-size kernel `run` launches for `problem`, or 0 for the any-size kernel.
  /// At a unit row step: the depthwise filter sizes of MobileNet, EfficientNet and ConvNeXt (taps in registers, a
  /// sliding window over the staged rows), and 3x3 for several input channels a group (ResNeXt's); everything else
  /// (strided and dilated rows included) runs the any-size kernel.
  static constexpr int fixed_filter_size(Conv2dProblem const& problem) {
    bool const unit_row_step = problem.stride_h == 1 && problem.dilation_h == 1;
    bool const square = problem.filter_h == problem.filter_w;
    int const size = problem.filter_h;
    if (!unit_row_step || !square) {
      return 0;
    }
    if (problem.in_channels_per_group() == 1) {
      return size == 3 || size == 5 || size == 7 ? size : 0;
    }
    return size == 3 ? size : 0;
  }

  /// The tile, grid and shared memory of `problem` on `device`; what `plan` reports and `run` launches.
  /// - Full output width up to kMaxTileColumns, else equal column tiles.
  /// - As many row groups of `rows_per_thread` rows as give each thread about one item (an item: the rows of one
  ///   column for one chunk of `channels` output channels), balanced over the row tiles.
  /// - Where one tile holds a whole plane (small images), several slices a block, again about one item a thread.
  /// - Then, while the shared memory exceeds a budget that leaves room for the blocks per SM the kernel's registers
  ///   allow (at most the 48 KiB a block gets without opt-in), fewer slices, fewer row groups, narrower columns, in
  ///   that order.
  static Status choose_tiling(Conv2dProblem const& problem, DeviceInfo const& device, detail::DirectTiling* tiling) {
    using Policy = detail::DirectConvPolicy;
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
    // plane and slice indices go through 32-bit FastDivmod on the device, slice0 + tile.slices included
    std::int64_t const slices = std::int64_t{problem.batch} * problem.groups;
    if (std::int64_t{problem.batch} * problem.out_channels > INT_MAX - Policy::kThreads ||
        std::int64_t{problem.batch} * problem.in_channels > INT_MAX - Policy::kThreads) {
      return Status::kErrorProblemTooLarge;
    }
    int const channels = Policy::channels_per_thread(problem.in_channels_per_group(), problem.out_channels_per_group());
    std::int64_t const chunks = ceil_div(problem.out_channels_per_group(), channels);
    std::int64_t const out_h = problem.out_h();
    std::int64_t const out_w = problem.out_w();
    int const rows_per_thread = Policy::rows_per_thread(channels);
    std::int64_t const row_groups = ceil_div(out_h, rows_per_thread);

    std::int64_t column_tiles = ceil_div(out_w, Policy::kMaxTileColumns);
    std::int64_t columns = ceil_div(out_w, column_tiles);
    std::int64_t groups = std::clamp<std::int64_t>(Policy::kThreads / (columns * chunks), 1, row_groups);
    std::int64_t row_tiles = ceil_div(row_groups, groups);
    groups = ceil_div(row_groups, row_tiles);
    std::int64_t tile_slices = row_tiles == 1 && column_tiles == 1
                                   ? std::clamp<std::int64_t>(Policy::kThreads / (groups * columns * chunks), 1, slices)
                                   : 1;

    std::int64_t const budget = std::min<std::int64_t>(
        kDefaultDynamicSmemLimit,
        std::int64_t{device.smem_per_sm} / Policy::min_blocks_per_sm(0, channels) - device.smem_reserved_per_block);
    auto shape = [&] {
      detail::DirectTileShape tile;
      tile.slices = static_cast<int>(tile_slices);
      tile.rows = static_cast<int>(groups * rows_per_thread);
      tile.columns = static_cast<int>(columns);
      return tile;
    };
    std::int64_t bytes = detail::DirectSmemLayout::bytes(problem, shape(), channels);
    while (bytes > budget) {
      if (tile_slices > 1) {
        tile_slices /= 2;
      } else if (groups > 1) {
        row_tiles = ceil_div(row_groups, groups / 2);
        groups = ceil_div(row_groups, row_tiles);
      } else if (columns > Policy::kMinTileColumns) {
        column_tiles = ceil_div(out_w, ceil_div(columns, 2));
        columns = ceil_div(out_w, column_tiles);
      } else {
        break; // the smallest tile; it may still fit with the opt-in
      }
      bytes = detail::DirectSmemLayout::bytes(problem, shape(), channels);
    }
    if (bytes > device.smem_per_block_optin) {
      return Status::kErrorSharedMemoryExceeded;
    }
    // The device's block coordinates are int (`detail::DirectBlock`): they reach at most the padded extent plus
    // the staged rows or columns of one tile, each below the staged floats.
    std::int64_t const staged_extent = bytes / std::int64_t{sizeof(float)} + detail::DirectSmemLayout::kAlignFloats;
    if (std::int64_t{problem.in_h} + problem.pad_top() + problem.pad_bottom() + staged_extent > INT_MAX ||
        std::int64_t{problem.in_w} + problem.pad_left() + problem.pad_right() + staged_extent > INT_MAX) {
      return Status::kErrorProblemTooLarge;
    }

    detail::DirectTiling result;
    result.tile = shape();
    result.channels = channels;
    result.slice_tiles = ceil_div(slices, tile_slices);
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

  /// `launch` of the FP32 kernel with the tiling's output channels a thread: 1 (only those for 5x5 and 7x7), 4 or 8.
  template <int kFilterH, int kFilterW, class Epilogue>
  static Status launch_channels(detail::DirectKernelParams<Epilogue> const& params, detail::DirectTiling const& tiling,
                                cudaStream_t stream, cudaError_t* cuda_error) {
    switch (tiling.channels) {
    case 1:
      return launch<detail::DirectConv2d<kFilterH, kFilterW, 1, Epilogue>>(params, tiling, stream, cuda_error);
    case 4:
      return launch<detail::DirectConv2d<kFilterH, kFilterW, 4, Epilogue>>(params, tiling, stream, cuda_error);
    default:
      return launch<detail::DirectConv2d<kFilterH, kFilterW, 8, Epilogue>>(params, tiling, stream, cuda_error);
    }
  }

  /// `launch` of `Mapped` (the copy engine's staging) where `uses_tensor_maps`, else of `Copied` (cp.async).
  template <class Mapped, class Copied, class Epilogue>
  static Status launch_staged(Conv2dArguments const& args, detail::DirectKernelParams<Epilogue> const& params,
                              detail::DirectTiling const& tiling, DeviceInfo const& device, cudaStream_t stream,
                              cudaError_t* cuda_error) {
    if (!uses_tensor_maps<Epilogue>(args, params.conv, tiling, device)) {
      return launch<Copied>(params, tiling, stream, cuda_error);
    }
    typename Mapped::Params mapped{params, {}, {}};
    // the input boxes land after the filter region: rounded up to whole 128-byte blocks (already so for the
    // tensor-core kernel's), within the functor's extra bytes
    constexpr int kAlignFloats = detail::kDirectTensorMapAlignment / static_cast<int>(sizeof(float));
    mapped.direct.conv.smem.filter_floats =
        (params.conv.smem.filter_floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
    Status const status = encode_tensor_maps(args, mapped.direct.conv, &mapped, cuda_error);
    return status == Status::kSuccess ? launch<Mapped>(mapped, tiling, stream, cuda_error) : status;
  }

  /// Planes of one input box: a slice's (its group's 8) for the tensor-core kernel, which issues a box a slice with
  /// the slice's filter box beside it; all of a tile's for the depthwise kernels.
  static int input_box_planes(Conv2dProblem const& problem, detail::DirectConv2dParams const& params) {
    return uses_tensor_cores(problem) ? params.group_in : params.tile.slices * params.group_in;
  }

  /// Writes the descriptors of `args`' input, and for the tensor-core kernel its filter, into `mapped`: the input as
  /// (columns, rows, planes) in boxes of the staged pitch x rows x `input_box_planes`, the filter as (a group's 72
  /// values of an output channel, output channels) in boxes of 72 x 8 (`detail::DirectTensorMapParams`).
  template <class Params>
  static Status encode_tensor_maps(Conv2dArguments const& args, detail::DirectConv2dParams const& params,
                                   Params* mapped, cudaError_t* cuda_error) {
    if (detail::tiled_map_encoder().error != cudaSuccess) {
      return detail::status_from_cuda(detail::tiled_map_encoder().error, cuda_error);
    }
    Conv2dProblem const& problem = args.problem;
    cuuint64_t const row_bytes = static_cast<cuuint64_t>(problem.in_w) * sizeof(float);
    cuuint64_t const input_dims[3] = {static_cast<cuuint64_t>(problem.in_w), static_cast<cuuint64_t>(problem.in_h),
                                      static_cast<cuuint64_t>(problem.batch) * problem.in_channels};
    cuuint64_t const input_strides[2] = {row_bytes, row_bytes * static_cast<cuuint64_t>(problem.in_h)};
    cuuint32_t const input_box[3] = {static_cast<cuuint32_t>(params.smem.pitch),
                                     static_cast<cuuint32_t>(params.smem.rows),
                                     static_cast<cuuint32_t>(input_box_planes(problem, params))};
    // the input streams from DRAM once (neighbouring tiles' halo rows meet in L2)
    bool encoded =
        detail::encode_tiled_float_map(&mapped->input_map, 3, args.input, input_dims, input_strides, input_box,
                                       CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_L2_256B);
    if (uses_tensor_cores(problem)) {
      constexpr cuuint32_t kGroupChannels = detail::DirectConvPolicy::kMmaGroupChannels;
      cuuint64_t const filter_row = static_cast<cuuint64_t>(params.group_in) * params.smem.taps;
      cuuint64_t const filter_dims[2] = {filter_row, static_cast<cuuint64_t>(problem.out_channels)};
      cuuint64_t const filter_strides[1] = {filter_row * sizeof(float)};
      cuuint32_t const filter_box[2] = {static_cast<cuuint32_t>(filter_row), kGroupChannels};
      // every block of a group re-reads its filter from L2
      encoded = encoded && detail::encode_tiled_float_map(&mapped->filter_map, 2, args.filter, filter_dims,
                                                          filter_strides, filter_box, CU_TENSOR_MAP_SWIZZLE_NONE,
                                                          CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
    }
    return encoded ? Status::kSuccess : Status::kErrorNotSupported;
  }

  /// @tparam Functor a `detail::DirectConv2d` or `detail::DirectMmaConv2d` of the tiling's channels a thread
  /// @tparam Params  the functor's parameters
  template <class Functor, class Params>
  static Status launch(Params const& params, detail::DirectTiling const& tiling, cudaStream_t stream,
                       cudaError_t* cuda_error) {
    auto const kernel = &detail::direct_conv2d_kernel<Functor, Params>;
    int const bytes = tiling.smem_bytes + Functor::kExtraSmemBytes;
    if (bytes > kDefaultDynamicSmemLimit) {
      // only tiles of large dilations or strides: the budget of choose_tiling keeps the others below the default
      Status const status = detail::own_cuda_call(
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), cuda_error);
      if (status != Status::kSuccess) {
        return status;
      }
    }
    kernel<<<static_cast<unsigned>(tiling.blocks()), Functor::kThreads, bytes, stream>>>(params);
    return detail::status_from_cuda(cudaGetLastError(), cuda_error);
  }
};

} // namespace tileconv
