#pragma once

/// \file default_policies.cuh
/// The tile policies the default launcher chooses from. All but the Hopper-only ones (the square tile and the wgmma
/// tiles) fit every sm_80+ part, the 4090's 99 KiB of shared memory per block included.

#include <tileconv/policy/tile_policy.cuh>
#include <tileconv/policy/warp_specialized_tile_policy.cuh>
#include <tileconv/policy/warpgroup_tile_policy.cuh>

namespace tileconv {

/// Large problems: 128 x 256 output tile, 8 warps as 2 x 4 (64 x 64 warp tiles), BLOCK_R 16 in 3 stages:
/// 79.5 KiB of shared memory and ~208 registers, so 1 block per SM on both the H100 and a 4090.
/// H100, seed shape, channel-tiled gather (session 1, filter read in place): 6.70-6.84 ms, vs 10.5 ms for
/// 128 x 128 x 16 in 4 stages (2 blocks/SM, whose two filter working sets overflow L1; with the reordered filter of
/// v4 they no longer do, see SquareTilePolicy), 7.95 ms for 4 x 4 warps and 7.39 ms for BLOCK_R 32
/// (docs/perf-notes.md, v1). Not yet measured on a 4090.
using LargeTilePolicy = TilePolicy<128, 256, 16, 2, 4, 3>;

/// At most 64 output channels per group, or too few large tiles to fill the GPU: 64 x 256 tile, 8 warps as 2 x 4
/// (32 x 64 warp tiles), BLOCK_R 16 in 4 stages, 86 KiB: 2 blocks per SM on the H100, 1 on a 4090.
/// H100, channel-tiled: r50_3x3_c64_56 0.135 ms (64 x 64: 0.178, 128 x 256: 0.181), unet_c32_512 0.460 ms
/// (128 x 256: 0.694), r50_3x3_c256_14 0.137 ms (128 x 256: 0.188).
using NarrowTilePolicy = TilePolicy<64, 256, 16, 2, 4, 4>;

/// Small feature maps (at most 64 output pixels per image, e.g. 7 x 7), where a 256-pixel tile would be mostly
/// padding: 64 x 64 tile, 4 warps as 2 x 2 (32 x 32 warp tiles), BLOCK_R 16 in 4 stages, 38 KiB.
using SmallTilePolicy = TilePolicy<64, 64, 16, 2, 2, 4>;

static_assert(LargeTilePolicy::kSmemBytes <= 99 * 1024 && NarrowTilePolicy::kSmemBytes <= 99 * 1024 &&
                  SmallTilePolicy::kSmemBytes <= 99 * 1024,
              "default policies must fit the 99 KiB per block of sm_86/sm_89");

/// Hopper only (a candidate on sm_90 alone): 128 x 128 tile, 4 warps as 2 x 2 (64 x 64 warp tiles), BLOCK_R 32 in
/// 3 stages, 105 KiB of shared memory and 208 registers, so 2 blocks per SM in the H100's 228 KiB (a 4090 cannot
/// hold one). Two independent blocks per SM instead of the large tile's one: while one waits at its barrier or for
/// its copies, the other issues mma. H100, channel-tiled, reordered filter: seed shape 5.36 ms (large tile 6.23,
/// 128 x 128 x 16 in 4 stages 5.66, 128 x 256 x 32 5.56), r50_3x3_c128_28 0.088 ms (large 0.100), r50_3x3_c256_14
/// 0.098 ms unsplit (large split 2: 0.115) (docs/perf-notes.md, v8).
using SquareTilePolicy = TilePolicy<128, 128, 32, 2, 2, 3>;

static_assert(SquareTilePolicy::kSmemBytes <= 113 * 1024,
              "the square tile must fit twice in the 228 KiB of an sm_90 SM, less 1 KiB reserved per block");

/// Hopper wgmma tiles (sm_90a builds on sm_90 devices, see `WarpgroupTilePolicy`), BLOCK_R 32, two blocks per SM, so
/// that one block's wgmma run while the other waits for its own at the end of a stage (a wait that ptxas requires
/// where A comes from registers). H100, channel-tiled gather, reordered filter, 10-run medians of the session 5 sweep
/// (docs/perf-notes.md, v9 and v10); in brackets the mma.sync policy the launcher chose before.
///
/// 128 output channels x 128 pixels, 2 warpgroups, 3 stages, 100 KiB, 124 registers (bounded to 128 for the second
/// block): seed shape 4.06 ms (square tile 5.39; one block per SM with 4 stages 4.79), r50_3x3_c128_28 0.074 ms
/// (0.092), r50_3x3_c256_14 0.084 ms (0.100), stride2_c128_56 0.099 ms (0.113).
using WgmmaSquarePolicy = WarpgroupTilePolicy<128, 128, 2, 3, 2>;

/// 64 output channels x 128 pixels, 2 warpgroups, 4 stages, 100 KiB, 110 registers, the next stage's copies issued
/// while the wgmma run: problems with at most 64 output channels per group, which the square tile would half waste:
/// unet_c32_512 0.375 ms (0.578), dil2_c64_128 0.109 ms (0.155), r50_3x3_c64_56 0.096 ms (0.116), r50_1x1_c256_56
/// 0.064 ms (0.070), r50_conv1_7x7s2 (analytic gather) 0.174 ms (0.252).
using WgmmaNarrowPolicy = WarpgroupTilePolicy<64, 128, 2, 4, 2, true>;

/// 128 output channels x 64 pixels, 1 warpgroup, 4 stages, 100 KiB, copies under the wgmma: small feature maps,
/// where a 128-pixel tile would be mostly padding: r50_3x3_c512_7 0.103 ms unsplit (small tile split 2: 0.170).
using WgmmaSmallPolicy = WarpgroupTilePolicy<128, 64, 1, 4, 0, true>;

/// 128 output channels x 128 pixels, warp-specialized (see `WarpSpecializedTilePolicy`): 2 producer warpgroups gather
/// both operands into K-major stages, 2 consumer warpgroups issue wgmma from shared memory only, 4 stages (129 KiB,
/// one block per SM, 113 registers). Faster than the square tile where its blocks do not fill two per SM, slower on
/// long streams of blocks, where the square tile's second block per SM hides more: r50_3x3_c256_14 0.0675 ms
/// (wgmma-square 0.086), r50_3x3_c128_28 0.0699 (0.0789), stride2_c128_56 0.0828 (0.104); seed shape 4.23 (4.18)
/// (docs/perf-notes.md, v12).
using WgmmaSpecializedPolicy = WarpSpecializedTilePolicy<128, 128, 2, 2, 4, 1>;

/// 128 output channels x 64 pixels, warp-specialized, the channels-last gather alone (`kChannelsLastOnly`): 1 producer
/// and 1 consumer warpgroup, 4 stages (97 KiB, two blocks per SM: 128 registers, the bound since the persistent
/// channels-last kernel, docs/perf-notes.md v26). Small feature maps, where a 128-pixel tile would be mostly padding:
/// H200 sweep, channels-last, r50_3x3_c512_7 0.0664-0.0675 ms against the 128-pixel specialized tile's 0.0831
/// (docs/perf-notes.md, v20).
using WgmmaSpecializedSmallPolicy = WarpSpecializedTilePolicy<128, 64, 1, 1, 4, 2>;

/// 64 output channels x 128 pixels, warp-specialized: 1 producer and 1 consumer warpgroup, 4 stages (97 KiB, two
/// blocks per SM: registers bounded at 128, which the persistent channels-last kernel would exceed by 6, v26), with the
/// channels-last gather, which the launcher gives it. Layers of at most 64 output channels, where a 128-channel tile
/// computes half padding: H200 sweep, channels-last, r50_3x3_c64_56 0.0715 ms, dil2_c64_128 0.0827, unet_c32_512
/// 0.345, against wgmma-narrow's 0.096, 0.106, 0.384 (copy pass included). Its register gather (177 registers then,
/// one block per SM; 44 bytes of spill at the bound) is slower than wgmma-narrow on all three (docs/perf-notes.md,
/// v21).
using WgmmaSpecializedNarrowPolicy = WarpSpecializedTilePolicy<64, 128, 1, 1, 4, 2>;

/// 32 output channels x 128 pixels, warp-specialized (m64n32k8 wgmma): 1 producer and 1 consumer warpgroup, 4 stages
/// (81 KiB, two blocks per SM), 84 registers with the channels-last gather, which the launcher gives it. Layers of at
/// most 32 output channels: H200 sweep, channels-last, unet_c32_512 0.273 ms against the 64-channel tile's 0.346
/// (docs/perf-notes.md, v22).
using WgmmaSpecializedThinPolicy = WarpSpecializedTilePolicy<32, 128, 1, 1, 4>;

/// 64 output channels x 256 pixels, warp-specialized: 1 producer and 2 consumer warpgroups, 4 stages (163 KiB, one
/// block per SM, 160 registers), for the pointwise gather, which the launcher gives it. A k tile's copies read 1 KiB
/// runs of each input channel (8 boxes), twice the 128-pixel tile's, and a block streams its stages as two 128-pixel
/// blocks would: H200 sweep, back-to-back launches, r50_1x1_c256_56 36.5 us against the 64 x 128 pointwise tile's
/// 38.0, and 3-8% faster on every other 1 x 1 layer swept (docs/perf-notes.md, v39).
using WgmmaSpecializedWidePolicy = WarpSpecializedTilePolicy<64, 256, 2, 1, 4, 1>;

/// 128 output channels x 128 pixels, warp-specialized: 1 producer and 1 consumer warpgroup, 4 stages (131 KiB, one
/// block per SM, 254 registers: the consumer's 128 accumulators and its A fragments), for the pointwise gather, which
/// the launcher gives it. 1 x 1 layers of 128 output channels or more, where a 64-channel tile reads the input twice as
/// often: H200 sweep, back-to-back launches, 256 -> 128 at 56 x 56 47.3 us, 64 -> 256 at 56 x 56 46.2, 1024 -> 256 at
/// 14 x 14 28.3, against 67.6, 53.3 and 31.5 for the 64 x 256 tile and 70.4, 62.2 and 39.1 for the default launcher
/// before (docs/perf-notes.md, v39).
using WgmmaSpecializedSoloPolicy = WarpSpecializedTilePolicy<128, 128, 1, 1, 4, 1>;

static_assert(WgmmaSquarePolicy::kSmemBytes <= 113 * 1024 && WgmmaNarrowPolicy::kSmemBytes <= 113 * 1024 &&
                  WgmmaSmallPolicy::kSmemBytes <= 113 * 1024 && WgmmaSpecializedSmallPolicy::kSmemBytes <= 113 * 1024 &&
                  WgmmaSpecializedNarrowPolicy::kSmemBytes <= 113 * 1024 &&
                  WgmmaSpecializedThinPolicy::kSmemBytes <= 113 * 1024,
              "the wgmma tiles must fit twice in the 228 KiB of an sm_90 SM, less 1 KiB reserved per block");
static_assert(WgmmaSpecializedPolicy::kSmemBytes <= 227 * 1024 &&
                  WgmmaSpecializedWidePolicy::kSmemBytes <= 227 * 1024 &&
                  WgmmaSpecializedSoloPolicy::kSmemBytes <= 227 * 1024,
              "the one-block-per-SM specialized tiles must fit an sm_90 block's 227 KiB");

} // namespace tileconv
