#pragma once

/// \file output_tile_writer.cuh
/// Where a block's accumulators go: the NCHW output through bias and the epilogue, or, under split-K, the raw
/// partial sums to the workspace.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/epilogue/output_coord.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Stores one accumulator element per call, given its (channel, pixel) position in the block tile. Elements past
/// gemm_m or gemm_n (edge tiles) are skipped, so no tile writes out of bounds. Each thread stores its own
/// accumulators straight from registers: a warp's store covers 8 consecutive pixels of 4 channels (or 8 channels of
/// 2 pixels in the mma.sync layout), whole 32-byte sectors either way.
///
/// @tparam Epilogue the functor applied to conv + bias (see epilogue/epilogue_chain.cuh)
template <class Epilogue> class OutputTileWriter {
public:
  __device__ OutputTileWriter(Conv2dParams const& params, Epilogue const& epilogue, TileCoord const& tile)
      : params_(params), epilogue_(epilogue), tile_(tile),
        plane0_(tile.image * params.output_image_stride + tile.group * params.output_group_stride) {}

  __device__ void operator()(int channel_in_tile, int pixel_in_tile, float value) const {
    int const oc = tile_.oc0 + channel_in_tile;
    int const pixel = tile_.pixel0 + pixel_in_tile;
    if (oc >= params_.gemm_m || pixel >= params_.gemm_n) {
      return;
    }
    std::int64_t const offset = plane0_ + std::int64_t{oc} * params_.gemm_n + pixel;
    if (params_.partials != nullptr) {
      params_.partials[tile_.split * params_.output_elements + offset] = value;
      return;
    }
    int const channel = tile_.group * params_.gemm_m + oc;
    float const biased = params_.bias != nullptr ? value + params_.bias[channel] : value;
    params_.output[offset] = epilogue_(biased, OutputCoord{channel, offset});
  }

private:
  Conv2dParams const& params_;
  Epilogue const& epilogue_;
  TileCoord const& tile_;
  std::int64_t plane0_; ///< offset of channel 0 of this block's (image, group) in the output
};

} // namespace detail
} // namespace tileconv
