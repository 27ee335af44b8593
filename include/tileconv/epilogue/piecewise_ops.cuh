#pragma once

/// \file piecewise_ops.cuh
/// Epilogue functors that are affine or piecewise polynomial in x: a few comparisons and at most three roundings,
/// no transcendental function, so nothing inside them can overflow or cancel beyond the result itself.
///
/// NaN policy, shared by every functor in tileconv: a NaN input gives a NaN output (comparisons with NaN are
/// false, and each branch below is ordered so that NaN falls through to an arithmetic result), and a non-NaN
/// input never gives NaN. The second half is where tileconv departs from PyTorch: PyTorch's hardswish(-inf) is
/// -inf * 0 = NaN, tileconv's is the limit, 0.

#include <tileconv/config.cuh>
#include <tileconv/epilogue/output_coord.cuh>

#include <cmath>

namespace tileconv {

/// x * scale + shift, rounded once (`fmaf`), so that host and device give the same bits whatever the compiler's
/// contraction flags. "Subtract c" is `ScaleShift{1.0f, -c}`; "multiply by s" is `ScaleShift{s, 0.0f}`.
struct ScaleShift {
  float scale; ///< multiplies x
  float shift; ///< added after the multiplication
  /// fma(x, scale, shift).
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const { return ::fmaf(x, scale, shift); }
};

/// min(max(x, lo), hi), PyTorch's `clamp(x, lo, hi)`: when lo > hi every output is hi, as in PyTorch. Infinite
/// bounds give one-sided clamps: `Clamp{0.0f, INFINITY}` is a ReLU.
struct Clamp {
  float lo; ///< lower bound, applied first
  float hi; ///< upper bound, applied last, so it wins when lo > hi
  /// x clamped to [lo, hi]; NaN stays NaN.
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    float const low_clamped = x < lo ? lo : x; // fmaxf would turn a NaN x into lo
    return low_clamped > hi ? hi : low_clamped;
  }
};

/// max(x, 0).
struct Relu {
  /// 0 for x < 0, else x (NaN stays NaN, -0.0f stays -0.0f).
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const { return x < 0.0f ? 0.0f : x; }
};

/// min(max(x, 0), 6), PyTorch's `relu6`.
struct Relu6 {
  /// x clamped to [0, 6]; NaN stays NaN.
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
  }
};

/// x for x > 0, slope * x otherwise: PyTorch's `leaky_relu(x, negative_slope)`, same default slope.
struct LeakyRelu {
  float slope = 0.01f; ///< the factor for x <= 0 (PyTorch's `negative_slope`)
  /// x or slope * x.
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const { return x > 0.0f ? x : x * slope; }
};

/// relu6(x + 3) / 6, PyTorch's `hardsigmoid`: 0 for x <= -3, 1 for x >= 3, (x + 3) / 6 between.
struct HardSigmoid {
  /// The piecewise-linear sigmoid.
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    return x <= -3.0f ? 0.0f : (x >= 3.0f ? 1.0f : (x + 3.0f) / 6.0f);
  }
};

/// x * relu6(x + 3) / 6, PyTorch's `hardswish`: 0 for x <= -3, x for x >= 3, x (x + 3) / 6 between.
struct HardSwish {
  /// The branches give the limits exactly: 0 (not -inf * 0 = NaN) at x = -inf, x up to +inf.
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    return x <= -3.0f ? 0.0f : (x >= 3.0f ? x : x * (x + 3.0f) / 6.0f);
  }
};

} // namespace tileconv
