#pragma once

/// \file channels_last_copy.cuh
/// The input copied from NCHW to NHWC, rounded to TF32 on the way: what the channels-last gather reads
/// (device/channels_last_gather.cuh), one pass over the input per launch.

#include <tileconv/device/ptx.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// One block per tile of 32 channels by 64 pixels of one image, through shared memory: read along the pixels of each
/// channel plane (a warp reads 128 contiguous bytes of one channel), written along the channels of each pixel (a warp
/// writes the 128-byte rows of 4 pixels, 16 bytes per thread). One pad column keeps both directions free of bank
/// conflicts. Grid: x = pixel tiles, y = channel tiles, z = images (grid-striding past 65535).
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

  __device__ void operator()(Params const& params, unsigned char* /*shared_bytes*/) const {
    __shared__ float tile[kChannels][kPixels + 1];
    int const thread = static_cast<int>(threadIdx.x);
    int const pixel0 = static_cast<int>(blockIdx.x) * kPixels;
    int const channel0 = static_cast<int>(blockIdx.y) * kChannels;
    // reads: pixel thread % kPixels of every (kThreads / kPixels)-th channel; writes: chunk thread % kChunks of
    // every (kThreads / kChunks)-th pixel
    int const read_pixel = thread % kPixels;
    int const chunk = thread % kChunks;
    std::int64_t const image_floats = std::int64_t{params.channels} * params.plane;
    for (int image = static_cast<int>(blockIdx.z); image < params.images; image += static_cast<int>(gridDim.z)) {
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
      __syncthreads(); // the tile's reads, before the next image overwrites it
    }
  }
};

} // namespace detail
} // namespace tileconv
