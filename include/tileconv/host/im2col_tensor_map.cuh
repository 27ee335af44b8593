#pragma once

/// \file im2col_tensor_map.cuh
/// The TMA descriptor through which the channels-last gather reads the input's NHWC copy
/// (device/channels_last_gather.cuh): a 4D tensor (C, W, H, N) in im2col mode, 32 channels of BLOCK_OW pixels per
/// copy. Encoded on the host by the driver's cuTensorMapEncodeIm2col (host/driver_entry_point.cuh).

#include <tileconv/host/driver_entry_point.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace tileconv {
namespace detail {

/// The pixel box of the im2col map on one axis: its corners, offsets from the input's first and last position, are
/// where the filter's corner (tap 0) may stand. `lower` = -pad at the start; `upper` = pad at the end - the filter's
/// reach, so that the box, walked at the conv's stride, holds exactly the output's positions.
struct Im2colAxis {
  int lower;
  int upper;
  int reach; ///< (filter - 1) * dilation: the largest im2col offset of a tap

  static constexpr Im2colAxis make(int pad_begin, int pad_end, int filter, int dilation) {
    int const reach = (filter - 1) * dilation;
    return Im2colAxis{-pad_begin, pad_end - reach, reach};
  }

  /// The copy engine's limits for a 4D tensor: corners in [-128, 127], offsets in [0, 255], strides of at most 8.
  constexpr bool fits(int stride) const {
    return lower >= -128 && lower <= 127 && upper >= -128 && upper <= 127 && reach <= 255 && stride <= 8;
  }
};

/// Whether an im2col map can describe `problem`'s input; the channels-last gather applies only where it can. Past
/// the copy engine's limits: paddings beyond 128, a dilated filter reaching past 255 positions, strides beyond 8.
constexpr bool im2col_map_fits(Conv2dProblem const& problem) {
  return Im2colAxis::make(problem.pad_h, problem.pad_bottom(), problem.filter_h, problem.dilation_h)
             .fits(problem.stride_h) &&
         Im2colAxis::make(problem.pad_w, problem.pad_right(), problem.filter_w, problem.dilation_w)
             .fits(problem.stride_w);
}

/// Writes to `map` the im2col descriptor of `problem`'s input as an NHWC array at `nhwc` (16-byte aligned, TF32
/// values), for copies of 32 channels x `pixels` pixels into stages under the 128-byte swizzle. `problem` must be
/// valid, with in_channels a multiple of 4 and `im2col_map_fits`. kErrorCudaRuntime where the driver entry point
/// cannot be had (its error in `*cuda_error`); kErrorNotSupported where the driver refuses the descriptor.
inline Status encode_im2col_map(Conv2dProblem const& problem, float const* nhwc, int pixels, CUtensorMap* map,
                                cudaError_t* cuda_error) {
  static auto const encoder = DriverEntryPoint<PFN_cuTensorMapEncodeIm2col_v12000>::find("cuTensorMapEncodeIm2col");
  if (encoder.error != cudaSuccess) {
    return status_from_cuda(encoder.error, cuda_error);
  }
  std::uint64_t const pixel_bytes = std::uint64_t{4} * static_cast<std::uint64_t>(problem.in_channels);
  cuuint64_t const dims[4] = {static_cast<cuuint64_t>(problem.in_channels), static_cast<cuuint64_t>(problem.in_w),
                              static_cast<cuuint64_t>(problem.in_h), static_cast<cuuint64_t>(problem.batch)};
  cuuint64_t const strides[3] = {pixel_bytes, pixel_bytes * static_cast<std::uint64_t>(problem.in_w),
                                 pixel_bytes * static_cast<std::uint64_t>(problem.in_w) *
                                     static_cast<std::uint64_t>(problem.in_h)};
  Im2colAxis const h = Im2colAxis::make(problem.pad_h, problem.pad_bottom(), problem.filter_h, problem.dilation_h);
  Im2colAxis const w = Im2colAxis::make(problem.pad_w, problem.pad_right(), problem.filter_w, problem.dilation_w);
  // (W, H): innermost first, like the dimensions
  int const lower[2] = {w.lower, h.lower};
  int const upper[2] = {w.upper, h.upper};
  cuuint32_t const element_strides[4] = {1, static_cast<cuuint32_t>(problem.stride_w),
                                         static_cast<cuuint32_t>(problem.stride_h), 1};
  CUresult const result = encoder.function(map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 4, const_cast<float*>(nhwc), dims,
                                           strides, lower, upper, 32, static_cast<cuuint32_t>(pixels), element_strides,
                                           CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                           CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return result == CUDA_SUCCESS ? Status::kSuccess : Status::kErrorNotSupported;
}

} // namespace detail
} // namespace tileconv
