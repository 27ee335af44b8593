#pragma once

/// \file smooth_activations.cuh
/// Epilogue functors built on exp, log1p, tanh and erfc, written so that no finite or infinite input overflows an
/// intermediate into inf / inf, inf - inf or inf * 0: every non-NaN input gives a non-NaN result, the function's
/// limit where the true value is out of float range or underflows. A NaN input gives NaN.
///
/// Where the textbook formula cancels (1 + erf(t), 1 + tanh(u) for t, u << 0) it is evaluated in an equal form that
/// does not; the comment of each functor names the form. Plain float math (expf, log1pf, tanhf, erfcf), which CUDA
/// provides in host and device code; with --use_fast_math the device uses its approximate intrinsics.

#include <tileconv/config.cuh>
#include <tileconv/epilogue/output_coord.cuh>

#include <cmath>

namespace tileconv {
namespace detail {

/// 1 / (1 + exp(-x)) from e = exp(-|x|) in (0, 1]: 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0, so that exp never
/// overflows (exp(-x) for x = -100 would be inf) and the tail keeps its relative accuracy down to underflow.
TILECONV_HOST_DEVICE inline float stable_sigmoid(float x) {
  float const e = ::expf(-::fabsf(x));
  float const s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s; // NaN fails x >= 0 and stays NaN through e * s
}

/// log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): exp's argument is never positive, so nothing overflows for
/// large z (where log1p(exp(z)) would be log1p(inf) = inf) and log1p keeps the tail exp(z) exact for z << 0.
TILECONV_HOST_DEVICE inline float stable_softplus(float z) {
  return (z > 0.0f ? z : 0.0f) + ::log1pf(::expf(-::fabsf(z)));
}

/// x * f for a factor f(x) that tends to 0 as x -> -inf (sigmoid, tanh(softplus), the Gaussian CDF): where f has
/// underflowed to 0 the product is the limit, a zero with x's sign, instead of -inf * 0 = NaN at x = -inf.
TILECONV_HOST_DEVICE inline float times_vanishing_factor(float x, float f) {
  return f == 0.0f ? ::copysignf(0.0f, x) : x * f;
}

} // namespace detail

/// 1 / (1 + exp(-x)), the logistic function; evaluated as `detail::stable_sigmoid`.
struct Sigmoid {
  /// In [0, 1]: exactly 0 and 1 at -inf and +inf.
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const { return detail::stable_sigmoid(x); }
};

/// tanh(x); `tanhf` saturates to +-1 without overflow.
struct Tanh {
  /// In [-1, 1].
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const { return ::tanhf(x); }
};

/// PyTorch's `softplus(x, beta, threshold)`: x where beta * x > threshold, else log(1 + exp(beta x)) / beta.
/// The log is `detail::stable_softplus`, so a threshold above 88 (where PyTorch's float exp overflows to inf)
/// still gives finite results. beta must be nonzero; a negative beta mirrors the function, as in PyTorch.
struct Softplus {
  float beta = 1.0f;       ///< sharpness; PyTorch's default
  float threshold = 20.0f; ///< beta * x above which the result is x; PyTorch's default
  /// softplus(x) >= 0 for beta > 0.
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    float const z = x * beta;
    return z > threshold ? x : detail::stable_softplus(z) / beta;
  }
};

/// x * sigmoid(x), a.k.a. swish; PyTorch's `silu`.
struct Silu {
  /// The limits at +-inf are +inf and 0 (PyTorch's x / (1 + exp(-x)) gives NaN at -inf).
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    return detail::times_vanishing_factor(x, detail::stable_sigmoid(x));
  }
};

/// x * tanh(softplus(x)), PyTorch's `mish` (softplus with beta 1 and no threshold: tanh is 1 in float long before
/// the threshold would matter).
struct Mish {
  /// The limits at +-inf are +inf and 0 (PyTorch gives NaN at -inf).
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    return detail::times_vanishing_factor(x, ::tanhf(detail::stable_softplus(x)));
  }
};

/// 0.5 x (1 + erf(x / sqrt 2)), the exact GELU (PyTorch's `gelu`, approximate='none'). Evaluated as
/// 0.5 x erfc(-x / sqrt 2): equal, but 1 + erf(t) loses every digit for t < -4 in float, erfc(-t) none.
struct GeluErf {
  /// The limits at +-inf are +inf and 0 (PyTorch gives NaN at -inf).
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    constexpr float kSqrtHalf = 0.70710678118654752440f; // 1 / sqrt(2)
    return detail::times_vanishing_factor(x, 0.5f * ::erfcf(-x * kSqrtHalf));
  }
};

/// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), PyTorch's `gelu(x, approximate='tanh')`. Evaluated as
/// x * sigmoid(2 u) for the tanh's argument u: 0.5 (1 + tanh(u)) == sigmoid(2 u) without the cancellation of
/// 1 + tanh(u) for u << 0. x^3 overflows to +-inf for |x| > 2^42, which only saturates the sigmoid.
struct GeluTanh {
  /// The limits at +-inf are +inf and 0 (PyTorch gives NaN at -inf).
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    constexpr float kSqrtTwoOverPi = 0.79788456080286535588f;
    constexpr float kCubic = 0.044715f;
    float const u = kSqrtTwoOverPi * (x + kCubic * x * x * x);
    return detail::times_vanishing_factor(x, detail::stable_sigmoid(2.0f * u));
  }
};

} // namespace tileconv
