#pragma once

/// \file conv2d_params.cuh
/// What the kernel reads: the problem with every derived quantity precomputed on the host.

#include <tileconv/device/fast_divmod.cuh>
#include <tileconv/problem.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Kernel parameters of one conv2d launch. Grid: x = output-pixel tiles of one image, y = output-channel tiles
/// of one group, z = image * groups + group.
struct Conv2dParams {
  float const* input = nullptr;
  float const* filter = nullptr;
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

  int gemm_m = 0;  ///< output channels per group
  int gemm_n = 0;  ///< output pixels per image
  int gemm_k = 0;  ///< in_channels / groups * filter_h * filter_w
  int k_tiles = 0; ///< ceil(gemm_k / BLOCK_R)

  FastDivmod filter_taps; ///< reduction index -> (channel, tap), tap = r * filter_w + s
  FastDivmod filter_w;    ///< tap -> (r, s)
  FastDivmod out_w;       ///< output pixel -> (p, q)
  FastDivmod groups;      ///< blockIdx.z -> (image, group)

  std::int64_t input_image_stride = 0;  ///< in_channels * in_plane, 64-bit: batch offsets exceed 2^31
  std::int64_t output_image_stride = 0; ///< out_channels * gemm_n
  int input_group_stride = 0;           ///< in_channels / groups * in_plane
  int output_group_stride = 0;          ///< gemm_m * gemm_n
  int filter_group_stride = 0;          ///< gemm_m * gemm_k

  /// Precomputes everything from a validated problem and its buffers.
  static Conv2dParams make(Conv2dArguments const& args, int block_r) {
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
    params.k_tiles = (params.gemm_k + block_r - 1) / block_r;
    params.filter_taps = FastDivmod(problem.filter_h * problem.filter_w);
    params.filter_w = FastDivmod(problem.filter_w);
    params.out_w = FastDivmod(problem.out_w());
    params.groups = FastDivmod(problem.groups);
    params.input_image_stride = std::int64_t{problem.in_channels} * params.in_plane;
    params.output_image_stride = std::int64_t{problem.out_channels} * params.gemm_n;
    params.input_group_stride = problem.in_channels_per_group() * params.in_plane;
    params.output_group_stride = params.gemm_m * params.gemm_n;
    params.filter_group_stride = params.gemm_m * params.gemm_k;
    return params;
  }
};

} // namespace detail
} // namespace tileconv
