#pragma once

/// \file filter_reorder.cuh
/// Rewrites the filter from PyTorch's (K, C / groups, R, S) order into the order a mainloop reads it in, rounded to
/// TF32 on the way, so that the mainloop need not round it once per warp that reads it: (K, R, S, C / groups), the
/// order in which the channel-tiled gathers walk the reduction, so that each filter tile row is contiguous in memory;
/// or, for the warp-specialized policies, whole shared-memory stages one after the other.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/fast_divmod.cuh>
#include <tileconv/device/ptx.cuh>

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
    for (int index = blockIdx.x * kThreads + threadIdx.x; index < params.elements; index += gridDim.x * kThreads) {
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

  struct Params {
    float const* kcrs;
    float* image;
    int elements;    ///< of the filter
    int gemm_m;      ///< output channels per group
    int gemm_k;      ///< C / groups * R * S, a multiple of kTileColumns
    FastDivmod taps; ///< k tile -> (channel tile of the reduction, tap)
  };

  __device__ void operator()(Params const& params, unsigned char* /*shared_bytes*/) const {
    int const group_elements = params.gemm_m * params.gemm_k;
    for (int index = blockIdx.x * kThreads + threadIdx.x; index < params.elements; index += gridDim.x * kThreads) {
      // integer divisions: a pass over the filter once per launch, not an inner loop
      int const group = index / group_elements;
      int const in_group = index % group_elements;
      int const oc0 = in_group / (kTileRows * params.gemm_k) * kTileRows;
      int const tile_rows = min(kTileRows, params.gemm_m - oc0);
      int const in_tiles = in_group - oc0 * params.gemm_k;
      int const k_tile = in_tiles / (tile_rows * kTileColumns);
      int const row = in_tiles % (tile_rows * kTileColumns) / kTileColumns;
      int const stored_column = in_tiles % kTileColumns;
      int const column = ((stored_column / 4) ^ (row % 8)) * 4 + stored_column % 4;
      int reduction_tile = 0;
      int tap = 0;
      params.taps.divmod(k_tile, reduction_tile, tap);
      int const channel = reduction_tile * kTileColumns + column;
      std::int64_t const filter_row = std::int64_t{group} * params.gemm_m + oc0 + row;
      params.image[index] =
          round_to_tf32(params.kcrs[filter_row * params.gemm_k + channel * params.taps.divisor() + tap]);
    }
  }
};

} // namespace detail
} // namespace tileconv
