#pragma once

/// \file k_major_activation_gather.cuh
/// Gathers (BLOCK_OW, 32) tiles of the implicit im2col matrix through registers into K-major shared-memory stages,
/// rounded to TF32: the activation operand of the warp-specialized wgmma conv, which reads it from shared memory.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/pixel_window.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/swizzle.cuh>
#include <tileconv/device/tile_coord.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// What a tap in the padding reads, with a zero stride: zeros come from memory like any value, so that padding costs
/// no predicate and no select per load.
static __device__ float const kPaddingZero = 0.0f;

/// The channel-tiled gather (see `GatherKind::kChannelTiled`: k tile t is 32 channels from (t / taps) * 32 of tap
/// t % taps) of the producer warpgroups. Producer thread i owns pixels i % 128, i % 128 + 128, ... of the tile and
/// 32 / PRODUCERS consecutive channels of each, from (i / 128) * 32 / PRODUCERS: a warp's load of one channel covers
/// 32 consecutive pixels (coalesced where the stride is 1), and its 16-byte stores of one pixel's 4 consecutive
/// channels, one chunk of the pixel's 128-byte row, hit 8 distinct chunks per 8 lanes under the swizzle
/// (conflict-free). Through registers rather than cp.async because TF32 wgmma truncates what it reads from shared
/// memory: rounding on the way costs two instructions per value.
template <class Policy> class KMajorActivationGather {
public:
  static_assert(!Policy::kChannelsLastOnly, "the register gather needs whole 128-pixel rows of producer threads");
  static constexpr int kPixels = Policy::kPixelsPerProducer;
  static constexpr int kChannels = Policy::kChannelsPerProducer;
  /// One k tile of this thread's pixels and channels, in registers between `load` and `store`.
  using Values = float[kPixels][kChannels];

  __device__ KMajorActivationGather(Conv2dParams const& params, TileCoord const& tile, int thread)
      : params_(params), pixel_(thread % 128), channel0_(thread / 128 * kChannels),
        image_(params.input + tile.image * params.input_image_stride + tile.group * params.input_group_stride) {
#pragma unroll
    for (int j = 0; j < kPixels; ++j) {
      windows_[j] = PixelWindow(params, tile.pixel0 + pixel_ + j * 128);
    }
  }

  /// Which k tile `load` reads: the first of this thread's channel planes of the tile's 32 channels, and its filter
  /// tap (r, s). Producers walk it from k tile to k tile with `advance` instead of dividing each k tile's index.
  struct Cursor {
    float const* channels;
    int r;
    int s;
  };

  /// The cursor at k tile `k_tile`.
  __device__ Cursor cursor(int k_tile) const {
    ChannelTiledStep const tiled = channel_tiled_step(params_, k_tile);
    return {image_ + std::int64_t{tiled.channel_tile * Policy::BLOCK_R + channel0_} * params_.in_plane, tiled.r,
            tiled.s};
  }

  /// Moves `cursor` to the next k tile: the next tap, after the last one the first tap of the next 32 channels.
  __device__ void advance(Cursor& cursor) const {
    if (++cursor.s == params_.filter_w.divisor()) {
      cursor.s = 0;
      if (++cursor.r == params_.filter_h) {
        cursor.r = 0;
        cursor.channels += std::int64_t{Policy::BLOCK_R} * params_.in_plane;
      }
    }
  }

  /// Loads the k tile at `cursor` of this thread's pixels and channels; zeros where a tap falls in the padding.
  /// Returns before the loads land: `store` waits for them.
  __device__ void load(Values& values, Cursor const& cursor) const {
#pragma unroll
    for (int j = 0; j < kPixels; ++j) {
      int offset = 0;
      bool const valid = windows_[j].tap_in_image(params_, cursor.r, cursor.s, offset);
      float const* const source = valid ? cursor.channels + offset : &kPaddingZero;
      std::int64_t const stride = valid ? params_.in_plane : 0;
#pragma unroll
      for (int c = 0; c < kChannels; ++c) {
        values[j][c] = __ldg(source + stride * c);
      }
    }
  }

  /// Stores `values` into the stage at shared address `stage` (BLOCK_OW rows of 32 floats, 1024-byte aligned),
  /// rounded to TF32: row m is pixel m, its 16-byte chunk q (channels 4 q..4 q + 3) at chunk q ^ (m % 8), the
  /// 128-byte swizzle wgmma reads. Through a shared-space address, not a generic pointer (see device/mbarrier.cuh).
  __device__ void store(std::uint32_t stage, Values const& values) const {
#pragma unroll
    for (int j = 0; j < kPixels; ++j) {
      int const pixel = pixel_ + j * 128;
#pragma unroll
      for (int q = 0; q < kChannels / 4; ++q) {
        std::uint32_t const chunk =
            stage + static_cast<std::uint32_t>(pixel * Policy::BLOCK_R + swizzled_chunk(pixel, channel0_ / 4 + q) * 4) *
                        sizeof(float);
        asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(chunk),
                     "r"(__float_as_uint(to_tf32_operand(values[j][4 * q]))),
                     "r"(__float_as_uint(to_tf32_operand(values[j][4 * q + 1]))),
                     "r"(__float_as_uint(to_tf32_operand(values[j][4 * q + 2]))),
                     "r"(__float_as_uint(to_tf32_operand(values[j][4 * q + 3]))));
      }
    }
  }

private:
  Conv2dParams const& params_;
  int pixel_;          ///< this thread's first pixel in the tile, 0..127
  int channel0_;       ///< its first channel in the k tile
  float const* image_; ///< channel 0 of this block's (image, group)
  PixelWindow windows_[kPixels];
};

} // namespace detail
} // namespace tileconv
