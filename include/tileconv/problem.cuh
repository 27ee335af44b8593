#pragma once

/// \file problem.cuh
/// The NCHW conv2d problem, its output size and its implicit-GEMM view.

#include <tileconv/config.cuh>
#include <tileconv/status.cuh>

#include <cstdint>

namespace tileconv {

/// One 2D convolution, PyTorch `nn.Conv2d` semantics, NCHW float32 tensors:
/// input (batch, in_channels, in_h, in_w), filter (out_channels, in_channels / groups, filter_h, filter_w),
/// output (batch, out_channels, out_h(), out_w()). Padding is symmetric per axis, as in `nn.Conv2d`.
struct Conv2dProblem {
  int batch = 1;
  int in_channels = 1;
  int in_h = 1;
  int in_w = 1;
  int out_channels = 1;
  int filter_h = 1;
  int filter_w = 1;
  int pad_h = 0;
  int pad_w = 0;
  int stride_h = 1;
  int stride_w = 1;
  int dilation_h = 1;
  int dilation_w = 1;
  int groups = 1;

  /// Output height by PyTorch's formula: floor((H + 2 pad - dilation (R - 1) - 1) / stride) + 1.
  TILECONV_HOST_DEVICE constexpr int out_h() const {
    return output_extent(in_h, pad_h, dilation_h, filter_h, stride_h);
  }
  /// Output width by PyTorch's formula.
  TILECONV_HOST_DEVICE constexpr int out_w() const {
    return output_extent(in_w, pad_w, dilation_w, filter_w, stride_w);
  }

  TILECONV_HOST_DEVICE constexpr int in_channels_per_group() const { return groups > 0 ? in_channels / groups : 0; }
  TILECONV_HOST_DEVICE constexpr int out_channels_per_group() const { return groups > 0 ? out_channels / groups : 0; }

  /// Implicit GEMM of one (image, group): output channels x output pixels, reduced over C/groups * R * S.
  /// Output pixels are the contiguous NCHW axis, so the GEMM's N dimension is the fast one of the output.
  TILECONV_HOST_DEVICE constexpr int gemm_m() const { return out_channels_per_group(); }
  TILECONV_HOST_DEVICE constexpr int gemm_n() const { return out_h() * out_w(); }
  TILECONV_HOST_DEVICE constexpr int gemm_k() const { return in_channels_per_group() * filter_h * filter_w; }

  TILECONV_HOST_DEVICE constexpr std::int64_t input_elements() const {
    return std::int64_t{batch} * in_channels * in_h * in_w;
  }
  TILECONV_HOST_DEVICE constexpr std::int64_t filter_elements() const {
    return std::int64_t{out_channels} * in_channels_per_group() * filter_h * filter_w;
  }
  TILECONV_HOST_DEVICE constexpr std::int64_t output_elements() const {
    return std::int64_t{batch} * out_channels * out_h() * out_w();
  }

  /// Multiply-adds times two, the usual conv FLOP count.
  TILECONV_HOST_DEVICE constexpr double flops() const { return 2.0 * double(output_elements()) * double(gemm_k()); }

  /// Checks the sizes and the parameters, naming the first thing that is wrong. Pointers are the launcher's job.
  constexpr Status validate() const {
    if (batch <= 0 || in_channels <= 0 || in_h <= 0 || in_w <= 0 || out_channels <= 0 || filter_h <= 0 ||
        filter_w <= 0) {
      return Status::kErrorInvalidSize;
    }
    if (stride_h <= 0 || stride_w <= 0) {
      return Status::kErrorInvalidStride;
    }
    if (dilation_h <= 0 || dilation_w <= 0) {
      return Status::kErrorInvalidDilation;
    }
    if (pad_h < 0 || pad_w < 0) {
      return Status::kErrorInvalidPadding;
    }
    if (groups <= 0 || in_channels % groups != 0 || out_channels % groups != 0) {
      return Status::kErrorInvalidGroups;
    }
    // Computed in 64 bits: an int filter reach or padded size may itself overflow 32 bits.
    if (output_extent64(in_h, pad_h, dilation_h, filter_h, stride_h) <= 0 ||
        output_extent64(in_w, pad_w, dilation_w, filter_w, stride_w) <= 0) {
      return Status::kErrorEmptyOutput;
    }
    // The kernels address one image, one output image and the filter with 32-bit offsets and the batch with
    // 64-bit ones, so each per-image extent must stay below 2^31 elements.
    constexpr std::int64_t kMaxElements = std::int64_t{1} << 31;
    std::int64_t const out_pixels = output_extent64(in_h, pad_h, dilation_h, filter_h, stride_h) *
                                    output_extent64(in_w, pad_w, dilation_w, filter_w, stride_w);
    if (std::int64_t{in_channels} * in_h * in_w >= kMaxElements ||
        std::int64_t{out_channels} * out_pixels >= kMaxElements || filter_elements() >= kMaxElements ||
        // the gather forms ih * in_w + iw from padded coordinates
        (std::int64_t{in_h} + 2 * std::int64_t{pad_h}) * (std::int64_t{in_w} + 2 * std::int64_t{pad_w}) >=
            kMaxElements) {
      return Status::kErrorProblemTooLarge;
    }
    return Status::kSuccess;
  }

private:
  TILECONV_HOST_DEVICE static constexpr std::int64_t output_extent64(int in, int pad, int dilation, int filter,
                                                                     int stride) {
    if (stride <= 0) {
      return 0; // invalid; validate() reports the stride before this matters
    }
    std::int64_t const span = std::int64_t{in} + 2 * std::int64_t{pad} - std::int64_t{dilation} * (filter - 1) - 1;
    // floor division, so that a negative span gives an extent <= 0 as in PyTorch
    std::int64_t const steps = span >= 0 ? span / stride : -((-span + stride - 1) / stride);
    return steps + 1;
  }
  TILECONV_HOST_DEVICE static constexpr int output_extent(int in, int pad, int dilation, int filter, int stride) {
    return static_cast<int>(output_extent64(in, pad, dilation, filter, stride));
  }
};

/// The device buffers of one conv2d call. `bias` (out_channels floats) may be null.
struct Conv2dArguments {
  Conv2dProblem problem;
  float const* input = nullptr;
  float const* filter = nullptr;
  float const* bias = nullptr;
  float* output = nullptr;
};

} // namespace tileconv
