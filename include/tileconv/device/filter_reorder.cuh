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
/// exactly as large as the filter.
///
/// One warp per segment: a filter row's 32 channels of one channel tile of the reduction, over all taps, which are
/// 32 x taps consecutive floats of the (K, C / groups, R, S) filter. The warp writes the segment's 128-byte image row
/// of each tap in turn, a lane per float; its first tap's reads (36 bytes apart for 3 x 3) bring the whole segment
/// into L1, so that the other taps read it there instead of from L2 again.
/// @tparam kTileRows BLOCK_OC of the policy
template <int kTileRows> struct FilterTileImage {
  static constexpr int kThreads = 256;
  static constexpr int kTileColumns = 32; ///< BLOCK_R: one 128-byte row

  struct Params {
    float const* kcrs;
    float* image;
    int segments; ///< groups * gemm_m filter rows x channel tiles of the reduction: one warp's work each
    int gemm_m;   ///< output channels per group
    int gemm_k;   ///< C / groups * R * S, a multiple of kTileColumns
    int taps;     ///< R * S
  };

  /// The parameters for a filter of `groups` groups of (gemm_m, gemm_k).
  static Params make(float const* kcrs, float* image, int groups, int gemm_m, int gemm_k, int taps) {
    int const segments = groups * gemm_m * (gemm_k / taps / kTileColumns);
    return {kcrs, image, segments, gemm_m, gemm_k, taps};
  }

  /// Threads the pass needs: a warp per segment.
  static constexpr std::int64_t threads(Params const& params) { return std::int64_t{params.segments} * 32; }

  /// Where a segment goes and comes from: for tap t and each of the row's 32 columns,
  /// image[image + t * image_tap_stride + column] = kcrs[filter + swizzled_column(tile_row, column) * taps + t].
  struct Segment {
    std::int64_t image;            ///< image offset of the segment's row of tap 0
    std::int64_t filter;           ///< filter offset of the segment's first channel, tap 0
    std::int64_t image_tap_stride; ///< floats from one tap's row to the next's: one stage of the channel tile
    int tile_row;                  ///< the row within its channel tile, which sets the swizzle
  };

  /// Segment `index`: filter row index / (C / groups / 32), channel tile index % (C / groups / 32) of the reduction.
  TILECONV_HOST_DEVICE static Segment segment(Params const& params, int index) {
    int const reduction_tiles = params.gemm_k / params.taps / kTileColumns;
    int const filter_row = index / reduction_tiles; // group * gemm_m + channel in the group
    int const reduction_tile = index % reduction_tiles;
    int const group = filter_row / params.gemm_m;
    int const oc0 = (filter_row % params.gemm_m) / kTileRows * kTileRows;
    int const tile_row = filter_row % params.gemm_m - oc0;
    // the last channel tile of a group holds fewer rows per stage
    int const rows = params.gemm_m - oc0 < kTileRows ? params.gemm_m - oc0 : kTileRows;
    std::int64_t const stage_floats = std::int64_t{rows} * kTileColumns;
    std::int64_t const first_k_tile = std::int64_t{reduction_tile} * params.taps;
    return {(std::int64_t{group} * params.gemm_m + oc0) * params.gemm_k + first_k_tile * stage_floats +
                tile_row * kTileColumns,
            std::int64_t{filter_row} * params.gemm_k + first_k_tile * kTileColumns, stage_floats, tile_row};
  }

  __device__ void operator()(Params const& params, unsigned char* /*shared_bytes*/) const {
    write(params, static_cast<int>(blockIdx.x), static_cast<int>(gridDim.x));
  }

  /// The segments of block `block` of `blocks`, a warp each (each warp strides over them by blocks * kWarps).
  __device__ static void write(Params const& params, int block, int blocks) {
    constexpr int kWarps = kThreads / 32;
    int const lane = static_cast<int>(threadIdx.x) % 32;
    for (int index = block * kWarps + static_cast<int>(threadIdx.x) / 32; index < params.segments;
         index += blocks * kWarps) {
      Segment const where = segment(params, index);
      float* const image = params.image + where.image + lane;
      float const* const filter = params.kcrs + where.filter + swizzled_column(where.tile_row, lane) * params.taps;
      for (int tap = 0; tap < params.taps; ++tap) {
        image[tap * where.image_tap_stride] = round_to_tf32(__ldg(filter + tap));
      }
    }
  }
};

} // namespace detail
} // namespace tileconv
