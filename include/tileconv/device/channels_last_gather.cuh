#pragma once

/// \file channels_last_gather.cuh
/// Copies (BLOCK_OW, 32) tiles of the implicit im2col matrix from a channels-last (NHWC) copy of the input, already
/// rounded to TF32, into K-major shared-memory stages, one TMA copy in im2col mode per k tile: the activation
/// operand of the warp-specialized wgmma conv where the launcher has made that copy (device/channels_last_copy.cuh)
/// and its tensor map (host/im2col_tensor_map.cuh). sm_90 only.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/tile_coord.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// The channels-last gather (`GatherKind::kChannelsLast`: k tile t is 32 channels from (t / taps) * 32 of tap
/// t % taps, the channel-tiled order) of a warp-specialized block's producer thread. The tensor map
/// (`Conv2dParams::activation_map`) walks the output pixels in order (along a row, then down the rows, then into the
/// next image) and, for each, reads the 32 channels its filter tap meets: the 128-byte stage row wgmma reads, put in
/// place under the 128-byte swizzle by the copy engine, zeros where the tap falls in the padding. The block's tile is
/// BLOCK_OW consecutive pixels from its first, so a k tile is one copy from that pixel, offset by the tap; pixels past
/// the image read the next image's (or, past the last, zeros) into rows the writer skips.
template <class Policy> class ChannelsLastGather {
public:
  static_assert(Policy::BLOCK_R == 32, "a stage row is the 128 bytes of the swizzle");
  /// Bytes one k tile's copy writes, zero-filled rows included: what the stage's barrier expects.
  static constexpr std::uint32_t kTileBytes = Policy::BLOCK_OW * Policy::BLOCK_R * sizeof(float);

  /// Which k tile `copy` reads: its first channel in the input, and its tap's offsets from the filter's corner.
  /// Producers walk it from k tile to k tile with `advance`.
  struct Cursor {
    int channel;
    int dh; ///< r * dilation_h
    int dw; ///< s * dilation_w
    int s;
    int r;
  };

  __device__ ChannelsLastGather(Conv2dParams const& params, TileCoord const& tile)
      : params_(params), image_(tile.image), channel0_(tile.group * params.channels_per_group) {
    int p = 0;
    int q = 0;
    params.out_w.divmod(tile.pixel0, p, q);
    // the input position of the filter's corner (tap (0, 0)) at the tile's first pixel, negative in the padding
    h0_ = p * params.stride_h - params.pad_h;
    w0_ = q * params.stride_w - params.pad_w;
  }

  /// The cursor at k tile `k_tile`.
  __device__ Cursor cursor(int k_tile) const {
    ChannelTiledStep const tiled = channel_tiled_step(params_, k_tile);
    return Cursor{channel0_ + tiled.channel_tile * Policy::BLOCK_R, tiled.r * params_.dilation_h,
                  tiled.s * params_.dilation_w, tiled.s, tiled.r};
  }

  /// Moves `cursor` to the next k tile: the next tap, after the last one the first tap of the next 32 channels.
  __device__ void advance(Cursor& cursor) const {
    if (++cursor.s < params_.filter_w.divisor()) {
      cursor.dw += params_.dilation_w;
      return;
    }
    cursor.s = 0;
    cursor.dw = 0;
    if (++cursor.r < params_.filter_h) {
      cursor.dh += params_.dilation_h;
      return;
    }
    cursor.r = 0;
    cursor.dh = 0;
    cursor.channel += Policy::BLOCK_R;
  }

  /// Starts the copy of the k tile at `cursor` into `stage` (BLOCK_OW rows of 128 bytes, 1024-byte aligned, the
  /// 128-byte swizzle). It completes on `barrier` with kTileBytes transaction bytes, which the caller announces there.
  __device__ void copy(float* stage, std::uint64_t* barrier, Cursor const& cursor) const {
    // CCCL's cuda::ptx has the tensor copies in tile mode only; the im2col offsets are 16-bit operands
    asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.im2col.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%2, %3, %4, %5}], [%6], {%7, %8};\n" ::"r"(shared_address(stage)),
                 "l"(reinterpret_cast<std::uint64_t>(&params_.activation_map)), "r"(cursor.channel), "r"(w0_), "r"(h0_),
                 "r"(image_), "r"(shared_address(barrier)), "h"(static_cast<std::uint16_t>(cursor.dw)),
                 "h"(static_cast<std::uint16_t>(cursor.dh))
                 : "memory");
  }

private:
  Conv2dParams const& params_; ///< the kernel's __grid_constant__ parameters, where the tensor map must lie
  int image_;
  int channel0_; ///< the block's group's first input channel
  int h0_;
  int w0_;
};

} // namespace detail
} // namespace tileconv
