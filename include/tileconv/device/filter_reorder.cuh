#pragma once

/// \file filter_reorder.cuh
/// Rewrites the filter from PyTorch's (K, C / groups, R, S) order into the order a mainloop reads it in, rounded to
/// TF32 on the way, so that the mainloop need not round it once per warp that reads it: (K, R, S, C / groups), the
/// order in which the channel-tiled gathers walk the reduction, so that each filter tile row is contiguous in memory;
/// or, for the warp-specialized policies, whole shared-memory stages one after the other.

#include <tileconv/config.cuh>
#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/fast_divmod.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/swizzle.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// One thread per element of the reordered filter: krsc[row][tap][c] = kcrs[row][c][tap], row = output channel.
/// Reads are strided, writes coalesced; the filter is small next to the activations (e.g. 0.3 MB for the seed
/// shape), so one pass per launch costs a few microseconds.
struct FilterReorder {
  static constexpr int kThreads = 256;

  struct Params {
    float const* kcrs;
    float* krsc;
    int elements;        ///< out_channels * C / groups * R * S
    FastDivmod channels; ///< C / groups
    FastDivmod taps;     ///< R * S
  };

  __device__ void operator()(Params const& params, unsigned char* /*shared_bytes*/) const {
    // 64-bit: the last stride past an element count near 2^31 must not wrap
    for (std::int64_t step = std::int64_t{blockIdx.x} * kThreads + threadIdx.x; step < params.elements;
         step += std::int64_t{gridDim.x} * kThreads) {
      int const index = static_cast<int>(step);
      int row_tap = 0;
      int c = 0;
      int row = 0;
      int tap = 0;
      params.channels.divmod(index, row_tap, c);
      params.taps.divmod(row_tap, row, tap);
      int const row_length = params.channels.divisor() * params.taps.divisor();
      params.krsc[index] = round_to_tf32(params.kcrs[row * row_length + c * params.taps.divisor() + tap]);
    }
  }
};

/// The filter as the stages of a warp-specialized policy: for each group, output-channel tile and k tile in that
/// order, the tile's filter rows exactly as the producers' bulk copy puts them in shared memory: row = output
/// channel, the k tile's 32 channels of one tap along the row, 16-byte chunk c of row r at c ^ (r % 8) (the 128-byte
/// swizzle), rounded to TF32. The last channel tile of a group holds only the group's remaining rows, so the image is
/// exactly as large as the filter. One thread per element.
/// @tparam kTileRows BLOCK_OC of the policy
template <int kTileRows> struct FilterTileImage {
  static constexpr int kThreads = 256;
  static constexpr int kTileColumns = 32; ///< BLOCK_R: one 128-byte row
  static constexpr int kTileFloats = kTileRows * kTileColumns;

  struct Params {
    float const* kcrs;
    float* image;
    int elements;                   ///< of the filter
    int gemm_m;                     ///< output channels per group
    int gemm_k;                     ///< C / groups * R * S, a multiple of kTileColumns
    FastDivmod group_floats;        ///< element -> (group, element in the group): gemm_m * gemm_k
    FastDivmod channel_tile_floats; ///< -> (channel tile, element in it): kTileRows (or gemm_m) * gemm_k
    FastDivmod last_tile_floats;    ///< last channel tile's stage: (k tile, element in it), its rows * kTileColumns
    FastDivmod taps;                ///< k tile -> (channel tile of the reduction, tap)
  };

  /// The parameters for a filter of `groups` groups of (gemm_m, gemm_k).
  static Params make(float const* kcrs, float* image, int groups, int gemm_m, int gemm_k, int taps) {
    int const last_tile_rows = gemm_m - (gemm_m - 1) / kTileRows * kTileRows;
    return {kcrs, image, groups * gemm_m * gemm_k, gemm_m, gemm_k, FastDivmod(gemm_m * gemm_k),
            // a group of fewer than kTileRows channels is one tile (and kTileRows * gemm_k might not fit in an int)
            FastDivmod((gemm_m < kTileRows ? gemm_m : kTileRows) * gemm_k), FastDivmod(last_tile_rows * kTileColumns),
            FastDivmod(taps)};
  }

  /// The offset in the (K, C / groups, R, S) filter of the value that element `index` of the image holds.
  TILECONV_HOST_DEVICE static std::int64_t source(Params const& params, int index) {
    int group = 0;
    int in_group = 0;
    int channel_tile = 0;
    int in_tiles = 0;
    params.group_floats.divmod(index, group, in_group);
    params.channel_tile_floats.divmod(in_group, channel_tile, in_tiles);
    int const oc0 = channel_tile * kTileRows;
    int k_tile = in_tiles / kTileFloats;
    int element = in_tiles % kTileFloats;
    if (oc0 + kTileRows > params.gemm_m) { // the last, partial channel tile: fewer rows per stage
      params.last_tile_floats.divmod(in_tiles, k_tile, element);
    }
    int const row = element / kTileColumns;
    int const stored_column = element % kTileColumns;
    int const column = swizzled_column(row, stored_column); // the swizzle is its own inverse
    int reduction_tile = 0;
    int tap = 0;
    params.taps.divmod(k_tile, reduction_tile, tap);
    int const channel = reduction_tile * kTileColumns + column;
    std::int64_t const filter_row = std::int64_t{group} * params.gemm_m + oc0 + row;
    return filter_row * params.gemm_k + channel * params.taps.divisor() + tap;
  }

  __device__ void operator()(Params const& params, unsigned char* /*shared_bytes*/) const {
    write(params, static_cast<int>(blockIdx.x), static_cast<int>(gridDim.x));
  }

  /// The elements of block `block` of `blocks` (each strides over the image by blocks * kThreads).
  __device__ static void write(Params const& params, int block, int blocks) {
    for (std::int64_t step = std::int64_t{block} * kThreads + threadIdx.x; step < params.elements;
         step += std::int64_t{blocks} * kThreads) {
      int const index = static_cast<int>(step); // below 2^31: the filter's element count
      params.image[index] = round_to_tf32(params.kcrs[source(params, index)]);
    }
  }
};

} // namespace detail
} // namespace tileconv
