#pragma once

/// \file mbarrier.cuh
/// The shared-memory mbarrier operations of the warp-specialized mainloop's k-tile loops, on 32-bit shared-space
/// addresses that the loops compute once (CCCL's `cuda::ptx` wrappers take generic pointers, which the loops would
/// convert back to shared addresses every k tile), and the position of a loop in its ring of stages. sm_90 only.

#include <cstdint>

namespace tileconv {
namespace detail {

/// Waits until the phase of parity `parity` of the mbarrier at shared address `barrier` has completed. The retry
/// loop is inside the asm block: a C++ loop around `mbarrier.try_wait` measured 2-5% slower in the specialized
/// kernel, and made ptxas serialize the wgmma of a microbenchmark's consumer loop (warning C7514). The suspend-time
/// hint lets the warp sleep until the phase completes instead of spinning on issue slots (a spin measured slower).
__device__ inline void mbarrier_wait_parity(std::uint32_t barrier, std::uint32_t parity) {
  constexpr std::uint32_t kSuspendHintNs = 1000000;
  asm volatile("{\n"
               "  .reg .pred complete;\n"
               "WAIT_FOR_PHASE:\n"
               "  mbarrier.try_wait.parity.shared::cta.b64 complete, [%0], %1, %2;\n"
               "  @!complete bra WAIT_FOR_PHASE;\n"
               "}\n" ::"r"(barrier),
               "r"(parity), "r"(kSuspendHintNs)
               : "memory");
}

/// Arrives once on the mbarrier at shared address `barrier`, releasing this thread's earlier writes to the threads
/// that wait for the phase (CTA scope).
__device__ inline void mbarrier_arrive(std::uint32_t barrier) {
  asm volatile("{\n"
               "  .reg .b64 state;\n"
               "  mbarrier.arrive.shared::cta.b64 state, [%0];\n"
               "}\n" ::"r"(barrier)
               : "memory");
}

/// Where a k-tile loop is in a ring of kStages shared-memory stages: the stage of the current k tile, and the parity
/// of that stage's phase (flipped each time the loop wraps around the ring).
template <int kStages> struct StageRing {
  int stage = 0;
  std::uint32_t phase = 0;

  __device__ void advance() {
    if (++stage == kStages) {
      stage = 0;
      phase ^= 1;
    }
  }
};

} // namespace detail
} // namespace tileconv
