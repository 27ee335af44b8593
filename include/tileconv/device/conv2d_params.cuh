#pragma once

/// \file conv2d_params.cuh
/// What the kernel reads: the problem with every derived quantity precomputed on the host.

#include <tileconv/device/fast_divmod.cuh>
#include <tileconv/problem.cuh>

#include <cuda.h> // CUtensorMap, a type only: nothing here calls the driver

#include <cstdint>

namespace tileconv {
namespace detail {

/// Kernel parameters of one conv2d launch. Grid: x = output-pixel tiles of one image, y = output-channel tiles
/// of one group, z = (image * groups + group) * split_k + split; with the gathers of plane boxes, x = tiles of 32-pixel
/// boxes of the whole batch (`plane_boxes`), z = group.
struct Conv2dParams {
  float const* input = nullptr;
  float const* filter = nullptr;
  bool filter_reordered = false;     ///< filter in (K, R, S, C / groups) order and rounded to TF32
                                     ///< (device/filter_reorder.cuh), else PyTorch's, as given
  bool filter_vector_copies = false; ///< reordered and 16-byte aligned: tiles copied 16 bytes at a time
  bool filter_tile_image = false;    ///< the filter as a warp-specialized policy's stages, tile after tile
                                     ///< (device/filter_reorder.cuh, FilterTileImage), 16-byte aligned
  float const* bias = nullptr;
  float* output = nullptr;

  int in_h = 0;
  int in_w = 0;
  int in_plane = 0; ///< in_h * in_w
  int stride_h = 0;
  int stride_w = 0;
  int pad_h = 0;
  int pad_w = 0;
  int dilation_h = 0;
  int dilation_w = 0;

  int gemm_m = 0; ///< output channels per group
  int gemm_n = 0; ///< output pixels per image
  int gemm_k = 0; ///< in_channels / groups * filter_h * filter_w
  int channels_per_group = 0;
  int in_channels = 0; ///< floats between neighbouring pixels of a channels-last input
  int k_tiles = 0;     ///< ceil(gemm_k / BLOCK_R)

  /// Split-K: split s reduces k tiles [s * k_tiles_per_split, min((s + 1) * k_tiles_per_split, k_tiles)) and
  /// stores raw sums to partials[s * output_elements + offset]; a second kernel adds the splits in order.
  FastDivmod split_k;        ///< blockIdx.z -> (image * groups + group, split)
  int k_tiles_per_split = 0; ///< ceil(k_tiles / split_k)
  float* partials = nullptr; ///< split_k * output_elements floats of workspace, null when split_k == 1
  std::int64_t output_elements = 0;

  /// The TMA descriptors of the gathers by copies, read in place by the copies, so the kernel's parameters are
  /// `__grid_constant__`; other gathers leave them zero. activation_map: the channels-last gather's, of the input's
  /// NHWC copy in im2col mode (host/im2col_tensor_map.cuh), or the gathers' of plane boxes, of the NCHW input in tiled
  /// mode; filter_map: the pointwise gather's, of the filter as given; halo_map: the tap-shifted gather's, of the NCHW
  /// input in boxes of 4 pixels (host/plane_box_tensor_map.cuh).
  CUtensorMap activation_map{};
  CUtensorMap filter_map{};
  CUtensorMap halo_map{};

  FastDivmod filter_taps; ///< reduction index -> (channel, tap), tap = r * filter_w + s
  FastDivmod filter_w;    ///< tap -> (r, s)
  int filter_h = 0;       ///< where a walk over consecutive taps moves to the next channel
  FastDivmod out_w;       ///< output pixel -> (p, q)
  FastDivmod groups;      ///< image * groups + group -> (image, group)
  int batch = 0;          ///< images: the writer of plane boxes skips the boxes past them
  /// The gathers' of plane boxes: box number -> (image, box of the plane), the batch's output planes in ceil(plane /
  /// 32) boxes of 32 pixels each (device/plane_box_gather.cuh, `plane_box`); the launcher sets it.
  FastDivmod plane_boxes;

  /// The plan's grid of tiles, for kernels whose blocks walk it (`tile_of(params, tile)`): tile t is grid block
  /// (t % x, t / x % y, t / (x * y)).
  FastDivmod tiles_x;
  FastDivmod tiles_y;
  int tiles = 0; ///< x * y * z, below 2^31 (the plan refuses more for such kernels)

  // Tensor offsets are 64-bit: a tensor, and even one image of it, may exceed 2^31 elements. Coordinates within a
  // plane (in_plane, gemm_n) and the filter stay below 2^31 (Conv2dProblem::validate).
  std::int64_t input_image_stride = 0;  ///< in_channels * in_plane
  std::int64_t output_image_stride = 0; ///< out_channels * gemm_n
  std::int64_t input_group_stride = 0;  ///< in_channels / groups * in_plane
  std::int64_t output_group_stride = 0; ///< gemm_m * gemm_n
  int filter_group_stride = 0;          ///< gemm_m * gemm_k

  /// Precomputes everything from a validated problem and its buffers. With split_k > 1, `args.workspace` must
  /// hold split_k * output_elements floats (the launcher checks it).
  static Conv2dParams make(Conv2dArguments const& args, int block_r, int split_k = 1) {
    Conv2dProblem const& problem = args.problem;
    Conv2dParams params;
    params.input = args.input;
    params.filter = args.filter;
    params.bias = args.bias;
    params.output = args.output;
    params.in_h = problem.in_h;
    params.in_w = problem.in_w;
    params.in_plane = problem.in_h * problem.in_w;
    params.stride_h = problem.stride_h;
    params.stride_w = problem.stride_w;
    params.pad_h = problem.pad_h;
    params.pad_w = problem.pad_w;
    params.dilation_h = problem.dilation_h;
    params.dilation_w = problem.dilation_w;
    params.gemm_m = problem.gemm_m();
    params.gemm_n = problem.gemm_n();
    params.gemm_k = problem.gemm_k();
    params.channels_per_group = problem.in_channels_per_group();
    params.in_channels = problem.in_channels;
    params.k_tiles = (params.gemm_k + block_r - 1) / block_r;
    params.split_k = FastDivmod(split_k);
    params.k_tiles_per_split = (params.k_tiles + split_k - 1) / split_k;
    params.partials = split_k > 1 ? static_cast<float*>(args.workspace) : nullptr;
    params.output_elements = problem.output_elements();
    params.filter_taps = FastDivmod(problem.filter_h * problem.filter_w);
    params.filter_w = FastDivmod(problem.filter_w);
    params.filter_h = problem.filter_h;
    params.out_w = FastDivmod(problem.out_w());
    params.groups = FastDivmod(problem.groups);
    params.batch = problem.batch;
    params.input_image_stride = std::int64_t{problem.in_channels} * params.in_plane;
    params.output_image_stride = std::int64_t{problem.out_channels} * params.gemm_n;
    params.input_group_stride = std::int64_t{problem.in_channels_per_group()} * params.in_plane;
    params.output_group_stride = std::int64_t{params.gemm_m} * params.gemm_n;
    params.filter_group_stride = params.gemm_m * params.gemm_k;
    return params;
  }
};

/// What a conv2d kernel receives: the problem's precomputed parameters and the epilogue functor, by value.
template <class Epilogue> struct Conv2dKernelParams {
  Conv2dParams conv;
  Epilogue epilogue;
};

} // namespace detail
} // namespace tileconv
