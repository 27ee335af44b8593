#pragma once

/// \file implicit_gemm_conv2d.cuh
/// The implicit-GEMM conv2d of one block: a multistage cp.async pipeline feeding TF32 mma.sync (or, for a
/// `WarpgroupTilePolicy`, wgmma), then the output writer. Composed from the policy's tile loaders, MMA and writer.

#include <tileconv/device/activation_gather.cuh>
#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/filter_tile_loader.cuh>
#include <tileconv/device/multistage_mainloop.cuh>
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

/// What a conv2d kernel receives: the problem's precomputed parameters and the epilogue functor, by value.
template <class Epilogue> struct Conv2dKernelParams {
  Conv2dParams conv;
  Epilogue epilogue;
};

/// @tparam Policy   a `TilePolicy` or a `WarpgroupTilePolicy`
/// @tparam kGather  kAnalytic or kChannelTiled: the reduction order shared by the two tile loaders
/// @tparam Epilogue the functor applied to each conv + bias value before it is stored
template <class Policy, GatherKind kGather, class Epilogue> struct ImplicitGemmConv2d {
  static constexpr int kThreads = Policy::kThreads;
  static constexpr bool kWarpgroupMma = Policy::kMma == MmaKind::kWarpgroup;
  /// Whether the kernel needs an sm_90a target (see `conv2d_kernel`).
  static constexpr bool kNeedsSm90a = kWarpgroupMma;
  static constexpr int kMinBlocksPerSm = Policy::MIN_BLOCKS;
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

  /// Where SharedStorage starts: the dynamic shared memory itself, which is 16-byte aligned, or the next
  /// kSmemAlignment boundary in the slack kSmemBytes leaves for it. An offset from shared_bytes, not a pointer
  /// rebuilt from an integer, so that the compiler still knows it is shared memory (fragment reads stay LDS).
  __device__ static unsigned char* aligned_shared_storage(unsigned char* shared_bytes) {
    if constexpr (Policy::kSmemAlignment == 16) {
      return shared_bytes; // offsets from the kernel's own symbol fold into the instructions
    } else {
      int const misalignment = static_cast<int>(__cvta_generic_to_shared(shared_bytes) % Policy::kSmemAlignment);
      return shared_bytes + (misalignment == 0 ? 0 : Policy::kSmemAlignment - misalignment);
    }
  }

  /// The output tile and reduction range of block `block` in the grid laid out by the host plan.
  __device__ static TileCoord tile_of(Conv2dParams const& params, dim3 block) {
    TileCoord tile;
    int image_group = 0;
    params.split_k.divmod(static_cast<int>(block.z), image_group, tile.split);
    params.groups.divmod(image_group, tile.image, tile.group);
    tile.oc0 = static_cast<int>(block.y) * Policy::BLOCK_OC;
    tile.pixel0 = static_cast<int>(block.x) * Policy::BLOCK_OW;
    tile.k_tile_begin = tile.split * params.k_tiles_per_split;
    tile.k_tile_end = min(tile.k_tile_begin + params.k_tiles_per_split, params.k_tiles);
    return tile;
  }

  __device__ void operator()(Params const& params, unsigned char* shared_bytes) const {
    SharedStorage& smem = *reinterpret_cast<SharedStorage*>(aligned_shared_storage(shared_bytes));
    Conv2dParams const& conv = params.conv;
    TileCoord const tile = tile_of(conv, blockIdx);
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

    mma.for_each(acc, OutputTileWriter<Epilogue>(conv, params.epilogue, tile));
  }
};

} // namespace detail
} // namespace tileconv
