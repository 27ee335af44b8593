#pragma once

/// \file mma_kind.cuh
/// Which tensor-core instruction a tile policy's mainloop issues.

namespace tileconv {

/// The tensor-core instruction of a policy, which decides the shared-memory layout of its tiles.
enum class MmaKind {
  /// mma.sync.m16n8k8 per warp (sm_80 and newer): `TilePolicy`.
  kWarp,
  /// wgmma.mma_async.m64nNk8 per warpgroup of 4 warps (sm_90a only): `WarpgroupTilePolicy`.
  kWarpgroup,
};

} // namespace tileconv
