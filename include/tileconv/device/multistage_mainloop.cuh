#pragma once

/// \file multistage_mainloop.cuh
/// The cp.async software pipeline shared by the kernels: STAGES - 1 reduction tiles in flight while one is computed.

#include <tileconv/device/ptx.cuh>

#include <cuda/ptx>

namespace tileconv {
namespace detail {

/// Runs `k_tiles` reduction steps over a ring of `kStages` shared-memory stages.
/// @tparam kAsyncProxyReads whether `compute_stage` reads the stages through the async proxy (wgmma), which sees
///                          the cp.async writes only after a proxy fence by the thread that waited for them
/// @param load_stage(k_tile, stage)           issues this thread's cp.async of reduction tile k_tile (0-based within
///                                            this call) into ring slot `stage`
/// @param compute_stage(stage, issue_copies)  consumes ring slot `stage`, which then holds a complete tile, and calls
///                                            issue_copies() once, where it suits its MMA (which issues the step's
///                                            load_stage into the slot freed last step); the slot is free to
///                                            overwrite when compute_stage returns
template <int kStages, bool kAsyncProxyReads, class LoadStage, class ComputeStage>
__device__ void multistage_mainloop(int k_tiles, LoadStage&& load_stage, ComputeStage&& compute_stage) {
  // Prologue: put kStages - 1 tiles in flight. Every step commits a group, empty or not, so that
  // wait_group<kStages - 2> below always means "the tile about to be computed has landed".
#pragma unroll
  for (int k_tile = 0; k_tile < kStages - 1; ++k_tile) {
    if (k_tile < k_tiles) {
      load_stage(k_tile, k_tile);
    }
    cp_async_commit();
  }
  // ring slots of the tile computed and of the tile loaded this step, advanced without a division
  int compute_slot = 0;
  int load_slot = kStages - 1;
  for (int k_tile = 0; k_tile < k_tiles; ++k_tile) {
    cp_async_wait<kStages - 2>();
    if constexpr (kAsyncProxyReads) {
      // this thread's copies become visible to the async proxy; the barrier below extends that to every thread's
      cuda::ptx::fence_proxy_async(cuda::ptx::space_shared);
    }
    // Makes every thread's copies of this tile visible, and frees the slot computed last step, which this step's
    // copies (issued from compute_stage) overwrite.
    __syncthreads();
    int const next = k_tile + kStages - 1;
    compute_stage(compute_slot, [&] {
      if (next < k_tiles) {
        load_stage(next, load_slot);
      }
      cp_async_commit();
    });
    compute_slot = compute_slot == kStages - 1 ? 0 : compute_slot + 1;
    load_slot = load_slot == kStages - 1 ? 0 : load_slot + 1;
  }
  cp_async_wait<0>();
}

} // namespace detail
} // namespace tileconv
