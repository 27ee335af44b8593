#pragma once

/// \file pixel_window.cuh
/// Where one output pixel's filter window lies in the input plane.

#include <tileconv/device/conv2d_params.cuh>

namespace tileconv {
namespace detail {

/// The input position of filter tap (0, 0) for output pixel `pixel` (flattened over out_h * out_w) of one image; a
/// gather computes it once per pixel and then tests each tap against the image bounds.
class PixelWindow {
public:
  PixelWindow() = default;

  /// `pixel` may lie past the image's gemm_n pixels (the last tile's padding): every tap of it is then outside.
  __device__ PixelWindow(Conv2dParams const& params, int pixel) : valid_(pixel < params.gemm_n) {
    int p = 0;
    int q = 0;
    params.out_w.divmod(valid_ ? pixel : 0, p, q);
    ih0_ = p * params.stride_h - params.pad_h;
    iw0_ = q * params.stride_w - params.pad_w;
  }

  /// Whether filter tap (r, s) meets this pixel inside the image; `offset` is then its offset in an input plane.
  __device__ bool tap_in_image(Conv2dParams const& params, int r, int s, int& offset) const {
    int const ih = ih0_ + r * params.dilation_h;
    int const iw = iw0_ + s * params.dilation_w;
    offset = ih * params.in_w + iw;
    // unsigned compares also reject negative coordinates (the top and left padding)
    return valid_ && static_cast<unsigned>(ih) < unsigned(params.in_h) &&
           static_cast<unsigned>(iw) < unsigned(params.in_w);
  }

private:
  bool valid_ = false;
  int ih0_ = 0; ///< input row of tap r = 0; negative inside the top padding
  int iw0_ = 0; ///< input column of tap s = 0
};

} // namespace detail
} // namespace tileconv
