#pragma once

/// \file plane_box_gather.cuh
/// Copies (32 channels, BLOCK_OW pixels) tiles of the NCHW input, in place, into pixel-major shared-memory stages, by
/// TMA copies in tiled mode: the activation operand of the warp-specialized wgmma conv with the gathers of plane boxes
/// (`GatherKind::kPointwise`, `kTapShifted`), whose consumers load it into registers
/// (device/plane_box_warpgroup_mma.cuh). sm_90 only.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/policy/gather_kind.cuh>

#include <cuda/ptx>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Where box `box` of the batch's output planes lies: its image, and its first pixel in the image's plane. The tiles of
/// the gathers of plane boxes number the 32-pixel boxes of every output plane in turn, ceil(plane / 32) a plane
/// (`Conv2dParams::plane_boxes`), so that a tile of BLOCK_OW / 32 boxes may span images and only a plane's last box
/// reaches past it. Boxes past the batch's (in the last tile) lie in image `batch`, which the copies fill with zeros
/// and the writer skips.
struct PlaneBox {
  int image;
  int pixel0;
};

__device__ inline PlaneBox plane_box(Conv2dParams const& params, int box) {
  PlaneBox where;
  params.plane_boxes.divmod(box, where.image, where.pixel0);
  where.pixel0 *= kPlaneBoxPixels;
  return where;
}

/// The part of a tap's column shift (s dilation_w - pad_w) that the tap-shifted gather's copies cannot take: the copy
/// engine reads a box only from a 16-byte aligned start, so the copies shift by the column shift rounded toward zero
/// to a multiple of 4 pixels, and the consumers read each output pixel's value this many pixels further on in the
/// stage, -3..3 (`TapShiftedWarpgroupMma`).
__device__ inline int column_residue(int column_shift) {
  return column_shift >= 0 ? column_shift & 3 : -((-column_shift) & 3);
}

/// The gathers of plane boxes (`copies_plane_boxes`) of a warp-specialized block's producer thread.
///
/// At stride 1 with output rows as wide as the input's, output pixel p of a plane meets, at filter tap (r, s), input
/// pixel p + (r dilation_h - pad_h) in_w + s dilation_w - pad_w, wherever that pixel's column stays in its row; a
/// 1 x 1 filter without padding meets pixel p itself. K tile t of a tile, in the channel-tiled order
/// (`channel_tiled_step`), is the 32 input channels of its channel tile at the tile's BLOCK_OW / 32 boxes of 32
/// consecutive output pixels (`plane_box`), shifted by its tap's offset: one run of consecutive floats per channel and
/// box in the NCHW input. The tensor map (`Conv2dParams::activation_map`, host/plane_box_tensor_map.cuh) describes the
/// input as (pixels, channels, images) and copies boxes of 32 pixels x 32 channels: 128 bytes per channel, the
/// 128-byte swizzle's row. A stage is the tile's boxes, 4 KiB each, box b the tile's b-th, and channel c's row of a
/// box is row c under the swizzle (16-byte chunk q of the row at chunk q ^ (c % 8)). Pixels outside the plane (rows
/// above or below it), and boxes past the batch, are filled with zeros.
///
/// The copy engine starts a box only at a 16-byte aligned address, a multiple of 4 pixels: the tap-shifted gather's
/// boxes start at the tap's offset less its `column_residue`, so that an output pixel's value lies that many pixels
/// further on, past the end of its box (in the next box's copy) or before its start (in the previous one's) for up to
/// 3 pixels. For the tile's last box (or first, where the residue is negative) the gather copies those 4 pixels past
/// it (before it) into the stage's halo (`Conv2dParams::halo_map`: boxes of 4 pixels x 32 channels, 16 bytes a row,
/// unswizzled). Where a tile's neighbouring boxes lie in different planes, the value read across is never used: it
/// belongs to a pixel whose shifted column left its row, since planes end at a row's end and in_w is a multiple of 4
/// (`tap_shifted_applies`), or to a pixel past the plane. Pixels whose shifted column left its row are the consumers'
/// to zero.
template <class Policy, GatherKind kGather> class PlaneBoxGather {
public:
  static_assert(Policy::BLOCK_R == 32, "a k tile is the 32 channel rows of a box");
  static_assert(copies_plane_boxes(kGather), "the pointwise and tap-shifted gathers copy plane boxes");
  static constexpr int kBoxPixels = kPlaneBoxPixels; ///< 128 bytes of a channel: the swizzle's row
  static constexpr int kBoxes = Policy::BLOCK_OW / kBoxPixels;
  static constexpr std::uint32_t kBoxBytes = kBoxPixels * Policy::BLOCK_R * sizeof(float);
  /// Whether a stage has a halo: the tap-shifted gather's.
  static constexpr bool kHalo = kGather == GatherKind::kTapShifted;
  static constexpr int kHaloPixels = 4;
  static constexpr std::uint32_t kHaloBytes = kHaloPixels * Policy::BLOCK_R * sizeof(float);
  /// Bytes one k tile's copies write, zero-filled pixels included: what the stage's barrier expects.
  static constexpr std::uint32_t kTileBytes = kBoxes * kBoxBytes + (kHalo ? kHaloBytes : 0);
  static_assert(Policy::BLOCK_OW % kBoxPixels == 0, "a tile is whole boxes of 32 pixels");

  /// Which k tile `copy` reads: its first input channel, its tap (r, s), the boxes' shift in the plane at that tap (a
  /// multiple of 4 pixels) and whether the halo precedes the tile (a negative `column_residue`) or follows it.
  /// Producers walk it from k tile to k tile with `advance`.
  struct Cursor {
    int channel;
    int r;
    int s;
    int shift;
    bool halo_first;
  };

  __device__ PlaneBoxGather(Conv2dParams const& params, TileCoord const& tile)
      : params_(params), channel0_(tile.group * params.channels_per_group) {
#pragma unroll
    for (int box = 0; box < kBoxes; ++box) {
      boxes_[box] = plane_box(params, tile.pixel0 / kBoxPixels + box);
    }
  }

  /// The cursor at k tile `k_tile`.
  __device__ Cursor cursor(int k_tile) const {
    ChannelTiledStep const step = channel_tiled_step(params_, k_tile);
    Cursor cursor{channel0_ + step.channel_tile * Policy::BLOCK_R, step.r, step.s, 0, false};
    at_tap(cursor);
    return cursor;
  }

  /// Moves `cursor` to the next k tile: the next tap, or after the last one the next 32 channels at the first.
  __device__ void advance(Cursor& cursor) const {
    if (++cursor.s == params_.filter_w.divisor()) {
      cursor.s = 0;
      if (++cursor.r == params_.filter_h) {
        cursor.r = 0;
        cursor.channel += Policy::BLOCK_R;
      }
    }
    at_tap(cursor);
  }

  /// Starts the copies of the k tile at `cursor` into `stage` (kBoxes boxes, 1024-byte aligned) and, with a halo,
  /// `halo` (kHaloBytes, 128-byte aligned). They complete on `barrier` with kTileBytes transaction bytes, which the
  /// caller announces there.
  __device__ void copy(float* stage, float* halo, std::uint64_t* barrier, Cursor const& cursor) const {
#pragma unroll
    for (int box = 0; box < kBoxes; ++box) {
      std::int32_t const coords[3] = {boxes_[box].pixel0 + cursor.shift, cursor.channel, boxes_[box].image};
      cuda::ptx::cp_async_bulk_tensor(cuda::ptx::space_cluster, cuda::ptx::space_global,
                                      stage + box * (kBoxBytes / sizeof(float)), &params_.activation_map, coords,
                                      barrier);
    }
    if constexpr (kHalo) {
      PlaneBox const& next_to = cursor.halo_first ? boxes_[0] : boxes_[kBoxes - 1];
      std::int32_t const coords[3] = {next_to.pixel0 + cursor.shift + (cursor.halo_first ? -kHaloPixels : kBoxPixels),
                                      cursor.channel, next_to.image};
      cuda::ptx::cp_async_bulk_tensor(cuda::ptx::space_cluster, cuda::ptx::space_global, halo, &params_.halo_map,
                                      coords, barrier);
    } else {
      (void)halo;
    }
  }

private:
  /// Sets `cursor`'s shift and halo side from its tap (r, s).
  __device__ void at_tap(Cursor& cursor) const {
    int const column_shift = cursor.s * params_.dilation_w - params_.pad_w;
    int const residue = column_residue(column_shift);
    cursor.shift = (cursor.r * params_.dilation_h - params_.pad_h) * params_.in_w + column_shift - residue;
    cursor.halo_first = residue < 0;
  }

  Conv2dParams const& params_; ///< the kernel's __grid_constant__ parameters, where the tensor maps must lie
  PlaneBox boxes_[kBoxes];     ///< the tile's boxes
  int channel0_;               ///< the block's group's first input channel
};

} // namespace detail
} // namespace tileconv
