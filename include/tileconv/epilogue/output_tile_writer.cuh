#pragma once

/// \file output_tile_writer.cuh
/// Where a block's accumulators go: the NCHW output through bias and the epilogue, or, under split-K, the raw
/// partial sums to the workspace.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/tile_coord.cuh>
#include <tileconv/epilogue/output_coord.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Stores a block's accumulators, given each element's (channel, pixel) position in the block tile. Elements past
/// gemm_m or gemm_n (edge tiles) are skipped, so no tile writes out of bounds. Each thread stores its own
/// accumulators straight from registers: a warp's store covers 8 consecutive pixels of 4 channels (or 8 channels of
/// 2 pixels in the mma.sync layout), whole 32-byte sectors either way.
///
/// @tparam Epilogue the functor applied to conv + bias (see epilogue/epilogue_chain.cuh)
template <class Epilogue> class OutputTileWriter {
public:
  /// Everything a store needs is read from the parameters here, once: a block stores 64 or more elements per
  /// thread, and per-element reads of the parameters (which the compiler does not keep across stores) tripled the
  /// writer's instructions (docs/perf-notes.md, v10).
  __device__ OutputTileWriter(Conv2dParams const& params, Epilogue const& epilogue, TileCoord const& tile)
      : epilogue_(epilogue), raw_(params.partials != nullptr), bias_(params.bias),
        channels_left_(params.gemm_m - tile.oc0), pixels_left_(params.gemm_n - tile.pixel0), gemm_n_(params.gemm_n),
        channel0_(tile.group * params.gemm_m + tile.oc0),
        offset0_(tile.image * params.output_image_stride + tile.group * params.output_group_stride +
                 std::int64_t{tile.oc0} * params.gemm_n + tile.pixel0),
        destination0_(raw_ ? params.partials + tile.split * params.output_elements + offset0_
                           : params.output + offset0_) {}

  /// Calls `for_each(store)`, where `for_each` calls store(channel in tile, pixel in tile, value) for each of the
  /// thread's accumulators, with a store made for this tile: what is the same for every element of a block (whether
  /// the tile lies inside the output, split-K, bias) is decided here, once. Decided per element, those tests were
  /// three quarters of the writer's instructions (docs/perf-notes.md, v14).
  /// @tparam kTileChannels, kTilePixels the block tile (BLOCK_OC, BLOCK_OW)
  template <int kTileChannels, int kTilePixels, class ForEach> __device__ void write(ForEach&& for_each) const {
    bool const inside = channels_left_ >= kTileChannels && pixels_left_ >= kTilePixels;
    if (raw_) {
      inside ? for_each(Store<Output::kRaw, true>{*this}) : for_each(Store<Output::kRaw, false>{*this});
    } else if (bias_ != nullptr) {
      inside ? for_each(Store<Output::kBiased, true>{*this}) : for_each(Store<Output::kBiased, false>{*this});
    } else {
      inside ? for_each(Store<Output::kPlain, true>{*this}) : for_each(Store<Output::kPlain, false>{*this});
    }
  }

private:
  /// What a store writes: raw sums (split-K), epilogue(conv + bias), or epilogue(conv).
  enum class Output { kRaw, kBiased, kPlain };

  /// The store of one tile: `kInside` when every element of the tile is inside the output, so none is tested.
  template <Output kOutput, bool kInside> struct Store {
    OutputTileWriter const& writer;
    __device__ void operator()(int channel_in_tile, int pixel_in_tile, float value) const {
      writer.store<kOutput, kInside>(channel_in_tile, pixel_in_tile, value);
    }
    /// Four consecutive pixels of a channel, from `pixel_in_tile`, a multiple of 4, as one 16-byte store: for
    /// launches whose planes are a multiple of 4 pixels (so that the four lie all inside the plane or all past it)
    /// and whose destination is 16-byte aligned (the gathers' of plane boxes, see `GatherKind::kPointwise`,
    /// `kTapShifted`).
    __device__ void operator()(int channel_in_tile, int pixel_in_tile, float4 values) const {
      writer.store<kOutput, kInside>(channel_in_tile, pixel_in_tile, values);
    }
  };

  template <Output kOutput, bool kInside>
  __device__ void store(int channel_in_tile, int pixel_in_tile, float value) const {
    if (!kInside && (channel_in_tile >= channels_left_ || pixel_in_tile >= pixels_left_)) {
      return;
    }
    std::int64_t const offset = std::int64_t{channel_in_tile} * gemm_n_ + pixel_in_tile;
    if constexpr (kOutput == Output::kRaw) {
      destination0_[offset] = value;
    } else {
      int const channel = channel0_ + channel_in_tile;
      float const biased = kOutput == Output::kBiased ? value + bias_[channel] : value;
      destination0_[offset] = epilogue_(biased, OutputCoord{channel, offset0_ + offset});
    }
  }

  template <Output kOutput, bool kInside>
  __device__ void store(int channel_in_tile, int pixel_in_tile, float4 values) const {
    if (!kInside && (channel_in_tile >= channels_left_ || pixel_in_tile >= pixels_left_)) {
      return;
    }
    std::int64_t const offset = std::int64_t{channel_in_tile} * gemm_n_ + pixel_in_tile;
    if constexpr (kOutput != Output::kRaw) {
      int const channel = channel0_ + channel_in_tile;
      float const bias = kOutput == Output::kBiased ? bias_[channel] : 0.0f;
      std::int64_t const coord = offset0_ + offset;
      auto const finish = [&](float value, int pixel) {
        return epilogue_(kOutput == Output::kBiased ? value + bias : value, OutputCoord{channel, coord + pixel});
      };
      values = make_float4(finish(values.x, 0), finish(values.y, 1), finish(values.z, 2), finish(values.w, 3));
    }
    *reinterpret_cast<float4*>(destination0_ + offset) = values;
  }

  Epilogue const& epilogue_;
  bool raw_;             ///< split-K: raw sums to the partials, no bias, no epilogue
  float const* bias_;    ///< per output channel, or null
  int channels_left_;    ///< channels of the tile inside the group: gemm_m - oc0
  int pixels_left_;      ///< pixels of the tile inside the image: gemm_n - pixel0
  int gemm_n_;           ///< pixels per output plane
  int channel0_;         ///< output channel of the tile's first row
  std::int64_t offset0_; ///< offset of the tile's first element in the output
  float* destination0_;  ///< where that element goes: in the output, or in this split's partial sums
};

} // namespace detail
} // namespace tileconv
