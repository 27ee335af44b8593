#pragma once

/// \file warp_specialized_tile_policy.cuh
/// The compile-time shape of a Hopper implicit-GEMM conv kernel split into producer warpgroups, which gather both
/// operands into shared memory, and consumer warpgroups, which only issue wgmma. A policy changes speed, never
/// results.

#include <tileconv/policy/mma_kind.cuh>

namespace tileconv {

/// Tile sizes of the warp-specialized wgmma conv (sm_90a builds on sm_90 devices only; the channel-tiled gathers
/// only, so input channels per group a multiple of 32). The GEMM is `WarpgroupTilePolicy`'s (M = output pixels,
/// N = output channels), but both operands reach wgmma from shared memory, K-major with the 128-byte swizzle: the
/// producer loads the activations into registers, rounds them to TF32 and stores each pixel's 32 reduction values as
/// one 128-byte row (or, with the channels-last gather, copies that row from the launcher's NHWC copy of the input), so
/// the consumers keep a stage's wgmma in flight while they wait for the next stage, and copy nothing themselves. Stages
/// pass between the roles through mbarriers instead of a block barrier.
///
/// @tparam BLOCK_OC_   output channels per block: the N of each wgmma, 32, 64 or 128 (or 256, as two N = 128 halves)
/// @tparam BLOCK_OW_   output pixels per block, flattened over out_h * out_w of one image, a multiple of 64 (of 128
///                     for the channel-tiled gather, see kChannelsLastOnly)
/// @tparam CONSUMERS_  consumer warpgroups; each owns BLOCK_OW / CONSUMERS pixels as 64-pixel wgmma slices
/// @tparam PRODUCERS_  producer warpgroups; each gathers 32 / PRODUCERS of the 32 channels of every pixel
/// @tparam STAGES_     shared-memory stages: the producers fill the STAGES - 2 that the consumers do not hold (one
///                     read by the wgmma in flight, one by the wgmma being issued)
/// @tparam MIN_BLOCKS_ blocks per SM the kernel's registers must allow (`__launch_bounds__`; 0: ptxas's choice)
template <int BLOCK_OC_, int BLOCK_OW_, int CONSUMERS_, int PRODUCERS_, int STAGES_, int MIN_BLOCKS_ = 0>
struct WarpSpecializedTilePolicy {
  static constexpr MmaKind kMma = MmaKind::kWarpgroup;
  static constexpr bool kWarpSpecialized = true;
  static constexpr int MIN_BLOCKS = MIN_BLOCKS_;
  static constexpr int BLOCK_OC = BLOCK_OC_;
  static constexpr int BLOCK_OW = BLOCK_OW_;
  /// One 128-byte row of TF32 per output channel (filter) and per pixel (activations): the 128-byte swizzle's width.
  static constexpr int BLOCK_R = 32;
  static constexpr int CONSUMERS = CONSUMERS_;
  static constexpr int PRODUCERS = PRODUCERS_;
  static constexpr int STAGES = STAGES_;

  static constexpr int kProducerThreads = 128 * PRODUCERS;
  static constexpr int kConsumerWarps = 4 * CONSUMERS;
  static constexpr int kThreads = kProducerThreads + 32 * kConsumerWarps;
  /// In the warp arrangement plans print: the consumer warps, each spanning all output channels of the tile.
  static constexpr int WARPS_OC = 1;
  static constexpr int WARPS_OW = kConsumerWarps;

  /// One TF32 wgmma: (64 pixels x kMmaN channels) += (64 x 8) * (8 x kMmaN).
  static constexpr int kMmaM = 64;
  static constexpr int kMmaN = BLOCK_OC < 128 ? BLOCK_OC : 128;
  static constexpr int kMmaK = 8;
  static constexpr int WARPGROUP_OW = BLOCK_OW / CONSUMERS;
  static constexpr int kMmasOw = WARPGROUP_OW / kMmaM; ///< 64-pixel slices per consumer warpgroup
  static constexpr int kMmasOc = BLOCK_OC / kMmaN;
  static constexpr int kMmaStepsR = BLOCK_R / kMmaK;

  /// Both stages are K-major, 128 bytes per row, unpadded (the swizzle keeps them free of bank conflicts).
  static constexpr int kFilterPitch = BLOCK_R;
  static constexpr int kFilterStageFloats = BLOCK_OC * BLOCK_R;
  static constexpr int kActivationStageFloats = BLOCK_OW * BLOCK_R;
  /// Whether only the channels-last gather can fill this tile: the register gather (the channel-tiled one) gives
  /// each of 128 threads whole pixels, so it needs BLOCK_OW a multiple of 128.
  static constexpr bool kChannelsLastOnly = BLOCK_OW % 128 != 0;
  /// The register gather's activation tile split over the producer threads: whole pixels by 128 threads, channels
  /// by the warpgroups.
  static constexpr int kPixelsPerProducer = BLOCK_OW / 128;
  static constexpr int kChannelsPerProducer = BLOCK_R / PRODUCERS;
  /// The tap-shifted gather's halo of a stage: 4 pixels of each of the k tile's 32 channels next to the tile's boxes
  /// (device/plane_box_gather.cuh).
  static constexpr int kHaloFloats = 4 * BLOCK_R;
  /// The swizzle repeats every 8 rows (1024 bytes), from a 1024-byte aligned base; the kernel aligns its dynamic
  /// shared memory, whose start is only 16-byte aligned, by up to 1024 - 16 bytes. After the stages: a halo per stage,
  /// then a "full" and an "empty" mbarrier per stage, and a "filter landed" one (the pointwise gather's).
  static constexpr int kSmemAlignment = 1024;
  static constexpr int kSmemBytes =
      STAGES * (kFilterStageFloats + kActivationStageFloats + kHaloFloats) * int(sizeof(float)) + STAGES * 3 * 8 +
      kSmemAlignment - 16;

  /// The producer warpgroup's view of the filter tile, in the members `FilterTileLoader` reads.
  struct Producer {
    static constexpr MmaKind kMma = MmaKind::kWarpgroup;
    static constexpr int kThreads = 128 * PRODUCERS_;
    static constexpr int BLOCK_OC = BLOCK_OC_;
    static constexpr int BLOCK_R = 32;
    static constexpr int kFilterPitch = BLOCK_R;
    static constexpr int kFilterRowsPerPass = kThreads / BLOCK_R;
    static constexpr int kFilterCopiesPerThread = BLOCK_OC / kFilterRowsPerPass;
  };

  static_assert(BLOCK_OC == 32 || BLOCK_OC == 64 || BLOCK_OC % 128 == 0,
                "BLOCK_OC must be 32, 64 or a multiple of 128: the N of one wgmma, 32, 64 or 128 here");
  static_assert(BLOCK_OW % (CONSUMERS * kMmaM) == 0,
                "BLOCK_OW must be a multiple of 64 * CONSUMERS: each consumer warpgroup computes 64-pixel slices");

  static_assert(PRODUCERS == 1 || PRODUCERS == 2 || PRODUCERS == 4 || PRODUCERS == 8,
                "PRODUCERS must split the 32 channels of a k tile into whole 16-byte chunks");
  static_assert(kThreads <= 1024, "at most 8 warpgroups");
  static_assert(STAGES >= 3, "STAGES must be at least 3: two held by the consumers, one being filled");
};

} // namespace tileconv
