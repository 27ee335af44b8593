#pragma once

/// \file activation_gather.cuh
/// Gathers (BLOCK_R, BLOCK_OW) tiles of the implicit im2col matrix into shared memory.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/pixel_window.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/policy/gather_kind.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// The part both gathers share. Row k of the im2col matrix holds, for every output pixel (p, q), the input value
/// filter tap (c, r, s) = k meets there: input[c][p * stride_h - pad_h + r * dilation_h][q * stride_w - pad_w +
/// s * dilation_w], or zero in the padding. Each thread owns one output pixel (one column of the tile) for the
/// whole reduction, so its coordinates are computed once; consecutive threads own consecutive pixels, so a warp's
/// copies of one row coalesce wherever the stride is 1.
template <class Policy> class PixelGatherBase {
protected:
  __device__ PixelGatherBase(Conv2dParams const& params, TileCoord const& tile, int thread)
      : params_(params), column_(thread % Policy::BLOCK_OW), first_row_(thread / Policy::BLOCK_OW),
        image_(params.input + tile.image * params.input_image_stride + tile.group * params.input_group_stride),
        window_(params, tile.pixel0 + column_) {}

  /// Whether filter tap (r, s) meets this thread's pixel inside the image; `offset` is then its offset in a plane.
  __device__ bool tap_in_image(int r, int s, int& offset) const { return window_.tap_in_image(params_, r, s, offset); }

  /// Where in the stage this thread's i-th copy lands.
  __device__ float* destination(float* stage, int i) const {
    return stage + (first_row_ + i * Policy::kActivationRowsPerPass) * Policy::kActivationPitch + column_;
  }

  Conv2dParams const& params_;
  int column_;
  int first_row_;
  float const* image_; ///< channel 0 of this block's (image, group)
  PixelWindow window_; ///< this thread's pixel
};

/// @tparam kKind kAnalytic or kChannelTiled (see `GatherKind`)
template <class Policy, GatherKind kKind> class ActivationGather;

/// The analytic (reference) gather: each row's (c, r, s) is recomputed from its reduction index with
/// multiply-shift divisions, in the filter's (c, r, s) order.
template <class Policy> class ActivationGather<Policy, GatherKind::kAnalytic> : PixelGatherBase<Policy> {
  using Base = PixelGatherBase<Policy>;

public:
  __device__ ActivationGather(Conv2dParams const& params, TileCoord const& tile, int thread)
      : Base(params, tile, thread) {}

  /// Issues the cp.async of reduction tile `k_tile` into `stage`, a (BLOCK_R, kActivationPitch) array.
  __device__ void load(float* stage, int k_tile) const {
    Conv2dParams const& params = this->params_;
#pragma unroll
    for (int i = 0; i < Policy::kActivationCopiesPerThread; ++i) {
      int const k = k_tile * Policy::BLOCK_R + this->first_row_ + i * Policy::kActivationRowsPerPass;
      int channel = 0;
      int tap = 0;
      int r = 0;
      int s = 0;
      params.filter_taps.divmod(k, channel, tap);
      params.filter_w.divmod(tap, r, s);
      int offset = 0;
      bool const valid = this->tap_in_image(r, s, offset) && k < params.gemm_k;
      float const* src = valid ? this->image_ + std::int64_t{channel} * params.in_plane + offset : this->image_;
      cp_async_zfill<4>(this->destination(stage, i), src, valid);
    }
  }
};

/// The channel-tiled (fast) gather: tile k_tile is channels (k_tile / taps) * BLOCK_R.. of tap k_tile % taps,
/// so the padding test and the address are computed once per tile and the rows are a constant stride apart.
template <class Policy> class ActivationGather<Policy, GatherKind::kChannelTiled> : PixelGatherBase<Policy> {
  using Base = PixelGatherBase<Policy>;

public:
  __device__ ActivationGather(Conv2dParams const& params, TileCoord const& tile, int thread)
      : Base(params, tile, thread), first_row_image_(this->image_ + std::int64_t{this->first_row_} * params.in_plane),
        row_stride_(std::int64_t{Policy::kActivationRowsPerPass} * params.in_plane) {}

  /// Issues the cp.async of reduction tile `k_tile` into `stage`, a (BLOCK_R, kActivationPitch) array.
  __device__ void load(float* stage, int k_tile) const {
    Conv2dParams const& params = this->params_;
    ChannelTiledStep const tiled = channel_tiled_step(params, k_tile);
    int offset = 0;
    bool const valid = this->tap_in_image(tiled.r, tiled.s, offset);
    // in the padding nothing is read: every copy zero-fills from a harmless in-bounds address
    float const* const src =
        valid ? first_row_image_ + std::int64_t{tiled.channel_tile * Policy::BLOCK_R} * params.in_plane + offset
              : this->image_;
    std::int64_t const step = valid ? row_stride_ : 0;
#pragma unroll
    for (int i = 0; i < Policy::kActivationCopiesPerThread; ++i) {
      cp_async_zfill<4>(this->destination(stage, i), src + i * step, valid);
    }
  }

private:
  float const* first_row_image_; ///< channel first_row_ of this block's (image, group)
  std::int64_t row_stride_;      ///< floats between this thread's consecutive rows: rows-per-pass planes
};

} // namespace detail
} // namespace tileconv
