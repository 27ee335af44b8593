#pragma once

/// \file split_k_reduce.cuh
/// The second kernel of a split-K launch: adds the splits' partial sums in a fixed order, then bias and epilogue.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/epilogue/output_coord.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Grid-stride over the output's (image, channel) planes (y) and their pixels (x). Splits are added in order
/// 0, 1, .., so a problem gives the same bits on every run, whatever order the first kernel's blocks ran in.
template <class Epilogue> struct SplitKReduce {
  static constexpr int kThreads = 256;

  struct Params {
    Conv2dParams conv;
    Epilogue epilogue;
    int out_channels;
    std::int64_t planes; ///< batch * out_channels
  };

  __device__ void operator()(Params const& params, unsigned char* /*shared_bytes*/) const {
    Conv2dParams const& conv = params.conv;
    int const splits = conv.split_k.divisor();
    for (std::int64_t plane = blockIdx.y; plane < params.planes; plane += gridDim.y) {
      int const channel = static_cast<int>(plane % params.out_channels);
      float const bias = conv.bias != nullptr ? conv.bias[channel] : 0.0f;
      std::int64_t const plane_offset = plane * conv.gemm_n;
      for (int pixel = blockIdx.x * kThreads + threadIdx.x; pixel < conv.gemm_n; pixel += gridDim.x * kThreads) {
        std::int64_t const offset = plane_offset + pixel;
        float sum = 0.0f;
        for (int split = 0; split < splits; ++split) {
          sum += conv.partials[split * conv.output_elements + offset];
        }
        conv.output[offset] = params.epilogue(sum + bias, OutputCoord{channel, offset});
      }
    }
  }
};

} // namespace detail
} // namespace tileconv
