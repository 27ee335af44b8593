#pragma once

/// \file warpgroup_mma.cuh
/// One warpgroup's share of a block tile on Hopper: loads TF32 A fragments of the im2col tile from a shared-memory
/// stage into registers and issues wgmma against the swizzled filter stage.

#include <tileconv/device/ptx.cuh>
#include <tileconv/device/wgmma.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Accumulates a (WARPGROUP_OW pixels, BLOCK_OC channels) tile of the output in registers, as kMmasOw x kMmasOc
/// wgmma tiles of 64 x kMmaN. The same interface as `WarpMma`, so that `ImplicitGemmConv2d` composes either.
template <class Policy> class WarpgroupMma {
public:
  /// acc[i][j] is the m64 x kMmaN accumulator fragment of pixels 64 i.. and channels kMmaN j.. of the warpgroup tile.
  using Accumulators = float[Policy::kMmasOw][Policy::kMmasOc][Policy::kMmaN / 2];

  /// Warp w of the block is warp w % 4 of warpgroup w / 4, which owns pixels WARPGROUP_OW (w / 4)...
  __device__ explicit WarpgroupMma(int thread)
      : warpgroup_pixel0_(thread / 128 * Policy::WARPGROUP_OW),
        pixel0_(warpgroup_pixel0_ + thread / 32 % 4 * 16 + thread % 32 / 4), k_(thread % 4),
        channel0_(2 * (thread % 4)) {}

  __device__ static void clear(Accumulators& acc) {
#pragma unroll
    for (int i = 0; i < Policy::kMmasOw; ++i) {
#pragma unroll
      for (int j = 0; j < Policy::kMmasOc; ++j) {
#pragma unroll
        for (int e = 0; e < Policy::kMmaN / 2; ++e) {
          acc[i][j][e] = 0.0f;
        }
      }
    }
  }

  /// acc += (filter_stage * activation_stage)^T over the BLOCK_R reduction of one stage, complete on return.
  /// `issue_copies()`, the mainloop's copies of a later stage, is called once: while the wgmma run with
  /// COPIES_UNDER_MMA, else before anything else.
  /// filter_stage: (BLOCK_OC, BLOCK_R) with the 128-byte swizzle, 1024-byte aligned; activation_stage: (BLOCK_R,
  /// kActivationPitch), row = reduction index. The filter goes to the tensor cores as stored, which drops the low
  /// 13 bits of values not rounded to TF32 already: the launcher's copy in the workspace is rounded (whatever
  /// kFilterRounded, which only the mma.sync interface needs); a filter read in place, without workspace, is
  /// truncated instead, at most 2^-10 relative per value instead of 2^-11.
  template <bool kFilterRounded, class IssueCopies>
  __device__ void accumulate(float const* filter_stage, float const* activation_stage, Accumulators& acc,
                             IssueCopies&& issue_copies) const {
    if constexpr (!Policy::COPIES_UNDER_MMA) {
      issue_copies();
    }
    std::uint32_t a[Policy::kMmaStepsR][Policy::kMmasOw][4];
#pragma unroll
    for (int step = 0; step < Policy::kMmaStepsR; ++step) {
#pragma unroll
      for (int i = 0; i < Policy::kMmasOw; ++i) {
        // rows t and t + 4 of the k step, pixels g and g + 8 of the warp's 16
        float const* fragment =
            activation_stage + (step * Policy::kMmaK + k_) * Policy::kActivationPitch + pixel0_ + i * Policy::kMmaM;
        a[step][i][0] = __float_as_uint(to_tf32_operand(fragment[0]));
        a[step][i][1] = __float_as_uint(to_tf32_operand(fragment[8]));
        a[step][i][2] = __float_as_uint(to_tf32_operand(fragment[4 * Policy::kActivationPitch]));
        a[step][i][3] = __float_as_uint(to_tf32_operand(fragment[4 * Policy::kActivationPitch + 8]));
      }
    }
    issue_stage(
        swizzled_k_major_descriptor(shared_address(filter_stage)),
        [&](int step, int i) -> std::uint32_t const(&)[4] { return a[step][i]; }, acc);
    if constexpr (Policy::COPIES_UNDER_MMA) {
      issue_copies();
    }
    // A wait for this stage's wgmma before the next stage's fragments are written: ptxas serializes every wgmma of
    // a loop that writes a wgmma's input registers while any wgmma is in flight (measured: seed shape 5.35 ms with
    // a one-stage lag, 4.32 ms without). Two blocks per SM keep the tensor cores busy across the wait instead. The
    // wait stays in this function: waiting after the caller's branch between the two kFilterRounded instances cost
    // the square tile 6 registers and a spill (seed shape 5.02 ms instead of 4.32).
    wgmma_wait<0>();
  }

  /// The descriptor of this warpgroup's rows of an activation stage at shared address `activation_stage`, for
  /// `issue_from_shared`.
  __device__ std::uint64_t activation_descriptor(std::uint32_t activation_stage) const {
    return swizzled_k_major_descriptor(activation_stage + warpgroup_pixel0_ * kRowBytes);
  }

  /// Issues acc += (filter_stage * activation_stage)^T over the BLOCK_R reduction of one stage with both operands
  /// read from shared memory, as one committed group: the stage must stay unchanged until `wgmma_wait` says the group
  /// is complete, which leaves the caller free to issue the next stage's group first.
  /// filter: the descriptor (`swizzled_k_major_descriptor`) of the (BLOCK_OC, BLOCK_R) filter stage; activation:
  /// `activation_descriptor` of the (BLOCK_OW, BLOCK_R) activation stage, row = pixel. Both stages K-major with the
  /// 128-byte swizzle, 1024-byte aligned, and rounded to TF32 already (wgmma truncates what it reads).
  __device__ static void issue_from_shared(std::uint64_t filter, std::uint64_t activation, Accumulators& acc) {
    // (64, 8) K-major slices of this warpgroup's pixels: 64 rows further per i, 32 bytes further per k step
    issue_stage(
        filter, [&](int step, int i) { return activation + (i * Policy::kMmaM * kRowBytes + step * kStepBytes) / 16; },
        acc);
  }

  /// Issues one stage's wgmma as one committed group: for each k step and pixel slice i, `a(step, i)` is the A
  /// operand (this thread's fragment registers, or a shared-memory descriptor), against the (kMmaN, 8) K-major
  /// slices of the filter stage (descriptor `filter`), kMmaN rows further per j and 32 bytes further per k step.
  template <class AOperand> __device__ static void issue_stage(std::uint64_t filter, AOperand&& a, Accumulators& acc) {
    wgmma_fence();
#pragma unroll
    for (int step = 0; step < Policy::kMmaStepsR; ++step) {
#pragma unroll
      for (int i = 0; i < Policy::kMmasOw; ++i) {
#pragma unroll
        for (int j = 0; j < Policy::kMmasOc; ++j) {
          wgmma_tf32<Policy::kMmaN>(acc[i][j], a(step, i),
                                    filter + (j * Policy::kMmaN * kRowBytes + step * kStepBytes) / 16);
        }
      }
    }
    wgmma_commit();
  }

  /// Calls store(channel in tile, pixel in tile, value) for each accumulator element of this thread.
  template <class Store> __device__ void for_each(Accumulators const& acc, Store&& store) const {
#pragma unroll
    for (int i = 0; i < Policy::kMmasOw; ++i) {
#pragma unroll
      for (int j = 0; j < Policy::kMmasOc; ++j) {
#pragma unroll
        for (int e = 0; e < Policy::kMmaN / 2; ++e) {
          // e = 4 c + f: channel 8 c + 2 t + f % 2 of the kMmaN, pixel g + 8 (f / 2)
          store(j * Policy::kMmaN + 8 * (e / 4) + channel0_ + e % 2, pixel0_ + i * Policy::kMmaM + 8 * (e % 4 / 2),
                acc[i][j][e]);
        }
      }
    }
  }

private:
  static constexpr int kRowBytes = Policy::BLOCK_R * int(sizeof(float)); ///< one K-major row of a stage
  static constexpr int kStepBytes = Policy::kMmaK * int(sizeof(float));  ///< one k8 step along such a row

  int warpgroup_pixel0_; ///< first pixel of this warpgroup's share of the tile
  int pixel0_;           ///< pixel (row g of the warp's fragments) of A fragment element 0 and accumulator element 0
  int k_;                ///< reduction offset t = lane % 4 of the A fragments within one k8 step
  int channel0_;         ///< channel 2t of accumulator element 0
};

} // namespace detail
} // namespace tileconv
