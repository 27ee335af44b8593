#pragma once

/// \file implicit_gemm_conv2d.cuh
/// The implicit-GEMM conv2d of one block: a multistage cp.async pipeline feeding TF32 mma.sync, then the
/// epilogue. Composed from the policy's tile loaders, warp MMA and epilogue.

#include <tileconv/device/activation_gather.cuh>
#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/filter_tile_loader.cuh>
#include <tileconv/device/multistage_mainloop.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/device/warp_mma.cuh>
#include <tileconv/epilogue/nchw_bias_epilogue.cuh>
#include <tileconv/policy/gather_kind.cuh>

namespace tileconv {
namespace detail {

/// @tparam Policy a `TilePolicy`
/// @tparam kGather kAnalytic or kChannelTiled: the reduction order shared by the two tile loaders
template <class Policy, GatherKind kGather> struct ImplicitGemmConv2d {
  static constexpr int kThreads = Policy::kThreads;

  /// STAGES ring buffers of the two GEMM operands.
  struct SharedStorage {
    float filter[Policy::STAGES][Policy::kFilterStageFloats];
    float activation[Policy::STAGES][Policy::kActivationStageFloats];
  };
  static_assert(sizeof(SharedStorage) == Policy::kSmemBytes, "the policy's shared-memory size must match the storage");

  /// The output tile of block `block` in the grid laid out by the host plan.
  __device__ static TileCoord tile_of(Conv2dParams const& params, dim3 block) {
    TileCoord tile;
    params.groups.divmod(static_cast<int>(block.z), tile.image, tile.group);
    tile.oc0 = static_cast<int>(block.y) * Policy::BLOCK_OC;
    tile.pixel0 = static_cast<int>(block.x) * Policy::BLOCK_OW;
    return tile;
  }

  __device__ void operator()(Conv2dParams const& params, unsigned char* shared_bytes) const {
    SharedStorage& smem = *reinterpret_cast<SharedStorage*>(shared_bytes);
    TileCoord const tile = tile_of(params, blockIdx);
    int const thread = static_cast<int>(threadIdx.x);
    int const warp = thread / 32;
    int const lane = thread % 32;
    int const warp_oc = warp % Policy::WARPS_OC;
    int const warp_ow = warp / Policy::WARPS_OC;

    FilterTileLoader<Policy, kGather> const filter_loader(params, tile, thread);
    ActivationGather<Policy, kGather> const gather(params, tile, thread);
    WarpMma<Policy> const warp_mma(warp_oc, warp_ow, lane);

    typename WarpMma<Policy>::Accumulators acc;
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

    multistage_mainloop<Policy::STAGES>(
        params.k_tiles,
        [&](int k_tile, int stage) {
          filter_loader.load(smem.filter[stage], k_tile);
          gather.load(smem.activation[stage], k_tile);
        },
        [&](int stage) { warp_mma(smem.filter[stage], smem.activation[stage], acc); });

    NchwBiasEpilogue<Policy>{}(params, tile, LinearPixelMap{tile.pixel0, params.gemm_n}, warp_oc, warp_ow, lane, acc);
  }
};

} // namespace detail
} // namespace tileconv
