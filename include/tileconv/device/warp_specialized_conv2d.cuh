#pragma once

/// \file warp_specialized_conv2d.cuh
/// The implicit-GEMM conv2d of one block on Hopper with warp-specialized roles: producer warpgroups fill
/// shared-memory stages, consumer warpgroups issue wgmma on them, and per-stage mbarriers hand each stage over.

#include <tileconv/device/channels_last_gather.cuh>
#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/filter_tile_loader.cuh>
#include <tileconv/device/k_major_activation_gather.cuh>
#include <tileconv/device/mbarrier.cuh>
#include <tileconv/device/plane_box_gather.cuh>
#include <tileconv/device/plane_box_warpgroup_mma.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/shared_storage.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/device/warpgroup_mma.cuh>
#include <tileconv/device/wgmma.cuh>
#include <tileconv/epilogue/output_tile_writer.cuh>
#include <tileconv/policy/gather_kind.cuh>

#include <cuda/ptx>

#include <cstdint>
#include <type_traits>

namespace tileconv {
namespace detail {

/// @tparam Policy   a `WarpSpecializedTilePolicy`
/// @tparam kGather  the producers' gather of 32 channels (of one tap): kChannelTiled from the NCHW input through
///                  registers into K-major stages; kChannelsLast by TMA im2col copies from the launcher's NHWC copy of
///                  the input into K-major stages; kPointwise (1 x 1 filters) and kTapShifted (stride 1, output rows
///                  as wide as the input's) by TMA tiled copies of the NCHW input itself into pixel-major stages, from
///                  which the consumers load A into registers
/// @tparam Epilogue the functor applied to each conv + bias value before it is stored
template <class Policy, GatherKind kGather, class Epilogue> struct WarpSpecializedConv2d {
  static_assert(kGather == GatherKind::kChannelTiled || kGather == GatherKind::kChannelsLast ||
                    copies_plane_boxes(kGather),
                "the warp-specialized kernel has the channel-tiled, channels-last, pointwise and tap-shifted gathers "
                "only (input channels per group a multiple of 32)");
  static constexpr int kThreads = Policy::kThreads;
  static constexpr bool kNeedsSm90a = true;
  static constexpr int kMinBlocksPerSm = Policy::MIN_BLOCKS;
  static constexpr bool kPointwise = kGather == GatherKind::kPointwise;
  /// Whether the stages are plane boxes of the NCHW input (the pointwise and tap-shifted gathers), whose consumers load
  /// A into registers.
  static constexpr bool kPlaneBoxes = copies_plane_boxes(kGather);
  /// Whether one producer thread fills the stages by TMA copies alone (the channels-last gather and those of plane
  /// boxes), instead of every producer thread storing the activations it loaded.
  static constexpr bool kCopiedActivations = copies_by_tma(kGather);
  using Mma = std::conditional_t<
      kPointwise, PlaneBoxWarpgroupMma<Policy>,
      std::conditional_t<kGather == GatherKind::kTapShifted, TapShiftedWarpgroupMma<Policy>, WarpgroupMma<Policy>>>;
  using Gather = KMajorActivationGather<Policy>;
  using CopiedGather = std::conditional_t<kPlaneBoxes, PlaneBoxGather<Policy, kGather>, ChannelsLastGather<Policy>>;
  using Params = Conv2dKernelParams<Epilogue>;
  static constexpr int kStages = Policy::STAGES;
  static constexpr std::uint32_t kFilterStageBytes = Policy::kFilterStageFloats * sizeof(float);
  static constexpr std::uint32_t kActivationStageBytes = Policy::kActivationStageFloats * sizeof(float);
  /// Arrivals that fill a stage besides its copies' bytes: every producer thread's with the register gather, which
  /// stores the activations itself; otherwise the one producer thread's that issues all the copies, and with the
  /// pointwise gather the filter-rounding warp's (`round_filters`).
  static constexpr int kFullArrivals = kCopiedActivations ? (kPointwise ? 2 : 1) : Policy::kProducerThreads;
  static_assert(!kPointwise || Policy::kProducerThreads >= 64, "the pointwise gather's second producer warp rounds");
  /// Whether the blocks walk several tiles (`for_each_tile`): the kernels filled by copies, whose one producer thread
  /// fills the next tile's stages while the consumers write the last one. The register gather keeps a tile per
  /// block: walking tiles, the 128-channel tile's register-gather kernel spilled 432 bytes.
  static constexpr bool kPersistent = kCopiedActivations;

  /// STAGES ring buffers of the two operands (each stage a multiple of 1024 bytes, the swizzle's alignment), then
  /// the mbarriers that pass each stage between the roles.
  struct SharedStorage {
    float filter[kStages][Policy::kFilterStageFloats];
    float activation[kStages][Policy::kActivationStageFloats];
    float halo[kStages][Policy::kHaloFloats]; ///< the tap-shifted gather's: the pixels next to the tile's boxes
    std::uint64_t full[kStages];  ///< completes when the stage's copies have landed and its producers arrived
    std::uint64_t empty[kStages]; ///< completes when every consumer warp's wgmma have finished reading the stage
    std::uint64_t filter_landed[kStages]; ///< the pointwise gather's: completes when the stage's filter copy has
                                          ///< landed, for the warp that rounds it
  };
  static_assert(sizeof(SharedStorage) + Policy::kSmemAlignment - 16 == Policy::kSmemBytes,
                "the policy's shared-memory size must match the storage and its alignment slack");
  static_assert(kFilterStageBytes % Policy::kSmemAlignment == 0 && kActivationStageBytes % Policy::kSmemAlignment == 0,
                "every stage must start at the swizzle's alignment");

  __device__ void operator()(Params const& params, unsigned char* shared_bytes) const {
    SharedStorage& smem =
        *reinterpret_cast<SharedStorage*>(aligned_shared_storage<Policy::kSmemAlignment>(shared_bytes));
    Conv2dParams const& conv = params.conv;
    int const thread = static_cast<int>(threadIdx.x);
    if (thread == 0) {
#pragma unroll
      for (int stage = 0; stage < kStages; ++stage) {
        cuda::ptx::mbarrier_init(&smem.full[stage], kFullArrivals);
        cuda::ptx::mbarrier_init(&smem.empty[stage], Policy::kConsumerWarps);
        cuda::ptx::mbarrier_init(&smem.filter_landed[stage], 1);
      }
    }
    __syncthreads(); // the barriers' initialization, visible to the block; the last block-wide barrier
    if (thread < Policy::kProducerThreads) {
      if constexpr (kCopiedActivations) {
        if (thread == 0) {
          produce_by_copies(conv, smem);
        }
        if constexpr (kPointwise) {
          if (thread / 32 == 1) {
            round_filters(conv, thread % 32, smem);
          }
        }
      } else {
        static_assert(!kPersistent, "the register gather's producers fill one tile's stages");
        produce(conv, tile_of<Policy>(conv, blockIdx), thread, smem);
      }
    } else {
      consume(params, thread - Policy::kProducerThreads, smem);
    }
  }

private:
  /// Calls `body(tile)` for each tile of this block in turn; every role walks the same tiles. Persistent kernels
  /// (`LaunchPlan::persistent_grid`): block b computes tiles b, b + gridDim.x, ... of the plan's grid, so that its
  /// producers fill the stages with the next tile's operands while its consumers finish and write the last one.
  /// Otherwise the block's own tile of the plan's grid.
  template <class Body> __device__ static void for_each_tile(Conv2dParams const& conv, Body&& body) {
    if constexpr (kPersistent) {
      for (int tile = static_cast<int>(blockIdx.x); tile < conv.tiles; tile += static_cast<int>(gridDim.x)) {
        body(tile_of<Policy>(conv, tile));
      }
    } else {
      body(tile_of<Policy>(conv, blockIdx));
    }
  }

  /// The shared-space addresses of the stages and barriers, computed once for the k-tile loops (see
  /// device/mbarrier.cuh).
  class StageAddresses {
  public:
    __device__ explicit StageAddresses(SharedStorage& smem)
        : full_(shared_address(smem.full)), empty_(shared_address(smem.empty)),
          activation_(shared_address(smem.activation)) {}

    __device__ std::uint32_t full(int stage) const { return full_ + stage * sizeof(std::uint64_t); }
    __device__ std::uint32_t empty(int stage) const { return empty_ + stage * sizeof(std::uint64_t); }
    __device__ std::uint32_t activation(int stage) const { return activation_ + stage * kActivationStageBytes; }

  private:
    std::uint32_t full_;
    std::uint32_t empty_;
    std::uint32_t activation_;
  };

  /// Thread 0's copies of this block's filter tiles from the launcher's tile image (the channels-last and tap-shifted
  /// gathers, and the register gather's given the image): rows oc0.. of the group, tile_rows
  /// (the last channel tile may hold fewer than BLOCK_OC; wgmma reads stale rows past them into accumulators the
  /// writer skips) of 128 bytes per k tile.
  class FilterImageCopy {
  public:
    __device__ FilterImageCopy(Conv2dParams const& conv, TileCoord const& tile)
        : tile_rows_(min(Policy::BLOCK_OC, conv.gemm_m - tile.oc0)),
          bytes_(static_cast<std::uint32_t>(tile_rows_) * Policy::BLOCK_R * sizeof(float)),
          tiles_(conv.filter + (std::int64_t{tile.group} * conv.gemm_m + tile.oc0) * conv.gemm_k +
                 std::int64_t{tile.k_tile_begin} * tile_rows_ * Policy::BLOCK_R) {}

    /// Bytes of one k tile's copy, which land on the stage's "full" barrier.
    __device__ std::uint32_t full_bytes() const { return bytes_; }

    /// Starts the copy of the block's k tile `k_tile` into `stage` as one bulk copy, which completes on the stage's
    /// "full" barrier by itself with `full_bytes()` transaction bytes, announced there before the phase can complete.
    __device__ void copy(SharedStorage& smem, int stage, int k_tile) const {
      cuda::ptx::cp_async_bulk(cuda::ptx::space_cluster, cuda::ptx::space_global, smem.filter[stage],
                               tiles_ + std::int64_t{k_tile} * tile_rows_ * Policy::BLOCK_R, bytes_, &smem.full[stage]);
    }

  private:
    int tile_rows_;
    std::uint32_t bytes_;
    float const* tiles_; ///< the block's first k tile
  };

  /// Thread 0's copies of this block's filter tiles for the pointwise gather, by TMA from the filter as given
  /// (`Conv2dParams::filter_map`): (BLOCK_OC, 32) boxes under the 128-byte swizzle of rows group * gemm_m + oc0.. of
  /// the (out_channels, gemm_k) filter. Rows past the group's channels come from the next group's (past the filter's
  /// last, zeros) into accumulators the writer skips. The copy completes on the stage's "filter landed" barrier, and
  /// the second producer warp rounds it to TF32 before the stage is full (`round_filters`). The same interface as
  /// `FilterImageCopy`.
  class FilterTensorCopy {
  public:
    __device__ FilterTensorCopy(Conv2dParams const& conv, TileCoord const& tile)
        : conv_(conv), row0_(tile.group * conv.gemm_m + tile.oc0), k_tile_begin_(tile.k_tile_begin) {}

    /// None of its bytes land on the stage's "full" barrier: the rounding warp's arrival there follows them.
    __device__ static constexpr std::uint32_t full_bytes() { return 0; }

    /// Announces the stage's bytes (zero-filled rows included) on its "filter landed" barrier with the one arrival
    /// it waits for, then starts the copy of the block's k tile `k_tile` into `stage`, which completes there by itself.
    __device__ void copy(SharedStorage& smem, int stage, int k_tile) const {
      cuda::ptx::mbarrier_arrive_expect_tx(cuda::ptx::sem_release, cuda::ptx::scope_cta, cuda::ptx::space_shared,
                                           &smem.filter_landed[stage], std::uint32_t{kFilterStageBytes});
      std::int32_t const coords[2] = {(k_tile_begin_ + k_tile) * Policy::BLOCK_R, row0_};
      cuda::ptx::cp_async_bulk_tensor(cuda::ptx::space_cluster, cuda::ptx::space_global, smem.filter[stage],
                                      &conv_.filter_map, coords, &smem.filter_landed[stage]);
    }

  private:
    Conv2dParams const& conv_; ///< the kernel's __grid_constant__ parameters, where the tensor map must lie
    int row0_;
    int k_tile_begin_;
  };

  /// A producer thread: for each k tile, waits until the consumers have freed its stage, starts the filter tile's
  /// copy, loads its share of the next tile's activations into registers, stores this tile's (loaded one step
  /// earlier, so that one tile's loads are in flight while the previous one is stored), and marks the stage full.
  /// The filter tile comes from the launcher's tile image as one bulk copy by thread 0, which completes on the
  /// stage's "full" barrier by itself; without the image (no or a misaligned workspace), every producer thread
  /// copies its share of the filter, in place or reordered, and waits for it before it arrives.
  __device__ static void produce(Conv2dParams const& conv, TileCoord const& tile, int thread, SharedStorage& smem) {
    FilterTileLoader<typename Policy::Producer, kGather> const filter_loader(conv, tile, thread);
    Gather const gather(conv, tile, thread);
    int const k_tiles = tile.k_tile_end - tile.k_tile_begin;
    FilterImageCopy const filter_image(conv, tile);
    StageAddresses const stages(smem);
    typename Gather::Cursor next_load = gather.cursor(tile.k_tile_begin);
    StageRing<kStages> ring;
    // Fills the ring's stage with k tile `k_tile` (in `current`) and loads the next one into `next`.
    auto const fill = [&](int k_tile, typename Gather::Values const& current, typename Gather::Values& next) {
      int const stage = ring.stage;
      if (k_tile >= kStages) {
        // the consumers' release of the k tile kStages back: the phase before this lap's
        mbarrier_wait_parity(stages.empty(stage), ring.phase ^ 1);
      }
      if (!conv.filter_tile_image) {
        filter_loader.load(smem.filter[stage], tile.k_tile_begin + k_tile);
        cp_async_commit();
      } else if (thread == 0) {
        // announced before this thread's arrival, so that the phase cannot complete without the copy
        cuda::ptx::mbarrier_expect_tx(cuda::ptx::sem_relaxed, cuda::ptx::scope_cta, cuda::ptx::space_shared,
                                      &smem.full[stage], filter_image.full_bytes());
        filter_image.copy(smem, stage, k_tile);
      }
      if (k_tile + 1 < k_tiles) {
        gather.load(next, next_load);
        gather.advance(next_load);
      }
      gather.store(stages.activation(stage), current);
      if (!conv.filter_tile_image) {
        cp_async_wait<0>();
      }
      // this thread's writes to the stage, copies and stores, become visible to wgmma's async-proxy reads; the
      // mbarrier's release and the consumers' acquire extend that to them
      cuda::ptx::fence_proxy_async(cuda::ptx::space_shared);
      mbarrier_arrive(stages.full(stage));
      ring.advance();
    };
    // two register buffers, swapped by unrolling: an array indexed by k_tile % 2 would live in local memory
    typename Gather::Values even;
    typename Gather::Values odd;
    if (k_tiles > 0) {
      gather.load(even, next_load);
      gather.advance(next_load);
    }
    for (int k_tile = 0; k_tile < k_tiles; k_tile += 2) {
      fill(k_tile, even, odd);
      if (k_tile + 1 < k_tiles) {
        fill(k_tile + 1, odd, even);
      }
    }
  }

  /// The producer thread of the gathers by copies: for each k tile of each of the block's tiles, in one ring of
  /// stages, waits until the consumers have freed its stage, announces the copies' bytes on the stage's "full"
  /// barrier with its arrival, then starts the filter tile's copy (a bulk copy from the tile image with the
  /// channels-last and tap-shifted gathers, a TMA copy from the filter itself with the pointwise one) and the
  /// activations' TMA copies.
  /// All complete on the barrier by themselves, so up to all the stages the consumers do not hold are in flight at
  /// once, across the end of a tile too.
  __device__ static void produce_by_copies(Conv2dParams const& conv, SharedStorage& smem) {
    using FilterCopy = std::conditional_t<kPointwise, FilterTensorCopy, FilterImageCopy>;
    StageAddresses const stages(smem);
    StageRing<kStages> ring;
    int filled = 0; // k tiles this block has filled, over all its tiles
    for_each_tile(conv, [&](TileCoord const& tile) {
      CopiedGather const gather(conv, tile);
      FilterCopy const filter(conv, tile);
      typename CopiedGather::Cursor cursor = gather.cursor(tile.k_tile_begin);
      for (int k_tile = tile.k_tile_begin; k_tile < tile.k_tile_end; ++k_tile, ++filled) {
        int const stage = ring.stage;
        if (filled >= kStages) {
          mbarrier_wait_parity(stages.empty(stage), ring.phase ^ 1);
        }
        // the arrival comes first: the phase cannot complete before the announced bytes have landed (the pointwise
        // gather's filter bytes land on their own barrier, and the stage is full once they are rounded)
        cuda::ptx::mbarrier_arrive_expect_tx(cuda::ptx::sem_release, cuda::ptx::scope_cta, cuda::ptx::space_shared,
                                             &smem.full[stage], filter.full_bytes() + CopiedGather::kTileBytes);
        filter.copy(smem, stage, k_tile - tile.k_tile_begin);
        if constexpr (kPlaneBoxes) {
          gather.copy(smem.activation[stage], smem.halo[stage], &smem.full[stage], cursor);
        } else {
          gather.copy(smem.activation[stage], &smem.full[stage], cursor);
        }
        gather.advance(cursor);
        ring.advance();
      }
    });
  }

  /// The second producer warp of the pointwise gather, which copies the filter as given: for each k tile of each of the
  /// block's tiles, in the producer thread's ring of stages, waits until the stage's filter tile has landed, rounds it
  /// to TF32 in place (the layout does not matter), and arrives on the stage's "full" barrier. Off the consumers' path:
  /// rounding there, before their wgmma, made r50_1x1_c256_56 3% slower (docs/perf-notes.md, v27).
  __device__ static void round_filters(Conv2dParams const& conv, int lane, SharedStorage& smem) {
    constexpr int kVectors = Policy::kFilterStageFloats / 4;
    static_assert(kVectors % 32 == 0, "every lane rounds as many values");
    StageAddresses const stages(smem);
    StageRing<kStages> ring;
    for_each_tile(conv, [&](TileCoord const& tile) {
      for (int k_tile = tile.k_tile_begin; k_tile < tile.k_tile_end; ++k_tile) {
        mbarrier_wait_parity(shared_address(&smem.filter_landed[ring.stage]), ring.phase);
        float4* const values = reinterpret_cast<float4*>(smem.filter[ring.stage]);
#pragma unroll
        for (int pass = 0; pass < kVectors / 32; ++pass) {
          float4 const value = values[lane + 32 * pass];
          values[lane + 32 * pass] = make_float4(round_to_tf32(value.x), round_to_tf32(value.y), round_to_tf32(value.z),
                                                 round_to_tf32(value.w));
        }
        // the warp's writes, visible to wgmma's async-proxy reads through the barrier's release and the consumers'
        // acquire
        cuda::ptx::fence_proxy_async(cuda::ptx::space_shared);
        __syncwarp();
        if (lane == 0) {
          mbarrier_arrive(stages.full(ring.stage));
        }
        ring.advance();
      }
    });
  }

  /// A consumer warpgroup: for each of the block's tiles, for each k tile, waits until its stage is full, issues its
  /// wgmma, then waits for the previous tile's wgmma (one group stays in flight) and frees that tile's stage; the
  /// last stage is freed once its wgmma are done, before the output writer, so that the producers can fill it with
  /// the next tile's operands meanwhile. With the gathers of plane boxes, whose A operand goes through registers, each
  /// stage's wgmma are waited for at once and the stage freed then (see `PlaneBoxWarpgroupMma::accumulate`).
  __device__ static void consume(Params const& params, int thread, SharedStorage& smem) {
    Mma const mma(thread);
    bool const releases = thread % 32 == 0; // one arrival per consumer warp
    StageAddresses const stages(smem);
    // stage s's descriptors are s stages further on (16-byte units)
    std::uint64_t const filter = swizzled_k_major_descriptor(shared_address(smem.filter));
    StageRing<kStages> ring;
    for_each_tile(params.conv, [&](TileCoord const& tile) {
      typename Mma::Accumulators acc;
      Mma::clear(acc);
      if constexpr (kPlaneBoxes) {
        typename Mma::Walk walk = mma.walk(params.conv, tile);
        for (int k_tile = tile.k_tile_begin; k_tile < tile.k_tile_end; ++k_tile) {
          int const stage = ring.stage;
          mbarrier_wait_parity(stages.full(stage), ring.phase);
          mma.accumulate(filter + stage * (kFilterStageBytes / 16), smem.activation[stage], smem.halo[stage], walk,
                         acc);
          if (releases) {
            mbarrier_arrive(stages.empty(stage));
          }
          walk.advance();
          ring.advance();
        }
      } else {
        std::uint64_t const activation = mma.activation_descriptor(stages.activation(0));
        int previous_stage = 0;
        for (int k_tile = tile.k_tile_begin; k_tile < tile.k_tile_end; ++k_tile) {
          int const stage = ring.stage;
          mbarrier_wait_parity(stages.full(stage), ring.phase);
          Mma::issue_from_shared(filter + stage * (kFilterStageBytes / 16),
                                 activation + stage * (kActivationStageBytes / 16), acc);
          wgmma_wait<1>();
          if (k_tile > tile.k_tile_begin && releases) {
            mbarrier_arrive(stages.empty(previous_stage));
          }
          previous_stage = stage;
          ring.advance();
        }
        wgmma_wait<0>();
        if (releases) {
          mbarrier_arrive(stages.empty(previous_stage));
        }
      }
      if constexpr (kPlaneBoxes) {
        write_boxes(params, tile, mma, acc);
      } else {
        OutputTileWriter<Epilogue>(params.conv, params.epilogue, tile)
            .template write<Policy::BLOCK_OC, Policy::BLOCK_OW>([&](auto const& store) { mma.for_each(acc, store); });
      }
    });
  }

  /// The output of the consumers of plane boxes: a tile's boxes may lie in different images (`plane_box`), so each box
  /// of this thread's pixels is written as a tile of its own, and boxes past the batch's not at all.
  __device__ static void write_boxes(Params const& params, TileCoord const& tile, Mma const& mma,
                                     typename Mma::Accumulators const& acc) {
#pragma unroll
    for (int pair = 0; pair < Mma::kPairs; ++pair) {
      PlaneBox const box = plane_box(params.conv, tile.pixel0 / kPlaneBoxPixels + mma.box(pair));
      if (box.image < params.conv.batch) {
        TileCoord box_tile = tile;
        box_tile.image = box.image;
        box_tile.pixel0 = box.pixel0;
        OutputTileWriter<Epilogue>(params.conv, params.epilogue, box_tile)
            .template write<Policy::BLOCK_OC, kPlaneBoxPixels>(
                [&](auto const& store) { mma.for_each(acc, pair, store); });
      }
    }
  }
};

} // namespace detail
} // namespace tileconv
