#pragma once

/// \file implicit_gemm_conv2d.cuh
/// The implicit-GEMM conv2d of one block: a multistage cp.async pipeline feeding TF32 mma.sync (or, for a
/// `WarpgroupTilePolicy`, wgmma), then the output writer. Composed from the policy's tile loaders, MMA and writer.

#include <tileconv/device/activation_gather.cuh>
#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/filter_tile_loader.cuh>
#include <tileconv/device/multistage_mainloop.cuh>
#include <tileconv/device/shared_storage.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/device/warp_mma.cuh>
#include <tileconv/device/warpgroup_mma.cuh>
#include <tileconv/epilogue/output_tile_writer.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/policy/mma_kind.cuh>

#include <cstdint>
#include <type_traits>

namespace tileconv {
namespace detail {

/// @tparam Policy   a `TilePolicy` or a `WarpgroupTilePolicy`
/// @tparam kGather  kAnalytic or kChannelTiled: the reduction order shared by the two tile loaders
/// @tparam Epilogue the functor applied to each conv + bias value before it is stored
template <class Policy, GatherKind kGather, class Epilogue> struct ImplicitGemmConv2d {
  static constexpr int kThreads = Policy::kThreads;
  static constexpr bool kWarpgroupMma = Policy::kMma == MmaKind::kWarpgroup;
  /// Whether the kernel needs an sm_90a target (see `conv2d_kernel`).
  static constexpr bool kNeedsSm90a = kWarpgroupMma;
  static constexpr int kMinBlocksPerSm = Policy::MIN_BLOCKS;
  /// One tile a block: the launcher launches the plan's grid as it is.
  static constexpr bool kPersistent = false;
  using Mma = std::conditional_t<kWarpgroupMma, WarpgroupMma<Policy>, WarpMma<Policy>>;
  using Params = Conv2dKernelParams<Epilogue>;

  /// STAGES ring buffers of the two GEMM operands, the filter first: its stages are whole multiples of 1024 bytes
  /// where the wgmma swizzle needs that alignment.
  struct SharedStorage {
    float filter[Policy::STAGES][Policy::kFilterStageFloats];
    float activation[Policy::STAGES][Policy::kActivationStageFloats];
  };
  static_assert(sizeof(SharedStorage) + Policy::kSmemAlignment - 16 == Policy::kSmemBytes,
                "the policy's shared-memory size must match the storage and its alignment slack");
  static_assert(!kWarpgroupMma || Policy::kFilterStageFloats * sizeof(float) % Policy::kSmemAlignment == 0,
                "every filter stage must start at the swizzle's alignment");

  __device__ void operator()(Params const& params, unsigned char* shared_bytes) const {
    SharedStorage& smem =
        *reinterpret_cast<SharedStorage*>(aligned_shared_storage<Policy::kSmemAlignment>(shared_bytes));
    Conv2dParams const& conv = params.conv;
    TileCoord const tile = tile_of<Policy>(conv, blockIdx);
    int const thread = static_cast<int>(threadIdx.x);

    FilterTileLoader<Policy, kGather> const filter_loader(conv, tile, thread);
    ActivationGather<Policy, kGather> const gather(conv, tile, thread);
    Mma const mma(thread);

    typename Mma::Accumulators acc;
    Mma::clear(acc);
    int const k_tiles = tile.k_tile_end - tile.k_tile_begin;
    auto const load_stage = [&](int k_tile, int stage) {
      filter_loader.load(smem.filter[stage], tile.k_tile_begin + k_tile);
      gather.load(smem.activation[stage], tile.k_tile_begin + k_tile);
    };
    multistage_mainloop<Policy::STAGES, kWarpgroupMma>(k_tiles, load_stage, [&](int stage, auto&& issue_copies) {
      // the launcher's reordered filter is rounded to TF32 already (device/filter_reorder.cuh)
      if (kGather == GatherKind::kChannelTiled && conv.filter_reordered) {
        mma.template accumulate<true>(smem.filter[stage], smem.activation[stage], acc, issue_copies);
      } else {
        mma.template accumulate<false>(smem.filter[stage], smem.activation[stage], acc, issue_copies);
      }
    });

    OutputTileWriter<Epilogue>(conv, params.epilogue, tile)
        .template write<Policy::BLOCK_OC, Policy::BLOCK_OW>([&](auto const& store) { mma.for_each(acc, store); });
  }
};

} // namespace detail
} // namespace tileconv
