#pragma once

/// \file pointwise_gather.cuh
/// Copies (32 channels, BLOCK_OW pixels) tiles of a 1 x 1 conv's NCHW input, in place, into pixel-major
/// shared-memory stages, by TMA copies in tiled mode: the activation operand of the warp-specialized wgmma conv with
/// `GatherKind::kPointwise`, whose consumers load it into registers (device/pointwise_warpgroup_mma.cuh). sm_90 only.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/policy/gather_kind.cuh>

#include <cuda/ptx>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Where box `box` of the batch's planes lies: its image, and its first pixel in the image's plane. The pointwise
/// tiles number the 32-pixel boxes of every plane in turn, ceil(plane / 32) a plane (`Conv2dParams::plane_boxes`), so
/// that a tile of BLOCK_OW / 32 boxes may span images and only a plane's last box reaches past it. Boxes past the
/// batch's (in the last tile) lie in image `batch`, which the copies fill with zeros and the writer skips.
struct PlaneBox {
  int image;
  int pixel0;
};

__device__ inline PlaneBox plane_box(Conv2dParams const& params, int box) {
  PlaneBox where;
  params.plane_boxes.divmod(box, where.image, where.pixel0);
  where.pixel0 *= kPointwiseBoxPixels;
  return where;
}

/// The pointwise gather (`GatherKind::kPointwise`) of a warp-specialized block's producer thread. A 1 x 1 filter at
/// stride 1 without padding meets, at output pixel p, input pixel p: k tile t of a tile is input channels t * 32..
/// at the tile's BLOCK_OW / 32 boxes of 32 consecutive pixels (`plane_box`), one run of consecutive floats per channel
/// and box in the NCHW input. The tensor map (`Conv2dParams::activation_map`, host/pointwise_tensor_map.cuh) describes
/// the input as (pixels, channels, images) and copies boxes of 32 pixels x 32 channels: 128 bytes per channel, the
/// 128-byte swizzle's row. A stage is the tile's boxes, 4 KiB each, box b the tile's b-th, and channel c's row of a box
/// is row c under the swizzle (16-byte chunk q of the row at chunk q ^ (c % 8)). Pixels past the plane, and boxes past
/// the batch, are filled with zeros.
template <class Policy> class PointwiseGather {
public:
  static_assert(Policy::BLOCK_R == 32, "a k tile is the 32 channel rows of a box");
  static constexpr int kBoxPixels = kPointwiseBoxPixels; ///< 128 bytes of a channel: the swizzle's row
  static constexpr int kBoxes = Policy::BLOCK_OW / kBoxPixels;
  static constexpr std::uint32_t kBoxBytes = kBoxPixels * Policy::BLOCK_R * sizeof(float);
  /// Bytes one k tile's copies write, zero-filled pixels included: what the stage's barrier expects.
  static constexpr std::uint32_t kTileBytes = kBoxes * kBoxBytes;
  static_assert(Policy::BLOCK_OW % kBoxPixels == 0, "a tile is whole boxes of 32 pixels");

  /// Which k tile `copy` reads: its first input channel. Producers walk it from k tile to k tile with `advance`.
  struct Cursor {
    int channel;
  };

  __device__ PointwiseGather(Conv2dParams const& params, TileCoord const& tile)
      : params_(params), channel0_(tile.group * params.channels_per_group) {
#pragma unroll
    for (int box = 0; box < kBoxes; ++box) {
      boxes_[box] = plane_box(params, tile.pixel0 / kBoxPixels + box);
    }
  }

  /// The cursor at k tile `k_tile`.
  __device__ Cursor cursor(int k_tile) const { return Cursor{channel0_ + k_tile * Policy::BLOCK_R}; }

  /// Moves `cursor` to the next k tile: the next 32 channels.
  __device__ void advance(Cursor& cursor) const { cursor.channel += Policy::BLOCK_R; }

  /// Starts the copies of the k tile at `cursor` into `stage` (kTileBytes, 1024-byte aligned). They complete on
  /// `barrier` with kTileBytes transaction bytes, which the caller announces there.
  __device__ void copy(float* stage, std::uint64_t* barrier, Cursor const& cursor) const {
#pragma unroll
    for (int box = 0; box < kBoxes; ++box) {
      std::int32_t const coords[3] = {boxes_[box].pixel0, cursor.channel, boxes_[box].image};
      cuda::ptx::cp_async_bulk_tensor(cuda::ptx::space_cluster, cuda::ptx::space_global,
                                      stage + box * (kBoxBytes / sizeof(float)), &params_.activation_map, coords,
                                      barrier);
    }
  }

private:
  Conv2dParams const& params_; ///< the kernel's __grid_constant__ parameters, where the tensor map must lie
  PlaneBox boxes_[kBoxes];     ///< the tile's boxes
  int channel0_;               ///< the block's group's first input channel
};

} // namespace detail
} // namespace tileconv
