#pragma once

/// \file plane_box_warpgroup_mma.cuh
/// One consumer warpgroup's share of a block tile of the gathers of plane boxes (`GatherKind::kPointwise`,
/// `kTapShifted`) on Hopper: loads the TF32 A fragments from the pixel-major stages that `PlaneBoxGather` fills into
/// registers and issues wgmma against the K-major filter stage. TF32 wgmma reads only K-major operands from shared
/// memory, and these stages are the NCHW input's own layout, pixels along the rows.
///
/// Both consumers have the interface of `WarpgroupMma`, with these differences. A tile's boxes may lie in different
/// images (`plane_box`), so `for_each` hands over one box's pixels at a time (`box(pair)`), and the caller writes each
/// box as a tile of its own. `accumulate` also takes the stage's halo and a `Walk`, the consumer's position in the
/// tile's k tiles, which `walk` starts and `Walk::advance` moves on.
///
/// Which pixels a thread holds. The warpgroup's pixels are pairs h of 64-pixel wgmma slices 2h and 2h + 1, 128
/// pixels a pair, 32 a warp: warp w's are the stage's box 4h + w. Lane (g = lane / 4, t = lane % 4) holds four of
/// them, its pixels 0..3: rows g and g + 8 of slice 2h are pixels 0 and 1, those of slice 2h + 1 pixels 2 and 3, with
/// A values of channels t and t + 4 (`set_operands`). wgmma's rows are independent, so any assignment of the box's
/// pixels to the lanes' pixels 0..3 computes the same sums; each consumer picks one for its loads.

#include <tileconv/device/plane_box_gather.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/warpgroup_mma.cuh>
#include <tileconv/device/wgmma.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Sets the A fragments of slices `even` (2h) and `odd` (2h + 1) of one k step from this thread's pixels 0..3:
/// `low[i]`, `high[i]` are pixel i's values of channels t and t + 4, already TF32 operands.
__device__ inline void set_operands(std::uint32_t (&even)[4], std::uint32_t (&odd)[4], float const (&low)[4],
                                    float const (&high)[4]) {
  even[0] = __float_as_uint(low[0]);
  even[1] = __float_as_uint(low[1]);
  even[2] = __float_as_uint(high[0]);
  even[3] = __float_as_uint(high[1]);
  odd[0] = __float_as_uint(low[2]);
  odd[1] = __float_as_uint(low[3]);
  odd[2] = __float_as_uint(high[2]);
  odd[3] = __float_as_uint(high[3]);
}

/// The pointwise gather's consumer. Lane (g, t)'s pixels 0..3 are the box's 4 L(g)..4 L(g) + 3,
/// L(g) = g / 2 + 4 (g % 2): a thread's A values of one channel are one 16-byte load, and an accumulator column of one
/// channel one 16-byte store (`for_each` hands over float4s). L spreads each quarter warp's loads over the 8 chunks of
/// the swizzled 128-byte rows: lanes 8q.. read channel rows t = 0..3 (or t + 4) at chunks L(2q) ^ t = q ^ t and
/// L(2q + 1) ^ t = (q ^ t) + 4, eight distinct chunks, all 32 banks once.
template <class Policy> class PlaneBoxWarpgroupMma {
  using Gather = PlaneBoxGather<Policy, GatherKind::kPointwise>;

public:
  static_assert(Policy::kMmasOw % 2 == 0, "a thread's four pixels lie in a pair of 64-pixel slices");
  using Accumulators = typename WarpgroupMma<Policy>::Accumulators;
  /// Pairs of 64-pixel slices; this thread's pixels of each lie in one box (`box`).
  static constexpr int kPairs = Policy::kMmasOw / 2;

  /// Nothing changes from k tile to k tile: every pixel reads itself.
  struct Walk {
    __device__ void advance() {}
  };

  __device__ explicit PlaneBoxWarpgroupMma(int thread) {
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

  __device__ static Walk walk(Conv2dParams const&, TileCoord const&) { return Walk{}; }

  /// acc += activation_stage * filter over the 32 channels of one stage, complete on return: loads, rounds to TF32
  /// and issues, then waits (ptxas serializes wgmma whose register operands a loop rewrites while any is in flight;
  /// see `WarpgroupMma::accumulate`). activation_stage: `PlaneBoxGather`'s stage; filter: the descriptor
  /// (`swizzled_k_major_descriptor`) of the (BLOCK_OC, 32) filter stage, rounded to TF32 already.
  __device__ void accumulate(std::uint64_t filter, float const* activation_stage, float const*, Walk const&,
                             Accumulators& acc) const {
    unsigned char const* const stage = reinterpret_cast<unsigned char const*>(activation_stage);
    std::uint32_t a[Policy::kMmaStepsR][Policy::kMmasOw][4];
#pragma unroll
    for (int step = 0; step < Policy::kMmaStepsR; ++step) {
#pragma unroll
      for (int pair = 0; pair < kPairs; ++pair) {
        // k step `step` is channel rows 8 step.. of every box, whose swizzle phases are those of rows 0..
        int const offset = pair * kPairBytes + step * Policy::kMmaK * kRowBytes;
        float4 const low = *reinterpret_cast<float4 const*>(stage + low_rows_ + offset);
        float4 const high = *reinterpret_cast<float4 const*>(stage + high_rows_ + offset);
        float const low_values[4] = {to_tf32_operand(low.x), to_tf32_operand(low.y), to_tf32_operand(low.z),
                                     to_tf32_operand(low.w)};
        float const high_values[4] = {to_tf32_operand(high.x), to_tf32_operand(high.y), to_tf32_operand(high.z),
                                      to_tf32_operand(high.w)};
        set_operands(a[step][2 * pair], a[step][2 * pair + 1], low_values, high_values);
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

/// The tap-shifted gather's consumer. Output pixel j of a box reads its value at element j + residue of the stage's
/// box (`column_residue` of the k tile's tap), which may lie in the neighbouring box or the halo
/// (`PlaneBoxGather`), and keeps it only where the pixel's column shifted by the tap's stays in its row. The residue
/// moves the values off 16-byte boundaries, so a thread loads its pixels one float at a time, and they are spread
/// for that: lane (g, t)'s pixels 0..3 are the box's P(g) + 4 i, P(g) = g % 4 + 16 (g / 4). A warp's load of pixel i
/// then reads channel rows t (or t + 4) at elements P + 4 i + residue: the two halves of P land 16 elements, 4
/// chunks, apart, so their chunks differ in bit 2, which the swizzle (chunk ^ row % 8, rows 0..7) keeps, and within a
/// half the 4 elements lie in distinct words of their chunks and the 4 rows in distinct chunks: all 32 banks once.
template <class Policy> class TapShiftedWarpgroupMma {
  using Gather = PlaneBoxGather<Policy, GatherKind::kTapShifted>;

public:
  static_assert(Policy::kMmasOw % 2 == 0, "a thread's four pixels lie in a pair of 64-pixel slices");
  using Accumulators = typename WarpgroupMma<Policy>::Accumulators;
  static constexpr int kPairs = Policy::kMmasOw / 2;

  /// The consumer's place in one tile's k tiles: the columns of this thread's pixels, and the current k tile's tap
  /// column s, whose shift (s dilation_w - pad_w) moves from k tile to k tile.
  class Walk {
  public:
    __device__ Walk(Conv2dParams const& params, TileCoord const& tile, TapShiftedWarpgroupMma const& mma)
        : params_(params), s_(channel_tiled_step(params, tile.k_tile_begin).s) {
#pragma unroll
      for (int pair = 0; pair < kPairs; ++pair) {
        int const pixel0 = plane_box(params, tile.pixel0 / kPlaneBoxPixels + mma.box(pair)).pixel0 + mma.pixel0_;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          int row = 0;
          params.out_w.divmod(pixel0 + 4 * i, row, column_[pair][i]);
        }
      }
    }

    /// The current tap's column shift.
    __device__ int column_shift() const { return s_ * params_.dilation_w - params_.pad_w; }

    /// Whether this thread's pixel i of slice pair `pair` keeps its value at a column shift of `shift`.
    __device__ bool keeps(int pair, int i, int shift) const {
      return static_cast<unsigned>(column_[pair][i] + shift) < static_cast<unsigned>(params_.in_w);
    }

    /// To the next k tile: the next tap's column, or after the last the first's.
    __device__ void advance() { s_ = s_ + 1 == params_.filter_w.divisor() ? 0 : s_ + 1; }

  private:
    Conv2dParams const& params_;
    int s_;
    int column_[kPairs][4];
  };

  __device__ explicit TapShiftedWarpgroupMma(int thread) {
    int const lane = thread % 32;
    int const g = lane / 4;
    t_ = lane % 4;
    box0_ = thread / 128 * (Policy::WARPGROUP_OW / Gather::kBoxPixels) + thread / 32 % 4;
    pixel0_ = g % 4 + 16 * (g / 4);
  }

  __device__ static void clear(Accumulators& acc) { WarpgroupMma<Policy>::clear(acc); }

  __device__ Walk walk(Conv2dParams const& params, TileCoord const& tile) const { return Walk(params, tile, *this); }

  /// As `PlaneBoxWarpgroupMma::accumulate`, at `walk`'s k tile: each pixel's values from its element of the stage
  /// or of `halo`, zero where its shifted column left its row.
  __device__ void accumulate(std::uint64_t filter, float const* activation_stage, float const* halo, Walk const& walk,
                             Accumulators& acc) const {
    unsigned char const* const stage = reinterpret_cast<unsigned char const*>(activation_stage);
    unsigned char const* const halo_bytes = reinterpret_cast<unsigned char const*>(halo);
    int const shift = walk.column_shift();
    int const residue = column_residue(shift);
    // where this thread's pixels' values of channel rows t and t + 4 lie at the first k step, and whether they keep
    // them; k step `step` is rows 8 step.., whose swizzle phases are those of rows 0..
    unsigned char const* base[kPairs][4];
    int low[kPairs][4];
    int high[kPairs][4];
    int step_bytes[kPairs][4];
    bool keep[kPairs][4];
#pragma unroll
    for (int pair = 0; pair < kPairs; ++pair) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        keep[pair][i] = walk.keeps(pair, i, shift);
        // past the box: in the next box's copy, or past the tile's last box in the halo (its elements 0..3 are the 4
        // pixels after that box); before it: in the previous box's, or before the first box in the halo (the 4
        // pixels before it)
        int slot = box(pair);
        int element = pixel0_ + 4 * i + residue;
        bool in_halo = false;
        if (element >= Gather::kBoxPixels) {
          in_halo = slot + 1 == Gather::kBoxes;
          slot += 1;
          element -= Gather::kBoxPixels;
        } else if (element < 0) {
          in_halo = slot == 0;
          slot -= 1;
          element += in_halo ? Gather::kHaloPixels : Gather::kBoxPixels;
        }
        if (in_halo) { // unswizzled rows of 4 floats
          base[pair][i] = halo_bytes;
          low[pair][i] = (t_ * Gather::kHaloPixels + element) * int(sizeof(float));
          high[pair][i] = ((t_ + 4) * Gather::kHaloPixels + element) * int(sizeof(float));
          step_bytes[pair][i] = Policy::kMmaK * Gather::kHaloPixels * int(sizeof(float));
        } else {
          int const word = (element % 4) * int(sizeof(float));
          base[pair][i] = stage + slot * Gather::kBoxBytes;
          low[pair][i] = t_ * kRowBytes + ((element / 4) ^ t_) * 16 + word;
          high[pair][i] = (t_ + 4) * kRowBytes + ((element / 4) ^ (t_ + 4)) * 16 + word;
          step_bytes[pair][i] = Policy::kMmaK * kRowBytes;
        }
      }
    }
    std::uint32_t a[Policy::kMmaStepsR][Policy::kMmasOw][4];
#pragma unroll
    for (int step = 0; step < Policy::kMmaStepsR; ++step) {
#pragma unroll
      for (int pair = 0; pair < kPairs; ++pair) {
        float low_values[4];
        float high_values[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          unsigned char const* const at = base[pair][i] + step * step_bytes[pair][i];
          float const low_value = *reinterpret_cast<float const*>(at + low[pair][i]);
          float const high_value = *reinterpret_cast<float const*>(at + high[pair][i]);
          low_values[i] = keep[pair][i] ? to_tf32_operand(low_value) : 0.0f;
          high_values[i] = keep[pair][i] ? to_tf32_operand(high_value) : 0.0f;
        }
        set_operands(a[step][2 * pair], a[step][2 * pair + 1], low_values, high_values);
      }
    }
    WarpgroupMma<Policy>::issue_stage(
        filter, [&](int step, int i) -> std::uint32_t const(&)[4] { return a[step][i]; }, acc);
    wgmma_wait<0>();
  }

  /// Which of the tile's boxes holds this thread's pixels of slice pair `pair`.
  __device__ int box(int pair) const { return box0_ + 4 * pair; }

  /// Calls store(channel in tile, pixel in box, value) for each of this thread's accumulators of slice pair `pair`.
  template <class Store> __device__ void for_each(Accumulators const& acc, int pair, Store&& store) const {
#pragma unroll
    for (int j = 0; j < Policy::kMmasOc; ++j) {
#pragma unroll
      for (int e = 0; e < Policy::kMmaN / 2; e += 4) {
#pragma unroll
        for (int f = 0; f < 2; ++f) {
          // elements e + f and e + f + 2 are rows g and g + 8 of channel 8 (e / 4) + 2 t + f: pixels 0 and 1 of the
          // even slice, 2 and 3 of the odd one
          int const channel = j * Policy::kMmaN + 2 * e + 2 * t_ + f;
          float const(&even)[Policy::kMmaN / 2] = acc[2 * pair][j];
          float const(&odd)[Policy::kMmaN / 2] = acc[2 * pair + 1][j];
          store(channel, pixel0_, even[e + f]);
          store(channel, pixel0_ + 4, even[e + f + 2]);
          store(channel, pixel0_ + 8, odd[e + f]);
          store(channel, pixel0_ + 12, odd[e + f + 2]);
        }
      }
    }
  }

private:
  static constexpr int kRowBytes = Gather::kBoxPixels * int(sizeof(float)); ///< one channel's row of a box
  int box0_;   ///< the tile's box of this thread's pixels in the first pair
  int pixel0_; ///< P(g): this thread's pixel 0 in its boxes
  int t_;      ///< lane % 4: channel rows t and t + 4, accumulator channels 2t, 2t + 1 of each 8
};

} // namespace detail
} // namespace tileconv
