#pragma once

/// \file nchw_bias_epilogue.cuh
/// Writes a warp's accumulators to the NCHW output, adding the optional per-channel bias.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/tile_coord.cuh>

namespace tileconv {
namespace detail {

/// Output pixels of a tile that is a run of BLOCK_OW flattened pixels of one image.
struct LinearPixelMap {
  int pixel0;
  int pixels; ///< out_h * out_w
  /// Offset of the tile's pixel `n` in its output plane, or -1 past the image.
  __device__ int operator()(int n) const { return pixel0 + n < pixels ? pixel0 + n : -1; }
};

/// Each thread holds, per m16n8 fragment, two adjacent pixels of two output channels (rows g and g + 8,
/// columns 2t and 2t + 1); it stores them straight to global memory, skipping channels past gemm_m and pixels
/// the `PixelMap` puts outside the image, so edge tiles never write out of bounds.
template <class Policy> class NchwBiasEpilogue {
public:
  template <class PixelMap, class Accumulators>
  __device__ void operator()(Conv2dParams const& params, TileCoord const& tile, PixelMap const& pixel_map, int warp_oc,
                             int warp_ow, int lane, Accumulators const& acc) const {
    // (gemm_m, gemm_n) output matrix of this (image, group), row = output channel, column = pixel
    float* output = params.output + tile.image * params.output_image_stride + tile.group * params.output_group_stride;
    int const row0 = tile.oc0 + warp_oc * Policy::WARP_OC + lane / 4;
    int const column0 = warp_ow * Policy::WARP_OW + 2 * (lane % 4);
#pragma unroll
    for (int i = 0; i < Policy::kWarpMmasOc; ++i) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        int const oc = row0 + i * Policy::kMmaM + 8 * half;
        if (oc >= params.gemm_m) {
          continue;
        }
        float const bias = params.bias != nullptr ? params.bias[tile.group * params.gemm_m + oc] : 0.0f;
        float* row = output + oc * params.gemm_n;
#pragma unroll
        for (int j = 0; j < Policy::kWarpMmasOw; ++j) {
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            int const pixel = pixel_map(column0 + j * Policy::kMmaN + e);
            if (pixel >= 0) {
              row[pixel] = acc[i][j][2 * half + e] + bias;
            }
          }
        }
      }
    }
  }
};

} // namespace detail
} // namespace tileconv
