#pragma once

/// \file problem.cuh
/// The NCHW conv2d problem, its output size and its implicit-GEMM view.

#include <tileconv/config.cuh>
#include <tileconv/status.cuh>

#include <climits>
#include <cstddef>
#include <cstdint>

namespace tileconv {

/// One 2D convolution, PyTorch `nn.Conv2d` semantics, NCHW float32 tensors:
/// input (batch, in_channels, in_h, in_w), filter (out_channels, in_channels / groups, filter_h, filter_w),
/// output (batch, out_channels, out_h(), out_w()). Padding is symmetric per axis, as in `nn.Conv2d`, unless
/// `pad_h_end` / `pad_w_end` say otherwise (PyTorch's `padding='same'` with an even filter reach; see `same_padding`).
struct Conv2dProblem {
  /// `pad_h_end` / `pad_w_end` value meaning "as much as at the start".
  static constexpr int kSymmetric = -1;

  int batch = 1;
  int in_channels = 1;
  int in_h = 1;
  int in_w = 1;
  int out_channels = 1;
  int filter_h = 1;
  int filter_w = 1;
  int pad_h = 0;              ///< zero rows above the input (and below it, unless pad_h_end is set)
  int pad_w = 0;              ///< zero columns left of the input (and right of it, unless pad_w_end is set)
  int pad_h_end = kSymmetric; ///< zero rows below the input, or kSymmetric for pad_h
  int pad_w_end = kSymmetric; ///< zero columns right of the input, or kSymmetric for pad_w
  int stride_h = 1;
  int stride_w = 1;
  int dilation_h = 1;
  int dilation_w = 1;
  int groups = 1;

  TILECONV_HOST_DEVICE constexpr int pad_top() const { return pad_h; }
  TILECONV_HOST_DEVICE constexpr int pad_bottom() const { return pad_h_end == kSymmetric ? pad_h : pad_h_end; }
  TILECONV_HOST_DEVICE constexpr int pad_left() const { return pad_w; }
  TILECONV_HOST_DEVICE constexpr int pad_right() const { return pad_w_end == kSymmetric ? pad_w : pad_w_end; }

  /// Output height by PyTorch's formula: floor((H + pad_top + pad_bottom - dilation (R - 1) - 1) / stride) + 1.
  TILECONV_HOST_DEVICE constexpr int out_h() const {
    return output_extent(in_h, pad_top() + std::int64_t{pad_bottom()}, dilation_h, filter_h, stride_h);
  }
  /// Output width by PyTorch's formula.
  TILECONV_HOST_DEVICE constexpr int out_w() const {
    return output_extent(in_w, pad_left() + std::int64_t{pad_right()}, dilation_w, filter_w, stride_w);
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
    if (pad_h < 0 || pad_w < 0 || (pad_h_end < 0 && pad_h_end != kSymmetric) ||
        (pad_w_end < 0 && pad_w_end != kSymmetric)) {
      return Status::kErrorInvalidPadding;
    }
    if (groups <= 0 || in_channels % groups != 0 || out_channels % groups != 0) {
      return Status::kErrorInvalidGroups;
    }
    // Computed in 64 bits: an int filter reach or padded size may itself overflow 32 bits.
    std::int64_t const pad_rows = pad_top() + std::int64_t{pad_bottom()};
    std::int64_t const pad_columns = pad_left() + std::int64_t{pad_right()};
    if (output_extent64(in_h, pad_rows, dilation_h, filter_h, stride_h) <= 0 ||
        output_extent64(in_w, pad_columns, dilation_w, filter_w, stride_w) <= 0) {
      return Status::kErrorEmptyOutput;
    }
    // Tensor offsets are 64-bit, so a tensor, even one image of it, may exceed 2^31 elements; what stays 32-bit is
    // the coordinate math within one padded input plane (ih * in_w + iw), within one output plane, and the GEMM's
    // reduction index. Each factor is checked before it is multiplied, so no product here overflows.
    constexpr std::int64_t kMaxPlane = std::int64_t{1} << 31;
    std::int64_t const padded_h = in_h + pad_rows;
    std::int64_t const padded_w = in_w + pad_columns;
    if (padded_h >= kMaxPlane || padded_w >= kMaxPlane || padded_h * padded_w >= kMaxPlane) {
      return Status::kErrorProblemTooLarge;
    }
    std::int64_t const taps = std::int64_t{filter_h} * filter_w;
    // kMaxPlane - 64: the launcher rounds the reduction up to whole BLOCK_R tiles in int
    if (taps >= kMaxPlane || in_channels_per_group() * taps > kMaxPlane - 64 ||
        out_channels * (in_channels_per_group() * taps) >= kMaxPlane) {
      return Status::kErrorProblemTooLarge; // the filter and its reduction index
    }
    // Whole tensors: batch * channels * plane, each factor below 2^31, capped at 2^48 elements (1 PiB of floats).
    constexpr std::int64_t kMaxTensor = std::int64_t{1} << 48;
    std::int64_t const in_plane = std::int64_t{in_h} * in_w;
    std::int64_t const out_plane = output_extent64(in_h, pad_rows, dilation_h, filter_h, stride_h) *
                                   output_extent64(in_w, pad_columns, dilation_w, filter_w, stride_w);
    if (std::int64_t{batch} * in_channels >= kMaxTensor / in_plane ||
        std::int64_t{batch} * out_channels >= kMaxTensor / out_plane) {
      return Status::kErrorProblemTooLarge;
    }
    return Status::kSuccess;
  }

private:
  /// `pads`: the padding of both ends together.
  TILECONV_HOST_DEVICE static constexpr std::int64_t output_extent64(int in, std::int64_t pads, int dilation,
                                                                     int filter, int stride) {
    if (stride <= 0) {
      return 0; // invalid; validate() reports the stride before this matters
    }
    std::int64_t const span = std::int64_t{in} + pads - std::int64_t{dilation} * (filter - 1) - 1;
    // floor division, so that a negative span gives an extent <= 0 as in PyTorch
    std::int64_t const steps = span >= 0 ? span / stride : -((-span + stride - 1) / stride);
    return steps + 1;
  }
  TILECONV_HOST_DEVICE static constexpr int output_extent(int in, std::int64_t pads, int dilation, int filter,
                                                          int stride) {
    return static_cast<int>(output_extent64(in, pads, dilation, filter, stride));
  }
};

/// PyTorch's `padding='same'` for `problem`: total padding dilation * (filter - 1) per axis, the smaller half at the
/// start (top, left) and the rest at the end, so the output has the input's size. Like PyTorch, stride 1 only:
/// returns kErrorInvalidStride otherwise and leaves `problem` unchanged; kErrorProblemTooLarge where a padding would
/// not fit an int.
constexpr Status same_padding(Conv2dProblem& problem) {
  if (problem.stride_h != 1 || problem.stride_w != 1) {
    return Status::kErrorInvalidStride;
  }
  if (problem.filter_h <= 0 || problem.filter_w <= 0 || problem.dilation_h <= 0 || problem.dilation_w <= 0) {
    return problem.filter_h <= 0 || problem.filter_w <= 0 ? Status::kErrorInvalidSize : Status::kErrorInvalidDilation;
  }
  // 64-bit: dilation * (filter - 1) of two large ints overflows int; such a reach has no int padding
  std::int64_t const total_h = std::int64_t{problem.dilation_h} * (problem.filter_h - 1);
  std::int64_t const total_w = std::int64_t{problem.dilation_w} * (problem.filter_w - 1);
  if (total_h > INT_MAX || total_w > INT_MAX) {
    return Status::kErrorProblemTooLarge;
  }
  problem.pad_h = static_cast<int>(total_h / 2);
  problem.pad_h_end = static_cast<int>(total_h - total_h / 2);
  problem.pad_w = static_cast<int>(total_w / 2);
  problem.pad_w_end = static_cast<int>(total_w - total_w / 2);
  return Status::kSuccess;
}

/// The device buffers of one conv2d call. `bias` (out_channels floats) may be null. `workspace` is scratch memory
/// for split-K partial sums and a reordered copy of the filter: null unless the caller opts in with at least
/// `conv2d_workspace_size()` bytes; its contents need no initialization and are not preserved. 4-byte alignment is
/// required; 16-byte alignment (any cudaMalloc'd pointer) lets the kernel copy the reordered filter 16 bytes at a time.
struct Conv2dArguments {
  Conv2dProblem problem;
  float const* input = nullptr;
  float const* filter = nullptr;
  float const* bias = nullptr;
  float* output = nullptr;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
};

} // namespace tileconv
