#pragma once

/// \file channels_last_gather.cuh
/// Copies (BLOCK_OW, 32) tiles of the implicit im2col matrix from a channels-last (NHWC) copy of the input, already
/// rounded to TF32, into K-major shared-memory stages with 16-byte cp.async: the activation operand of the
/// warp-specialized wgmma conv where the launcher has made that copy (device/channels_last_copy.cuh).

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/swizzle.cuh>
#include <tileconv/device/tile_coord.cuh>

#include <climits>
#include <cstdint>

namespace tileconv {
namespace detail {

/// The channels-last gather (`GatherKind::kChannelsLast`: k tile t is 32 channels from (t / taps) * 32 of tap
/// t % taps, the channel-tiled order) of the producer warpgroups. In the NHWC copy a pixel's 32 channels of a k tile
/// are one contiguous 128-byte row, exactly the stage row wgmma reads, so a k tile is BLOCK_OW * 8 copies of 16 bytes
/// with no arithmetic on the values. Producer thread i copies chunk i % 8 of pixel rows i / 8, i / 8 + kRowsPerPass,
/// ...: a warp copies 4 whole rows per instruction (4 lines of 128 bytes), and, since kRowsPerPass is a multiple of
/// 8, each of a thread's rows puts its chunk at the same place under the swizzle. Per row and k tile a thread does one
/// bounds test and one 64-bit add, where the NCHW gather loads, rounds and stores each value itself.
template <class Policy> class ChannelsLastGather {
public:
  static constexpr int kChunksPerRow = Policy::BLOCK_R / 4;
  static constexpr int kRowsPerPass = Policy::kProducerThreads / kChunksPerRow;
  static constexpr int kRows = Policy::BLOCK_OW / kRowsPerPass; ///< pixel rows each producer thread copies
  static_assert(Policy::BLOCK_R == 32, "a stage row is the 128 bytes of the swizzle");
  static_assert(kRowsPerPass % 8 == 0 && Policy::BLOCK_OW % kRowsPerPass == 0,
                "the producer threads must cover whole 8-row swizzle periods of the stage");

  /// Which k tile `copy` reads: this thread's chunk of the tile's first channel at tap (r, s) of pixel (0, 0), and
  /// the tap's offsets in rows and columns. Producers walk it from k tile to k tile with `advance`.
  struct Cursor {
    float const* tap;
    int dh; ///< r * dilation_h
    int dw; ///< s * dilation_w
    int s;
    int r;
  };

  __device__ ChannelsLastGather(Conv2dParams const& params, TileCoord const& tile, int thread)
      : params_(params), row0_(thread / kChunksPerRow),
        chunk_bytes_(static_cast<std::uint32_t>(row0_ * Policy::BLOCK_R * sizeof(float) +
                                                swizzled_chunk(row0_, thread % kChunksPerRow) * 16)),
        image_(params.input + tile.image * params.input_image_stride + tile.group * params.channels_per_group +
               thread % kChunksPerRow * 4) {
#pragma unroll
    for (int j = 0; j < kRows; ++j) {
      int const pixel = tile.pixel0 + row0_ + j * kRowsPerPass;
      // a pixel past the image (the last tile's padding) gets a row no tap can bring inside it, and an offset that
      // is never read
      bool const in_image = pixel < params.gemm_n;
      int p = 0;
      int q = 0;
      params.out_w.divmod(in_image ? pixel : 0, p, q);
      ih0_[j] = in_image ? p * params.stride_h - params.pad_h : INT_MIN / 2;
      iw0_[j] = q * params.stride_w - params.pad_w;
      offset_[j] = in_image ? (std::int64_t{ih0_[j]} * params.in_w + iw0_[j]) * params.in_channels : 0;
    }
  }

  /// The cursor at k tile `k_tile`.
  __device__ Cursor cursor(int k_tile) const {
    ChannelTiledStep const tiled = channel_tiled_step(params_, k_tile);
    Cursor cursor{image_ + tiled.channel_tile * Policy::BLOCK_R, tiled.r * params_.dilation_h,
                  tiled.s * params_.dilation_w, tiled.s, tiled.r};
    cursor.tap += (std::int64_t{cursor.dh} * params_.in_w + cursor.dw) * params_.in_channels;
    return cursor;
  }

  /// Moves `cursor` to the next k tile: the next tap, after the last one the first tap of the next 32 channels.
  __device__ void advance(Cursor& cursor) const {
    std::int64_t const column = params_.in_channels;
    std::int64_t const row = column * params_.in_w;
    if (++cursor.s < params_.filter_w.divisor()) {
      cursor.dw += params_.dilation_w;
      cursor.tap += column * params_.dilation_w;
      return;
    }
    cursor.tap -= column * cursor.dw;
    cursor.s = 0;
    cursor.dw = 0;
    if (++cursor.r < params_.filter_h) {
      cursor.dh += params_.dilation_h;
      cursor.tap += row * params_.dilation_h;
      return;
    }
    cursor.tap += Policy::BLOCK_R - row * cursor.dh;
    cursor.r = 0;
    cursor.dh = 0;
  }

  /// Starts the copies of the k tile at `cursor` into the stage at shared address `stage` (BLOCK_OW rows of 128
  /// bytes, 1024-byte aligned, the 128-byte swizzle); zeros where a tap falls in the padding, without reading.
  /// Returns before they land: the caller has the stage's barrier count their landing (`cp_async_mbarrier_arrive`).
  __device__ void copy(std::uint32_t stage, Cursor const& cursor) const {
#pragma unroll
    for (int j = 0; j < kRows; ++j) {
      // unsigned compares also reject negative coordinates (the top and left padding)
      bool const inside = static_cast<unsigned>(ih0_[j] + cursor.dh) < unsigned(params_.in_h) &&
                          static_cast<unsigned>(iw0_[j] + cursor.dw) < unsigned(params_.in_w);
      // in the padding nothing is read: the copy zero-fills from a harmless in-bounds address
      cp_async_zfill<16>(stage + chunk_bytes_ + j * kRowsPerPass * Policy::BLOCK_R * sizeof(float),
                         inside ? cursor.tap + offset_[j] : image_, inside);
    }
  }

private:
  Conv2dParams const& params_;
  int row0_;                   ///< this thread's first stage row (pixel of the tile)
  std::uint32_t chunk_bytes_;  ///< where its chunk of row row0_ lies in a stage, swizzled
  float const* image_;         ///< this thread's chunk of channel 0 at pixel (0, 0) of the block's (image, group)
  int ih0_[kRows];             ///< input row of tap r = 0 of each of its pixels; negative inside the top padding
  int iw0_[kRows];             ///< input column of tap s = 0
  std::int64_t offset_[kRows]; ///< (ih0 * in_w + iw0) * in_channels: the pixel's tap (0, 0) from pixel (0, 0)
};

} // namespace detail
} // namespace tileconv
