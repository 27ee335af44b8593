#pragma once

/// \file tile_policy.cuh
/// The compile-time shape of one implicit-GEMM conv kernel. A policy changes speed, never results.

#include <tileconv/policy/mma_kind.cuh>

namespace tileconv {

/// Tile sizes of the implicit-GEMM conv, in the GEMM view of `Conv2dProblem` (M = output channels of a group,
/// N = output pixels of one image, K = in_channels / groups * filter_h * filter_w).
///
/// @tparam BLOCK_OC_ output channels per block (GEMM M tile)
/// @tparam BLOCK_OW_ output pixels per block, flattened over out_h * out_w of one image (GEMM N tile)
/// @tparam BLOCK_R_  reduction elements per pipeline stage (GEMM K tile)
/// @tparam WARPS_OC_ warps along the output channels; each warp owns BLOCK_OC / WARPS_OC of them
/// @tparam WARPS_OW_ warps along the output pixels; each warp owns BLOCK_OW / WARPS_OW of them
/// @tparam STAGES_   shared-memory pipeline depth: STAGES - 1 tiles are in flight while one is computed
template <int BLOCK_OC_, int BLOCK_OW_, int BLOCK_R_, int WARPS_OC_, int WARPS_OW_, int STAGES_> struct TilePolicy {
  static constexpr MmaKind kMma = MmaKind::kWarp;
  static constexpr bool kWarpSpecialized = false; ///< one role for every warp (see `WarpSpecializedTilePolicy`)
  static constexpr int MIN_BLOCKS = 0;            ///< no blocks-per-SM bound for ptxas (see `WarpgroupTilePolicy`)
  static constexpr int BLOCK_OC = BLOCK_OC_;
  static constexpr int BLOCK_OW = BLOCK_OW_;
  static constexpr int BLOCK_R = BLOCK_R_;
  static constexpr int WARPS_OC = WARPS_OC_;
  static constexpr int WARPS_OW = WARPS_OW_;
  static constexpr int STAGES = STAGES_;

  static constexpr int kWarps = WARPS_OC * WARPS_OW;
  static constexpr int kThreads = 32 * kWarps;

  /// One TF32 tensor-core instruction, mma.sync.m16n8k8: (16 x 8) += (16 x 8) * (8 x 8).
  static constexpr int kMmaM = 16;
  static constexpr int kMmaN = 8;
  static constexpr int kMmaK = 8;

  /// The part of the block tile one warp computes.
  static constexpr int WARP_OC = BLOCK_OC / WARPS_OC;
  static constexpr int WARP_OW = BLOCK_OW / WARPS_OW;
  static constexpr int kWarpMmasOc = WARP_OC / kMmaM;
  static constexpr int kWarpMmasOw = WARP_OW / kMmaN;
  static constexpr int kMmaStepsR = BLOCK_R / kMmaK;

  /// Shared-memory row pitches, in floats, padded so that each warp's fragment reads hit 32 distinct banks:
  /// ldmatrix reads a filter fragment as 8 rows of 4 floats (pitch = 4 mod 8 puts the rows on 8 disjoint groups
  /// of 4 banks, and keeps rows 16-byte aligned as ldmatrix requires); an activation fragment is read as rows
  /// t = 0..3 at columns g = 0..7 (pitch = 8 or 24 mod 32 puts the four rows eight banks apart).
  static constexpr int kFilterPitch = BLOCK_R + 4;
  static constexpr int kActivationPitch = BLOCK_OW + 8;

  static constexpr int kFilterStageFloats = BLOCK_OC * kFilterPitch;        // (BLOCK_OC, BLOCK_R) tile
  static constexpr int kActivationStageFloats = BLOCK_R * kActivationPitch; // (BLOCK_R, BLOCK_OW) tile
  static constexpr int kSmemAlignment = 16; ///< what the tiles need: 16-byte cp.async and ldmatrix rows
  static constexpr int kSmemBytes = STAGES * (kFilterStageFloats + kActivationStageFloats) * int(sizeof(float));

  /// Loader work split: every thread copies a fixed column of the filter tile and gathers for a fixed pixel.
  static constexpr int kFilterRowsPerPass = kThreads / BLOCK_R;
  static constexpr int kFilterCopiesPerThread = BLOCK_OC / kFilterRowsPerPass;
  static constexpr int kActivationRowsPerPass = kThreads / BLOCK_OW;
  static constexpr int kActivationCopiesPerThread = BLOCK_R / kActivationRowsPerPass;

  static_assert(BLOCK_R % kMmaK == 0, "BLOCK_R must be a multiple of 8, the k of one TF32 mma");
  static_assert(BLOCK_OC % WARPS_OC == 0 && WARP_OC % kMmaM == 0,
                "BLOCK_OC / WARPS_OC must be a multiple of 16, the m of one TF32 mma");
  static_assert(BLOCK_OW % WARPS_OW == 0 && WARP_OW % kMmaN == 0,
                "BLOCK_OW / WARPS_OW must be a multiple of 8, the n of one TF32 mma");
  static_assert(BLOCK_OW % 16 == 0, "BLOCK_OW must be a multiple of 16 for the bank-conflict-free padding");
  static_assert(kThreads <= 1024, "WARPS_OC * WARPS_OW must be at most 32 warps");
  static_assert(kThreads % BLOCK_R == 0 && BLOCK_OC % kFilterRowsPerPass == 0,
                "the thread count must be a multiple of BLOCK_R, and BLOCK_OC of threads / BLOCK_R, "
                "so that the filter tile splits evenly over the threads");
  static_assert(kThreads % BLOCK_OW == 0 && BLOCK_R % kActivationRowsPerPass == 0,
                "BLOCK_OW must divide the thread count (each thread gathers for one output pixel), "
                "and threads / BLOCK_OW must divide BLOCK_R");
  static_assert(STAGES >= 2, "STAGES must be at least 2: one tile computed while the next one loads");
};

} // namespace tileconv
