#pragma once

/// \file warp_mma.cuh
/// One warp's share of a block tile: loads TF32 fragments from a shared-memory stage and issues the mma.sync.

#include <tileconv/device/ptx.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Accumulates a (WARP_OC, WARP_OW) tile of the output in registers, as WARP_OC / 16 x WARP_OW / 8 mma tiles.
template <class Policy> class WarpMma {
public:
  /// acc[i][j] is the m16n8 accumulator fragment of rows 16 i.. and columns 8 j.. of the warp tile.
  using Accumulators = float[Policy::kWarpMmasOc][Policy::kWarpMmasOw][4];

  /// Warp w of the block sits at (w % WARPS_OC, w / WARPS_OC) in the WARPS_OC x WARPS_OW arrangement.
  __device__ explicit WarpMma(int thread)
      : WarpMma(thread / 32 % Policy::WARPS_OC, thread / 32 / Policy::WARPS_OC, thread % 32) {}

  __device__ static void clear(Accumulators& acc) {
#pragma unroll
    for (int i = 0; i < Policy::kWarpMmasOc; ++i) {
#pragma unroll
      for (int j = 0; j < Policy::kWarpMmasOw; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          acc[i][j][e] = 0.0f;
        }
      }
    }
  }

  /// acc += filter_stage * activation_stage over the BLOCK_R reduction of one stage.
  /// filter_stage: (BLOCK_OC, kFilterPitch), row = output channel; activation_stage: (BLOCK_R, kActivationPitch),
  /// row = reduction index.
  /// @tparam kFilterRounded whether the filter already holds TF32 values (the launcher's reordered copy), so that its
  ///                        fragments go to the mma as loaded instead of being rounded by each warp that reads them
  /// @param issue_copies the mainloop's copies of a later stage, called once, first: mma.sync is synchronous, so
  ///                     copies issued after it would start late
  template <bool kFilterRounded, class IssueCopies>
  __device__ void accumulate(float const* filter_stage, float const* activation_stage, Accumulators& acc,
                             IssueCopies&& issue_copies) const {
    issue_copies();
#pragma unroll
    for (int step = 0; step < Policy::kMmaStepsR; ++step) {
      int const k = step * Policy::kMmaK + k_;
      std::uint32_t a[Policy::kWarpMmasOc][4];
      std::uint32_t b[Policy::kWarpMmasOw][2];
#pragma unroll
      for (int i = 0; i < Policy::kWarpMmasOc; ++i) {
        // one ldmatrix instead of four shared loads: matrices (rows 0-7 | 8-15) x (columns 0-3 | 4-7)
        ldmatrix_x4(a[i], filter_stage + (ldmatrix_row_ + i * Policy::kMmaM) * Policy::kFilterPitch +
                              step * Policy::kMmaK + ldmatrix_k_);
        if constexpr (!kFilterRounded) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            a[i][e] = to_tf32(__uint_as_float(a[i][e]));
          }
        }
      }
#pragma unroll
      for (int j = 0; j < Policy::kWarpMmasOw; ++j) {
        float const* column = activation_stage + k * Policy::kActivationPitch + column0_ + j * Policy::kMmaN;
        b[j][0] = to_tf32(column[0]);
        b[j][1] = to_tf32(column[4 * Policy::kActivationPitch]);
      }
#pragma unroll
      for (int i = 0; i < Policy::kWarpMmasOc; ++i) {
#pragma unroll
        for (int j = 0; j < Policy::kWarpMmasOw; ++j) {
          mma_tf32_m16n8k8(acc[i][j], a[i], b[j]);
        }
      }
    }
  }

  /// Calls store(channel in tile, pixel in tile, value) for each accumulator element of this thread.
  template <class Store> __device__ void for_each(Accumulators const& acc, Store&& store) const {
#pragma unroll
    for (int i = 0; i < Policy::kWarpMmasOc; ++i) {
#pragma unroll
      for (int j = 0; j < Policy::kWarpMmasOw; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          store(output_row0_ + i * Policy::kMmaM + 8 * (e / 2), output_column0_ + j * Policy::kMmaN + e % 2,
                acc[i][j][e]);
        }
      }
    }
  }

private:
  __device__ WarpMma(int warp_oc, int warp_ow, int lane)
      : ldmatrix_row_(warp_oc * Policy::WARP_OC + lane % 8 + 8 * (lane / 8 % 2)), ldmatrix_k_(4 * (lane / 16)),
        column0_(warp_ow * Policy::WARP_OW + lane / 4), k_(lane % 4),
        output_row0_(warp_oc * Policy::WARP_OC + lane / 4),
        output_column0_(warp_ow * Policy::WARP_OW + 2 * (lane % 4)) {}

  int ldmatrix_row_;   ///< filter row whose address this lane gives ldmatrix: row lane % 8 of matrix lane / 8
  int ldmatrix_k_;     ///< and its column offset: matrices 2 and 3 hold columns 4-7
  int column0_;        ///< activation column (pixel in the block tile) of fragment element g = lane / 4
  int k_;              ///< reduction offset t = lane % 4 of the fragments within one k8 step
  int output_row0_;    ///< output channel g of accumulator element 0 in the block tile
  int output_column0_; ///< and its pixel 2t
};

} // namespace detail
} // namespace tileconv
