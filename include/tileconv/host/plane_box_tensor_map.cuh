#pragma once

/// \file plane_box_tensor_map.cuh
/// Which convs the gathers of plane boxes apply to (`GatherKind::kPointwise`, `kTapShifted`), and the TMA descriptors
/// through which they read their NCHW input in place, and the pointwise one their filter: the input as a 3D tensor
/// (pixels, channels, images), boxes of 32 pixels x 32 channels (device/plane_box_gather.cuh); the filter as a 2D
/// tensor (reduction, output channels), boxes of 32 x BLOCK_OC (device/warp_specialized_conv2d.cuh, FilterTensorCopy);
/// and for the tap-shifted one the input again in boxes of 4 pixels x 32 channels, its halo. Tiled mode, the 128-byte
/// swizzle (the halo unswizzled). Encoded on the host by the driver's cuTensorMapEncodeTiled
/// (host/tiled_tensor_map.cuh).

#include <tileconv/host/tiled_tensor_map.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Boxes that cover one output plane of `problem`: the last one may reach past the plane. The gathers of
/// `copies_plane_boxes` tile the batch's output planes by them.
constexpr std::int64_t output_plane_boxes(Conv2dProblem const& problem) {
  return (std::int64_t{problem.out_h()} * problem.out_w() + kPlaneBoxPixels - 1) / kPlaneBoxPixels;
}

/// What the gathers of `copies_plane_boxes` need of any problem: input channels per group a multiple of 32 (a k tile),
/// input and output planes a multiple of 4 pixels, because the copy engine needs the map's strides (a channel's plane,
/// an image) in multiples of 16 bytes and the output writer stores 4 pixels at a time; an image below the map's
/// 2^40-byte strides, which `Conv2dProblem::validate`'s limits do not bound; and the batch's output boxes below 2^30
/// pixels, because the tiles number them in `int`, a tile past the last one included (`make_launch_plan`; 2^30
/// pixels of 32 channels are 128 GiB).
constexpr bool plane_boxes_fit(Conv2dProblem const& problem) {
  std::int64_t const plane = std::int64_t{problem.in_h} * problem.in_w;
  return problem.in_channels_per_group() % 32 == 0 && plane % 4 == 0 &&
         std::int64_t{problem.out_h()} * problem.out_w() % 4 == 0 &&
         plane * problem.in_channels * std::int64_t{sizeof(float)} < (std::int64_t{1} << 40) &&
         problem.batch * output_plane_boxes(problem) * kPlaneBoxPixels <= (std::int64_t{1} << 30);
}

/// Whether the pointwise gather applies to `problem`: a 1 x 1 filter at stride 1 without padding, so that output
/// pixel p reads input pixel p of every channel (dilation does not matter), and `plane_boxes_fit`.
constexpr bool pointwise_applies(Conv2dProblem const& problem) {
  return problem.filter_h == 1 && problem.filter_w == 1 && problem.stride_h == 1 && problem.stride_w == 1 &&
         problem.pad_h == 0 && problem.pad_w == 0 && problem.pad_bottom() == 0 && problem.pad_right() == 0 &&
         plane_boxes_fit(problem);
}

/// Whether the tap-shifted gather applies to `problem`: stride 1 and output rows as wide as the input's, so that
/// output pixel p reads, at tap (r, s), input pixel p + (r dilation_h - pad_h) in_w + s dilation_w - pad_w of the
/// plane wherever that pixel's column stays in its row; rows a multiple of 4 pixels, so that a tap's row shift is one
/// of the copy engine's 16-byte steps and only its column shift leaves a residue (device/plane_box_gather.cuh); and
/// `plane_boxes_fit`, with the shifted boxes' coordinates (a plane's pixels, past it by at most the largest shift)
/// within `int`.
constexpr bool tap_shifted_applies(Conv2dProblem const& problem) {
  std::int64_t const in_plane = std::int64_t{problem.in_h} * problem.in_w;
  std::int64_t const out_plane = std::int64_t{problem.out_h()} * problem.out_w();
  std::int64_t const reach = std::int64_t{problem.filter_h - 1} * problem.dilation_h;
  std::int64_t const rows_shifted = (reach > problem.pad_h ? reach : problem.pad_h) + 1;
  return problem.stride_h == 1 && problem.stride_w == 1 && problem.out_w() == problem.in_w && problem.in_w % 4 == 0 &&
         plane_boxes_fit(problem) &&
         (in_plane > out_plane ? in_plane : out_plane) + rows_shifted * problem.in_w + kPlaneBoxPixels <
             (std::int64_t{1} << 31);
}

/// Whether the pointwise gather can run with these tensors: the copy engine reads the input and the filter from 16-byte
/// aligned addresses, and the output writer stores 16 bytes at a time (cudaMalloc's pointers are 256-byte aligned).
inline bool pointwise_aligned(float const* input, float const* filter, float const* output) {
  return reinterpret_cast<std::uintptr_t>(input) % 16 == 0 && reinterpret_cast<std::uintptr_t>(filter) % 16 == 0 &&
         reinterpret_cast<std::uintptr_t>(output) % 16 == 0;
}

/// Whether the tap-shifted gather can run with these tensors: the copy engine reads the input, and the filter's tile
/// image at the workspace's start, from 16-byte aligned addresses. Its writer stores one float at a time, but the
/// output is held to the pointwise gather's 16 bytes all the same, so that one condition (`plane_boxes_aligned`)
/// offers both gathers to the cost model; the tap-shifted kernel has not run on a misaligned output.
inline bool tap_shifted_aligned(float const* input, float const* output, void const* workspace) {
  return reinterpret_cast<std::uintptr_t>(input) % 16 == 0 && reinterpret_cast<std::uintptr_t>(output) % 16 == 0 &&
         reinterpret_cast<std::uintptr_t>(workspace) % 16 == 0;
}

/// Whether the gathers of plane boxes can run with `args`' tensors as far as alignment goes (`pointwise_aligned`,
/// `tap_shifted_aligned`): the default launcher offers them to its cost model only then.
inline bool plane_boxes_aligned(Conv2dArguments const& args) {
  return pointwise_aligned(args.input, args.filter, args.output) &&
         tap_shifted_aligned(args.input, args.output, args.workspace);
}

/// Writes to `activation_map` the tiled descriptor of `problem`'s NCHW input at `input` for copies into stages under
/// the 128-byte swizzle, 32 pixels x 32 channels; with the pointwise gather to `filter_map` that of its filter at
/// `filter` (both 16-byte aligned), 32 reduction values x `filter_rows` output channels, under the same swizzle; with
/// the tap-shifted one to `halo_map` that of the input again in unswizzled boxes of 4 pixels x 32 channels.
/// `problem` must be valid, with the gather's condition (`pointwise_applies`, `tap_shifted_applies`).
/// kErrorCudaRuntime where the driver entry point cannot be had (its error in `*cuda_error`); kErrorNotSupported where
/// the driver refuses a descriptor.
inline Status encode_plane_box_maps(Conv2dProblem const& problem, GatherKind gather, float const* input,
                                    float const* filter, int filter_rows, CUtensorMap* activation_map,
                                    CUtensorMap* filter_map, CUtensorMap* halo_map, cudaError_t* cuda_error) {
  if (tiled_map_encoder().error != cudaSuccess) {
    return status_from_cuda(tiled_map_encoder().error, cuda_error);
  }
  std::uint64_t const plane =
      std::uint64_t{static_cast<std::uint32_t>(problem.in_h)} * static_cast<std::uint32_t>(problem.in_w);
  cuuint64_t const input_dims[3] = {plane, static_cast<cuuint64_t>(problem.in_channels),
                                    static_cast<cuuint64_t>(problem.batch)};
  cuuint64_t const input_strides[2] = {plane * sizeof(float), plane * sizeof(float) * input_dims[1]};
  cuuint32_t const input_box[3] = {kPlaneBoxPixels, 32, 1};
  cuuint32_t const halo_box[3] = {4, 32, 1};
  std::uint64_t const reduction = static_cast<std::uint32_t>(problem.gemm_k());
  cuuint64_t const filter_dims[2] = {reduction, static_cast<cuuint64_t>(problem.out_channels)};
  cuuint64_t const filter_strides[1] = {reduction * sizeof(float)};
  cuuint32_t const filter_box[2] = {32, static_cast<cuuint32_t>(filter_rows)};
  // the input is streamed from DRAM (256-byte L2 fills; the tap-shifted gather's taps re-read it from L2); every block
  // re-reads the filter from L2
  bool const encoded = encode_tiled_float_map(activation_map, 3, input, input_dims, input_strides, input_box,
                                              CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B) &&
                       (gather == GatherKind::kPointwise
                            ? encode_tiled_float_map(filter_map, 2, filter, filter_dims, filter_strides, filter_box,
                                                     CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_128B)
                            : encode_tiled_float_map(halo_map, 3, input, input_dims, input_strides, halo_box,
                                                     CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_L2_128B));
  return encoded ? Status::kSuccess : Status::kErrorNotSupported;
}

} // namespace detail
} // namespace tileconv
