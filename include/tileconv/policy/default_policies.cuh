#pragma once

/// \file default_policies.cuh
/// The tile policies the default launcher chooses from. All fit every sm_80+ part, the 4090's 99 KiB of
/// shared memory per block included.

#include <tileconv/policy/tile_policy.cuh>

namespace tileconv {

/// Large problems: 128 x 256 output tile, 8 warps as 2 x 4 (64 x 64 warp tiles), BLOCK_R 16 in 3 stages:
/// 79.5 KiB of shared memory and ~195 registers, so 1 block per SM on both the H100 and a 4090.
/// H100, seed shape, channel-tiled gather: 6.70-6.84 ms, vs 10.5 ms for 128 x 128 x 16 in 4 stages (2 blocks/SM,
/// whose two filter working sets overflow L1), 7.95 ms for 4 x 4 warps and 7.39 ms for BLOCK_R 32
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

} // namespace tileconv
