#pragma once

/// \file pointwise_tensor_map.cuh
/// Which convs the pointwise gather applies to (`GatherKind::kPointwise`), and the TMA descriptors through which it
/// reads their NCHW input and their filter in place: the input as a 3D tensor (pixels, channels, images), boxes of 32
/// pixels x 32 channels (device/pointwise_gather.cuh); the filter as a 2D tensor (reduction, output channels), boxes of
/// 32 x BLOCK_OC (device/warp_specialized_conv2d.cuh, FilterTensorCopy). Tiled mode, the 128-byte swizzle. Encoded on
/// the host by the driver's cuTensorMapEncodeTiled (host/driver_entry_point.cuh).

#include <tileconv/host/driver_entry_point.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Boxes that cover one plane of `problem`'s input: the last one may reach past the plane, into the map's zero fill.
constexpr std::int64_t pointwise_plane_boxes(Conv2dProblem const& problem) {
  return (std::int64_t{problem.in_h} * problem.in_w + kPointwiseBoxPixels - 1) / kPointwiseBoxPixels;
}

/// Whether the pointwise gather applies to `problem`: a 1 x 1 filter at stride 1 without padding, so that output
/// pixel p reads input pixel p of every channel (dilation does not matter); input channels per group a multiple of
/// 32 (a k tile); and planes a multiple of 4 pixels, because the copy engine needs the map's strides (a channel's
/// plane, an image) in multiples of 16 bytes and the output writer stores 4 pixels at a time. An image must also
/// stay below the map's 2^40-byte strides, which `Conv2dProblem::validate`'s limits do not bound, and the batch's
/// boxes below 2^30 pixels, because the tiles number them in `int`, a tile past the last one included
/// (`make_launch_plan`; 2^30 pixels of 32 channels are 128 GiB of input).
constexpr bool pointwise_applies(Conv2dProblem const& problem) {
  std::int64_t const plane = std::int64_t{problem.in_h} * problem.in_w;
  return problem.filter_h == 1 && problem.filter_w == 1 && problem.stride_h == 1 && problem.stride_w == 1 &&
         problem.pad_h == 0 && problem.pad_w == 0 && problem.pad_bottom() == 0 && problem.pad_right() == 0 &&
         problem.in_channels_per_group() % 32 == 0 && plane % 4 == 0 &&
         plane * problem.in_channels * std::int64_t{sizeof(float)} < (std::int64_t{1} << 40) &&
         problem.batch * pointwise_plane_boxes(problem) * kPointwiseBoxPixels <= (std::int64_t{1} << 30);
}

/// Whether the pointwise gather can run with these tensors: the copy engine reads the input and the filter from 16-byte
/// aligned addresses, and the output writer stores 16 bytes at a time (cudaMalloc's pointers are 256-byte aligned).
inline bool pointwise_aligned(float const* input, float const* filter, float const* output) {
  return reinterpret_cast<std::uintptr_t>(input) % 16 == 0 && reinterpret_cast<std::uintptr_t>(filter) % 16 == 0 &&
         reinterpret_cast<std::uintptr_t>(output) % 16 == 0;
}

/// Writes to `activation_map` and `filter_map` the tiled descriptors of `problem`'s NCHW input at `input` and of its
/// filter at `filter` (both 16-byte aligned), for copies into stages under the 128-byte swizzle: 32 pixels x 32
/// channels of the input, 32 reduction values x `filter_rows` output channels of the filter. `problem` must be valid,
/// with `pointwise_applies`. kErrorCudaRuntime where the driver entry point cannot be had (its error in
/// `*cuda_error`); kErrorNotSupported where the driver refuses a descriptor.
inline Status encode_pointwise_maps(Conv2dProblem const& problem, float const* input, float const* filter,
                                    int filter_rows, CUtensorMap* activation_map, CUtensorMap* filter_map,
                                    cudaError_t* cuda_error) {
  static auto const encoder = DriverEntryPoint<PFN_cuTensorMapEncodeTiled_v12000>::find("cuTensorMapEncodeTiled");
  if (encoder.error != cudaSuccess) {
    return status_from_cuda(encoder.error, cuda_error);
  }
  auto const encode = [](CUtensorMap* map, cuuint32_t rank, float const* tensor, cuuint64_t const* dims,
                         cuuint64_t const* strides, cuuint32_t const* box, CUtensorMapL2promotion promotion) {
    cuuint32_t const element_strides[3] = {1, 1, 1};
    return encoder.function(map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, rank, const_cast<float*>(tensor), dims, strides, box,
                            element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, promotion,
                            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
  };
  std::uint64_t const plane =
      std::uint64_t{static_cast<std::uint32_t>(problem.in_h)} * static_cast<std::uint32_t>(problem.in_w);
  cuuint64_t const input_dims[3] = {plane, static_cast<cuuint64_t>(problem.in_channels),
                                    static_cast<cuuint64_t>(problem.batch)};
  cuuint64_t const input_strides[2] = {plane * sizeof(float), plane * sizeof(float) * input_dims[1]};
  cuuint32_t const input_box[3] = {kPointwiseBoxPixels, 32, 1};
  std::uint64_t const reduction = static_cast<std::uint32_t>(problem.gemm_k());
  cuuint64_t const filter_dims[2] = {reduction, static_cast<cuuint64_t>(problem.out_channels)};
  cuuint64_t const filter_strides[1] = {reduction * sizeof(float)};
  cuuint32_t const filter_box[2] = {32, static_cast<cuuint32_t>(filter_rows)};
  // the input is streamed once from DRAM (256-byte L2 fills); every block re-reads the filter from L2
  bool const encoded =
      encode(activation_map, 3, input, input_dims, input_strides, input_box, CU_TENSOR_MAP_L2_PROMOTION_L2_256B) &&
      encode(filter_map, 2, filter, filter_dims, filter_strides, filter_box, CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
  return encoded ? Status::kSuccess : Status::kErrorNotSupported;
}

} // namespace detail
} // namespace tileconv
