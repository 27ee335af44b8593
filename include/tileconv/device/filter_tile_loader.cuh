#pragma once

/// \file filter_tile_loader.cuh
/// Copies (BLOCK_OC, BLOCK_R) tiles of the filter into shared memory, in the reduction order of the gather.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/policy/gather_kind.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// The filter of one group is a row-major (gemm_m, gemm_k) matrix, rows = output channels, columns =
/// c * R * S + r * S + s: PyTorch's (K, C / groups, R, S) layout, read in place. Each thread owns one column of
/// the tile and every (threads / BLOCK_R)-th row; rows past gemm_m and columns past gemm_k are zero-filled.
///
/// @tparam kKind the gather's reduction order: kAnalytic walks the columns in memory order (coalesced);
///               kChannelTiled takes tile k_tile as BLOCK_R channels of tap k_tile % taps: consecutive in a filter
///               the launcher reordered to (K, R, S, C) (`Conv2dParams::filter_reordered`), else R * S apart.
template <class Policy, GatherKind kKind> class FilterTileLoader {
  static_assert(kKind == GatherKind::kAnalytic || kKind == GatherKind::kChannelTiled,
                "resolve GatherKind::kAuto on the host");

public:
  __device__ FilterTileLoader(Conv2dParams const& params, TileCoord const& tile, int thread)
      : params_(params), column_(thread % Policy::BLOCK_R), first_row_(thread / Policy::BLOCK_R),
        rows_left_(params.gemm_m - tile.oc0 - first_row_),
        row_start_(params.filter + tile.group * params.filter_group_stride +
                   std::int64_t{tile.oc0 + first_row_} * params.gemm_k) {}

  /// Issues the cp.async of reduction tile `k_tile` into `stage`, a (BLOCK_OC, kFilterPitch) array.
  __device__ void load(float* stage, int k_tile) const {
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
      cp_async_f32_zfill(stage + (first_row_ + row_step) * Policy::kFilterPitch + column_, src, valid);
    }
  }

private:
  Conv2dParams const& params_;
  int column_;
  int first_row_;
  int rows_left_;          ///< valid rows from first_row_ on
  float const* row_start_; ///< this thread's first row
};

} // namespace detail
} // namespace tileconv
