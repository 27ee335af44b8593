#pragma once

/// \file pointwise_warpgroup_mma.cuh
/// One consumer warpgroup's share of a pointwise block tile (`GatherKind::kPointwise`) on Hopper: loads the TF32 A
/// fragments from the pixel-major stages that `PointwiseGather` fills into registers, and issues wgmma against the
/// K-major filter stage. TF32 wgmma reads only K-major operands from shared memory, and these stages are the NCHW
/// input's own layout, pixels along the rows.

#include <tileconv/device/pointwise_gather.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/warpgroup_mma.cuh>
#include <tileconv/device/wgmma.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Accumulates a (WARPGROUP_OW pixels, BLOCK_OC channels) tile of the output in registers, with the interface of
/// `WarpgroupMma`, except that `for_each` hands over one box's four consecutive pixels of a channel at a time: a
/// tile's boxes may lie in different images (`plane_box`), so the caller writes each box as a tile of its own.
///
/// Which pixels a thread holds. The warpgroup's pixels are pairs h of 64-pixel wgmma slices 2h and 2h + 1, 128
/// pixels a pair, 32 a warp: warp w's are the stage's box 4h + w (`PointwiseGather`). Lane (g = lane / 4,
/// t = lane % 4) holds the four of them from 4 L(g), L(g) = g / 2 + 4 (g % 2): rows g and g + 8 of slice 2h are pixels
/// 4 L(g) and 4 L(g) + 1, those of slice 2h + 1 the next two. wgmma's rows are independent, so any such assignment
/// computes the same sums; this one makes a thread's A values of one channel one 16-byte load, and an accumulator
/// column of one channel one 16-byte store. L spreads each quarter warp's loads over the 8 chunks of the swizzled
/// 128-byte rows: lanes 8q.. read channel rows t = 0..3 (or t + 4) at chunks L(2q) ^ t = q ^ t and
/// L(2q + 1) ^ t = (q ^ t) + 4, eight distinct chunks, all 32 banks once.
template <class Policy> class PointwiseWarpgroupMma {
  using Gather = PointwiseGather<Policy>;

public:
  static_assert(Policy::kMmasOw % 2 == 0, "a thread's four pixels lie in a pair of 64-pixel slices");
  using Accumulators = typename WarpgroupMma<Policy>::Accumulators;
  /// Pairs of 64-pixel slices; this thread's pixels of each lie in one box (`box`).
  static constexpr int kPairs = Policy::kMmasOw / 2;

  __device__ explicit PointwiseWarpgroupMma(int thread) {
    int const lane = thread % 32;
    int const g = lane / 4;
    int const t = lane % 4;
    int const chunk = g / 2 + 4 * (g % 2); // L(g)
    int const box = thread / 128 * (Policy::WARPGROUP_OW / Gather::kBoxPixels) + thread / 32 % 4;
    box0_ = box;
    pixel_in_box_ = 4 * chunk;
    // channel rows t and t + 4 of the first k step (their swizzle phases, row % 8, are t and t + 4)
    low_rows_ = box * Gather::kBoxBytes + t * kRowBytes + (chunk ^ t) * 16;
    high_rows_ = box * Gather::kBoxBytes + (t + 4) * kRowBytes + (chunk ^ t ^ 4) * 16;
    channel0_ = 2 * t;
  }

  __device__ static void clear(Accumulators& acc) { WarpgroupMma<Policy>::clear(acc); }

  /// acc += activation_stage * filter over the 32 channels of one stage, complete on return: loads, rounds to TF32
  /// and issues, then waits (ptxas serializes wgmma whose register operands a loop rewrites while any is in flight;
  /// see `WarpgroupMma::accumulate`). activation_stage: `PointwiseGather`'s stage; filter: the descriptor
  /// (`swizzled_k_major_descriptor`) of the (BLOCK_OC, 32) filter stage, rounded to TF32 already.
  __device__ void accumulate(std::uint64_t filter, float const* activation_stage, Accumulators& acc) const {
    unsigned char const* const stage = reinterpret_cast<unsigned char const*>(activation_stage);
    std::uint32_t a[Policy::kMmaStepsR][Policy::kMmasOw][4];
#pragma unroll
    for (int step = 0; step < Policy::kMmaStepsR; ++step) {
#pragma unroll
      for (int pair = 0; pair < Policy::kMmasOw / 2; ++pair) {
        // k step `step` is channel rows 8 step.. of every box, whose swizzle phases are those of rows 0..
        int const offset = pair * kPairBytes + step * Policy::kMmaK * kRowBytes;
        float4 const low = *reinterpret_cast<float4 const*>(stage + low_rows_ + offset);
        float4 const high = *reinterpret_cast<float4 const*>(stage + high_rows_ + offset);
        std::uint32_t(&even)[4] = a[step][2 * pair];
        std::uint32_t(&odd)[4] = a[step][2 * pair + 1];
        even[0] = __float_as_uint(to_tf32_operand(low.x));
        even[1] = __float_as_uint(to_tf32_operand(low.y));
        even[2] = __float_as_uint(to_tf32_operand(high.x));
        even[3] = __float_as_uint(to_tf32_operand(high.y));
        odd[0] = __float_as_uint(to_tf32_operand(low.z));
        odd[1] = __float_as_uint(to_tf32_operand(low.w));
        odd[2] = __float_as_uint(to_tf32_operand(high.z));
        odd[3] = __float_as_uint(to_tf32_operand(high.w));
      }
    }
    WarpgroupMma<Policy>::issue_stage(
        filter, [&](int step, int i) -> std::uint32_t const(&)[4] { return a[step][i]; }, acc);
    wgmma_wait<0>();
  }

  /// Which of the tile's boxes holds this thread's pixels of slice pair `pair`.
  __device__ int box(int pair) const { return box0_ + 4 * pair; }

  /// Calls store(channel in tile, pixel in box, float4 values) for each channel of this thread's accumulators of
  /// slice pair `pair`: the channel's values at pixels pixel.. pixel + 3 of box `box(pair)`, pixel a multiple of 4.
  template <class Store> __device__ void for_each(Accumulators const& acc, int pair, Store&& store) const {
#pragma unroll
    for (int j = 0; j < Policy::kMmasOc; ++j) {
#pragma unroll
      for (int e = 0; e < Policy::kMmaN / 2; e += 4) {
#pragma unroll
        for (int f = 0; f < 2; ++f) {
          // elements e + f and e + f + 2 are rows g and g + 8 of channel 8 (e / 4) + 2 t + f
          float const(&even)[Policy::kMmaN / 2] = acc[2 * pair][j];
          float const(&odd)[Policy::kMmaN / 2] = acc[2 * pair + 1][j];
          store(j * Policy::kMmaN + 2 * e + channel0_ + f, pixel_in_box_,
                make_float4(even[e + f], even[e + f + 2], odd[e + f], odd[e + f + 2]));
        }
      }
    }
  }

private:
  static constexpr int kRowBytes = Gather::kBoxPixels * int(sizeof(float)); ///< one channel's row of a box
  static constexpr int kPairBytes = 4 * Gather::kBoxBytes;                  ///< 128 pixels: a pair of slices
  int box0_;         ///< the tile's box of this thread's pixels in the first pair
  int pixel_in_box_; ///< first of this thread's four pixels in its boxes
  int low_rows_;     ///< byte offset in a stage of this thread's 16 bytes of channel row t, first pair and k step
  int high_rows_;    ///< the same of channel row t + 4
  int channel0_;     ///< channel 2t of accumulator element 0
};

} // namespace detail
} // namespace tileconv
