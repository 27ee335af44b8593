#pragma once

/// \file channels_last_copy.cuh
/// The input copied from NCHW to NHWC, rounded to TF32 on the way: what the channels-last gather reads
/// (device/channels_last_gather.cuh), one pass over the input per launch, in the same kernel as the filter's tile
/// image.

#include <tileconv/config.cuh>
#include <tileconv/device/filter_reorder.cuh>
#include <tileconv/device/ptx.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Tiles of 32 channels by 64 pixels of one image, through shared memory: read along the pixels of each channel plane
/// (a warp reads 128 contiguous bytes of one channel), written along the channels of each pixel (a warp writes the
/// 128-byte rows of 4 pixels, 16 bytes per thread). One pad column keeps both directions free of bank conflicts.
struct ChannelsLastCopy {
  static constexpr int kChannels = 32; ///< per tile: one 128-byte row of a pixel
  static constexpr int kPixels = 64;   ///< per tile
  static constexpr int kThreads = 256;
  static constexpr int kChunks = kChannels / 4; ///< 16-byte chunks of a pixel's row

  struct Params {
    float const* nchw;
    float* nhwc; ///< 16-byte aligned
    int images;
    int channels; ///< a multiple of kChannels
    int plane;    ///< in_h * in_w
  };

  /// Tiles of the input: pixel tiles fastest, then channel tiles, then images.
  TILECONV_HOST_DEVICE static std::int64_t tiles(Params const& params) {
    return std::int64_t{(params.plane + kPixels - 1) / kPixels} * (params.channels / kChannels) * params.images;
  }

  /// Copies the tiles of block `block` of `blocks`: tile `block`, then every `blocks`-th after it.
  __device__ static void copy(Params const& params, std::int64_t block, std::int64_t blocks) {
    __shared__ float tile[kChannels][kPixels + 1];
    int const thread = static_cast<int>(threadIdx.x);
    // reads: pixel thread % kPixels of every (kThreads / kPixels)-th channel; writes: chunk thread % kChunks of
    // every (kThreads / kChunks)-th pixel
    int const read_pixel = thread % kPixels;
    int const chunk = thread % kChunks;
    std::int64_t const image_floats = std::int64_t{params.channels} * params.plane;
    int const pixel_tiles = (params.plane + kPixels - 1) / kPixels;
    int const channel_tiles = params.channels / kChannels;
    std::int64_t const count = tiles(params);
    for (std::int64_t index = block; index < count; index += blocks) {
      int const pixel0 = static_cast<int>(index % pixel_tiles) * kPixels;
      int const channel0 = static_cast<int>(index / pixel_tiles % channel_tiles) * kChannels;
      std::int64_t const image = index / pixel_tiles / channel_tiles;
      float const* const nchw = params.nchw + image * image_floats + std::int64_t{channel0} * params.plane + pixel0;
      float* const nhwc = params.nhwc + image * image_floats + std::int64_t{pixel0} * params.channels + channel0;
      if (pixel0 + read_pixel < params.plane) {
#pragma unroll
        for (int c = thread / kPixels; c < kChannels; c += kThreads / kPixels) {
          tile[c][read_pixel] = __ldg(nchw + std::int64_t{c} * params.plane + read_pixel);
        }
      }
      __syncthreads();
#pragma unroll
      for (int p = thread / kChunks; p < kPixels; p += kThreads / kChunks) {
        if (pixel0 + p < params.plane) {
          float4 const values{round_to_tf32(tile[4 * chunk][p]), round_to_tf32(tile[4 * chunk + 1][p]),
                              round_to_tf32(tile[4 * chunk + 2][p]), round_to_tf32(tile[4 * chunk + 3][p])};
          *reinterpret_cast<float4*>(nhwc + std::int64_t{p} * params.channels + 4 * chunk) = values;
        }
      }
      __syncthreads(); // the tile's reads, before the next tile overwrites it
    }
  }
};

/// Both operands of a channels-last launch in one kernel: the first `filter_blocks` blocks write the filter's tile
/// image (`FilterTileImage`), the others copy the input to NHWC (`ChannelsLastCopy`). One launch instead of two: on
/// the small maps each pass is mostly launch and ramp time, and in one grid they overlap.
/// @tparam kTileRows BLOCK_OC of the warp-specialized policy
template <int kTileRows> struct ChannelsLastOperands {
  static constexpr int kThreads = ChannelsLastCopy::kThreads;
  static_assert(FilterTileImage<kTileRows>::kThreads == kThreads, "both passes run in blocks of one size");

  struct Params {
    typename FilterTileImage<kTileRows>::Params filter;
    ChannelsLastCopy::Params input;
    int filter_blocks;
  };

  __device__ void operator()(Params const& params, unsigned char* /*shared_bytes*/) const {
    int const block = static_cast<int>(blockIdx.x);
    if (block < params.filter_blocks) {
      FilterTileImage<kTileRows>::write(params.filter, block, params.filter_blocks);
    } else {
      ChannelsLastCopy::copy(params.input, block - params.filter_blocks,
                             std::int64_t{gridDim.x} - params.filter_blocks);
    }
  }
};

} // namespace detail
} // namespace tileconv
