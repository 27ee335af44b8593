#pragma once

/// \file warpgroup_tile_policy.cuh
/// The compile-time shape of a Hopper implicit-GEMM conv kernel whose warpgroups issue wgmma. A policy changes speed,
/// never results.

#include <tileconv/policy/mma_kind.cuh>

namespace tileconv {

/// Tile sizes of the wgmma implicit-GEMM conv (sm_90a builds on sm_90 devices only). The GEMM is the transpose of
/// `TilePolicy`'s: the instruction's M is output pixels, its N output channels, because wgmma reads its shared-memory
/// operand K-major only (for TF32) and the filter is the operand stored K-major (a row of C * R * S per output
/// channel). The im2col tile, contiguous along pixels in an NCHW tensor, goes to the instruction from registers,
/// in the mma.sync A-fragment layout, loaded from the same padded stage as `TilePolicy`'s.
///
/// @tparam BLOCK_OC_   output channels per block: the N of each wgmma, 64 or 128 (or 256, as two N = 128 halves)
/// @tparam BLOCK_OW_   output pixels per block, flattened over out_h * out_w of one image, split over the warpgroups
/// @tparam WARPGROUPS_ warpgroups of 4 warps; each owns BLOCK_OW / WARPGROUPS pixels as 64-pixel wgmma slices
/// @tparam STAGES_     shared-memory pipeline depth: STAGES - 1 tiles are in flight while one is computed
/// @tparam MIN_BLOCKS_ blocks per SM the kernel's registers must allow (`__launch_bounds__`; 0: ptxas's choice): with
///                     a wait for each stage's wgmma, a second block keeps the tensor cores busy while one waits
/// @tparam COPIES_UNDER_MMA_ whether each stage issues the next tile's copies while its wgmma run rather than
///                     before them: fewer idle tensor-core cycles, but the copies' registers then add to the A
///                     fragments', which the wgmma hold until they complete
template <int BLOCK_OC_, int BLOCK_OW_, int WARPGROUPS_, int STAGES_, int MIN_BLOCKS_ = 0,
          bool COPIES_UNDER_MMA_ = false>
struct WarpgroupTilePolicy {
  static constexpr int MIN_BLOCKS = MIN_BLOCKS_;
  static constexpr bool COPIES_UNDER_MMA = COPIES_UNDER_MMA_;
  static constexpr MmaKind kMma = MmaKind::kWarpgroup;
  static constexpr bool kWarpSpecialized = false; ///< one role for every warp (see `WarpSpecializedTilePolicy`)
  static constexpr int BLOCK_OC = BLOCK_OC_;
  static constexpr int BLOCK_OW = BLOCK_OW_;
  /// One 128-byte row of TF32 per output channel and stage: the width of the 128-byte swizzle wgmma reads.
  static constexpr int BLOCK_R = 32;
  static constexpr int WARPGROUPS = WARPGROUPS_;
  static constexpr int STAGES = STAGES_;

  static constexpr int kWarps = 4 * WARPGROUPS;
  static constexpr int kThreads = 32 * kWarps;
  /// In the warp arrangement plans print: every warp spans all output channels of the tile.
  static constexpr int WARPS_OC = 1;
  static constexpr int WARPS_OW = kWarps;

  /// One TF32 wgmma: (64 pixels x kMmaN channels) += (64 x 8) * (8 x kMmaN).
  static constexpr int kMmaM = 64;
  static constexpr int kMmaN = BLOCK_OC < 128 ? BLOCK_OC : 128;
  static constexpr int kMmaK = 8;
  static constexpr int WARPGROUP_OW = BLOCK_OW / WARPGROUPS;
  static constexpr int kMmasOw = WARPGROUP_OW / kMmaM; ///< 64-pixel slices per warpgroup
  static constexpr int kMmasOc = BLOCK_OC / kMmaN;
  static constexpr int kMmaStepsR = BLOCK_R / kMmaK;

  /// The filter stage is (BLOCK_OC, BLOCK_R) without padding, 128 bytes per row with the 16-byte chunks of row r
  /// permuted by r % 8 (wgmma's 128-byte swizzle), so it needs no padding to be free of bank conflicts. The
  /// activation stage is padded as in `TilePolicy`: fragment reads hit rows t = 0..3 at columns g = 0..7.
  static constexpr int kFilterPitch = BLOCK_R;
  static constexpr int kActivationPitch = BLOCK_OW + 8;

  static constexpr int kFilterStageFloats = BLOCK_OC * kFilterPitch;
  static constexpr int kActivationStageFloats = BLOCK_R * kActivationPitch;
  /// The swizzle repeats every 8 rows (1024 bytes), from a 1024-byte aligned base; the kernel aligns its dynamic
  /// shared memory, whose start is only 16-byte aligned, by up to 1024 - 16 bytes.
  static constexpr int kSmemAlignment = 1024;
  static constexpr int kSmemBytes =
      STAGES * (kFilterStageFloats + kActivationStageFloats) * int(sizeof(float)) + kSmemAlignment - 16;

  /// Loader work split, as in `TilePolicy`.
  static constexpr int kFilterRowsPerPass = kThreads / BLOCK_R;
  static constexpr int kFilterCopiesPerThread = BLOCK_OC / kFilterRowsPerPass;
  static constexpr int kActivationRowsPerPass = kThreads / BLOCK_OW;
  static constexpr int kActivationCopiesPerThread = BLOCK_R / kActivationRowsPerPass;

  static_assert(BLOCK_OC == 64 || BLOCK_OC % 128 == 0,
                "BLOCK_OC must be 64 or a multiple of 128: the N of one wgmma, 64 or 128 here");
  static_assert(BLOCK_OW % (WARPGROUPS * kMmaM) == 0,
                "BLOCK_OW must be a multiple of 64 * WARPGROUPS: each warpgroup computes 64-pixel slices");
  static_assert(kActivationPitch % 32 == 8 || kActivationPitch % 32 == 24,
                "BLOCK_OW must be a multiple of 16 for the bank-conflict-free padding");
  static_assert(kThreads <= 1024, "at most 8 warpgroups");
  static_assert(kThreads % BLOCK_R == 0 && BLOCK_OC % kFilterRowsPerPass == 0,
                "BLOCK_OC must be a multiple of threads / 32, so that the filter tile splits evenly over the threads");
  static_assert(kThreads % BLOCK_OW == 0 && BLOCK_R % kActivationRowsPerPass == 0,
                "BLOCK_OW must divide the thread count (each thread gathers for one output pixel), "
                "and threads / BLOCK_OW must divide 32");
  static_assert(STAGES >= 2, "STAGES must be at least 2: one tile computed while the next one loads");
};

} // namespace tileconv
