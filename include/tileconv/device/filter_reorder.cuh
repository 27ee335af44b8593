#pragma once

/// \file filter_reorder.cuh
/// Rewrites the filter from PyTorch's (K, C / groups, R, S) order into (K, R, S, C / groups), the order in which
/// the channel-tiled gathers walk the reduction, so that each filter tile row is contiguous in memory, and rounds it
/// to TF32 on the way, so that the mainloop need not round it once per warp that reads it.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/fast_divmod.cuh>
#include <tileconv/device/ptx.cuh>

namespace tileconv {
namespace detail {

/// One thread per element of the reordered filter: krsc[row][tap][c] = kcrs[row][c][tap], row = output channel.
/// Reads are strided, writes coalesced; the filter is small next to the activations (e.g. 0.3 MB for the seed
/// shape), so one pass per launch costs a few microseconds.
struct FilterReorder {
  static constexpr int kThreads = 256;

  struct Params {
    float const* kcrs;
    float* krsc;
    int elements;        ///< out_channels * C / groups * R * S
    FastDivmod channels; ///< C / groups
    FastDivmod taps;     ///< R * S
  };

  __device__ void operator()(Params const& params, unsigned char* /*shared_bytes*/) const {
    for (int index = blockIdx.x * kThreads + threadIdx.x; index < params.elements; index += gridDim.x * kThreads) {
      int row_tap = 0;
      int c = 0;
      int row = 0;
      int tap = 0;
      params.channels.divmod(index, row_tap, c);
      params.taps.divmod(row_tap, row, tap);
      int const row_length = params.channels.divisor() * params.taps.divisor();
      params.krsc[index] = round_to_tf32(params.kcrs[row * row_length + c * params.taps.divisor() + tap]);
    }
  }
};

} // namespace detail
} // namespace tileconv
