#pragma once

/// \file filter_tile_loader.cuh
/// Copies (BLOCK_OC, BLOCK_R) tiles of the filter into shared memory, in the reduction order of the gather.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/swizzle.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/policy/mma_kind.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Where element (row, column) of a (BLOCK_OC, BLOCK_R) filter tile lies in a stage: rows kFilterPitch floats apart,
/// and for wgmma the 16-byte chunks of each row permuted by the 128-byte swizzle (chunk c of row r at c ^ (r % 8)).
template <class Policy> __device__ int filter_stage_offset(int row, int column) {
  if constexpr (Policy::kMma == MmaKind::kWarpgroup) {
    return row * Policy::kFilterPitch + swizzled_column(row, column);
  } else {
    return row * Policy::kFilterPitch + column;
  }
}

/// The filter of one group is a row-major (gemm_m, gemm_k) matrix, rows = output channels, columns =
/// c * R * S + r * S + s: PyTorch's (K, C / groups, R, S) layout, read in place. Each thread owns one column of
/// the tile and every (threads / BLOCK_R)-th row; rows past gemm_m and columns past gemm_k are zero-filled.
/// A reordered filter in 16-byte aligned memory (`Conv2dParams::filter_vector_copies`) is copied 4 floats at a time
/// instead: each thread owns one 4-float column group and every (threads / (BLOCK_R / 4))-th row.
///
/// @tparam kKind the gather's reduction order: kAnalytic walks the columns in memory order (coalesced);
///               kChannelTiled takes tile k_tile as BLOCK_R channels of tap k_tile % taps: consecutive in a filter
///               the launcher reordered to (K, R, S, C) (`Conv2dParams::filter_reordered`), else R * S apart.
template <class Policy, GatherKind kKind> class FilterTileLoader {
  static_assert(kKind == GatherKind::kAnalytic || kKind == GatherKind::kChannelTiled,
                "resolve GatherKind::kAuto on the host");

  /// The 16-byte copies: 4-float column groups per tile row, and rows one pass of the threads covers.
  static constexpr int kVectorsPerRow = Policy::BLOCK_R / 4;
  static constexpr int kVectorRowsPerPass = Policy::kThreads / kVectorsPerRow;
  /// Whether the threads split the tile evenly into 16-byte copies; a policy where they do not keeps 4-byte ones.
  static constexpr bool kVectorCopies = kKind == GatherKind::kChannelTiled && Policy::BLOCK_R % 4 == 0 &&
                                        Policy::kThreads % kVectorsPerRow == 0 &&
                                        Policy::BLOCK_OC % kVectorRowsPerPass == 0;
  static_assert(Policy::kFilterPitch % 4 == 0, "16-byte copies need tile rows 16 bytes apart");

public:
  __device__ FilterTileLoader(Conv2dParams const& params, TileCoord const& tile, int thread)
      : params_(params), column_(thread % Policy::BLOCK_R), first_row_(thread / Policy::BLOCK_R),
        rows_left_(params.gemm_m - tile.oc0 - first_row_),
        row_start_(params.filter + tile.group * params.filter_group_stride +
                   std::int64_t{tile.oc0 + first_row_} * params.gemm_k) {}

  /// Issues the cp.async of reduction tile `k_tile` into `stage` (see `filter_stage_offset`).
  __device__ void load(float* stage, int k_tile) const {
    if constexpr (kVectorCopies) {
      if (params_.filter_vector_copies) {
        load_vectors(stage, k_tile);
        return;
      }
    }
    int column = 0; // of this thread's element in the (gemm_m, gemm_k) filter matrix
    bool column_valid = true;
    if constexpr (kKind == GatherKind::kAnalytic) {
      column = k_tile * Policy::BLOCK_R + column_;
      column_valid = column < params_.gemm_k;
    } else {
      int channel_tile = 0;
      int tap = 0;
      params_.filter_taps.divmod(k_tile, channel_tile, tap);
      int const channel = channel_tile * Policy::BLOCK_R + column_;
      // reordered (K, R, S, C): a tile row is BLOCK_R consecutive floats; in place (K, C, R, S): R * S apart
      column = params_.filter_reordered ? tap * params_.channels_per_group + channel
                                        : channel * params_.filter_taps.divisor() + tap;
    }
#pragma unroll
    for (int i = 0; i < Policy::kFilterCopiesPerThread; ++i) {
      int const row_step = i * Policy::kFilterRowsPerPass;
      bool const valid = column_valid && row_step < rows_left_;
      // 64-bit: rows past gemm_m are never read, but their offsets may not fit 32 bits
      float const* src = valid ? row_start_ + std::int64_t{row_step} * params_.gemm_k + column : row_start_;
      cp_async_zfill<4>(stage + filter_stage_offset<Policy>(first_row_ + row_step, column_), src, valid);
    }
  }

private:
  /// `load` with 16-byte copies, for a reordered filter whose base is 16-byte aligned: tile row `oc` is BLOCK_R
  /// consecutive floats from column tap * C / groups + channel_tile * BLOCK_R, 16-byte aligned as C / groups is a
  /// multiple of BLOCK_R. The thread's rows and column group follow from its index; rows past gemm_m zero-fill.
  __device__ void load_vectors(float* stage, int k_tile) const {
    int channel_tile = 0;
    int tap = 0;
    params_.filter_taps.divmod(k_tile, channel_tile, tap);
    int const thread = first_row_ * Policy::BLOCK_R + column_;
    int const vector = thread % kVectorsPerRow;
    int const first_row = thread / kVectorsPerRow;
    int const column = tap * params_.channels_per_group + channel_tile * Policy::BLOCK_R + 4 * vector;
    // row_start_ is row first_row_ of the tile; rows_left_ counts from it
    float const* const tile_start = row_start_ - std::int64_t{first_row_} * params_.gemm_k;
    int const tile_rows = rows_left_ + first_row_;
#pragma unroll
    for (int i = 0; i < Policy::BLOCK_OC / kVectorRowsPerPass; ++i) {
      int const row = first_row + i * kVectorRowsPerPass;
      bool const valid = row < tile_rows;
      float const* src = valid ? tile_start + std::int64_t{row} * params_.gemm_k + column : tile_start;
      cp_async_zfill<16>(stage + filter_stage_offset<Policy>(row, 4 * vector), src, valid);
    }
  }

  Conv2dParams const& params_;
  int column_;
  int first_row_;
  int rows_left_;          ///< valid rows from first_row_ on
  float const* row_start_; ///< this thread's first row
};

} // namespace detail
} // namespace tileconv
