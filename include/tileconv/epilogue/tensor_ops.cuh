#pragma once

/// \file tensor_ops.cuh
/// Epilogue functors that read a device tensor: a per-channel bias or scale (out_channels floats) and a residual
/// shaped like the output. Each has a `check` that the launcher calls before it launches.
///
/// Buffer rules, enforced by `check`: a tensor an epilogue reads is non-null, float aligned, and shares no byte with
/// - the output or the split-K workspace, which other blocks write while this one reads: a race;
/// - the input or the filter. Reading those twice would be harmless, but the rule "every operand is its own buffer"
///   matches `check_arguments`, and a per-channel tensor inside the input is a wrong pointer far more often than a
///   wish; refusing it names the mistake instead of producing plausible numbers.
/// The one exception: a residual may be the output itself, exactly (z == output), because each output element is
/// read and then written by the same thread, once; any other overlap with the output is refused.

#include <tileconv/config.cuh>
#include <tileconv/epilogue/output_coord.cuh>
#include <tileconv/host/check_arguments.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cmath>
#include <cstdint>

namespace tileconv {
namespace detail {

/// `*pointer` through the read-only data cache on the device: `check_epilogue_tensor` has ruled out that the
/// kernel writes it. A plain load on the host.
TILECONV_HOST_DEVICE inline float load_read_only(float const* pointer) {
#if defined(__CUDA_ARCH__)
  return __ldg(pointer);
#else
  return *pointer;
#endif
}

} // namespace detail

/// The buffer rules of this file for one tensor of `elements` floats that an epilogue reads during the call
/// `args`; `may_be_output`: whether `tensor == args.output` exactly is allowed (a residual). For the `check` of
/// epilogue functors of your own that read device memory.
inline Status check_epilogue_tensor(float const* tensor, std::int64_t elements, Conv2dArguments const& args,
                                    bool may_be_output) {
  if (tensor == nullptr) {
    return Status::kErrorNullPointer;
  }
  if (detail::misaligned(tensor)) {
    return Status::kErrorMisalignedPointer;
  }
  constexpr std::int64_t kFloat = sizeof(float);
  Conv2dProblem const& problem = args.problem;
  std::int64_t const bytes = elements * kFloat;
  if (detail::byte_ranges_overlap(tensor, bytes, args.input, problem.input_elements() * kFloat) ||
      detail::byte_ranges_overlap(tensor, bytes, args.filter, problem.filter_elements() * kFloat) ||
      (args.workspace != nullptr &&
       detail::byte_ranges_overlap(tensor, bytes, args.workspace, static_cast<std::int64_t>(args.workspace_bytes)))) {
    return Status::kErrorOverlappingBuffers;
  }
  bool const is_output = may_be_output && tensor == args.output;
  if (!is_output && detail::byte_ranges_overlap(tensor, bytes, args.output, problem.output_elements() * kFloat)) {
    return Status::kErrorOverlappingBuffers;
  }
  return Status::kSuccess;
}

/// x + bias[channel]: a second per-channel bias, e.g. a folded batch-norm shift applied after a `ChannelScale`.
/// (The conv's own `Conv2dArguments::bias` is added before any epilogue.)
struct ChannelBias {
  float const* bias; ///< out_channels floats in device memory, indexed by the output channel
  /// x + bias[at.channel].
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const& at) const {
    return x + detail::load_read_only(bias + at.channel);
  }
  /// Null, misaligned or overlapping `bias` (see the buffer rules of tensor_ops.cuh).
  Status check(Conv2dArguments const& args) const {
    return check_epilogue_tensor(bias, args.problem.out_channels, args, false);
  }
};

/// x * scale[channel]: a per-channel scale, e.g. a folded batch-norm or a dequantization factor.
struct ChannelScale {
  float const* scale; ///< out_channels floats in device memory, indexed by the output channel
  /// x * scale[at.channel].
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const& at) const {
    return x * detail::load_read_only(scale + at.channel);
  }
  /// Null, misaligned or overlapping `scale` (see the buffer rules of tensor_ops.cuh).
  Status check(Conv2dArguments const& args) const {
    return check_epilogue_tensor(scale, args.problem.out_channels, args, false);
  }
};

/// alpha * x + beta * z[offset]: a residual (skip) connection with a tensor `z` shaped like the output (NCHW,
/// batch x out_channels x out_h x out_w, contiguous). `z` may be the output buffer itself, which turns the call into
/// output = epilogue(conv + bias) accumulated in place; it may overlap nothing else. `z` is read even where beta is
/// 0 (0 * NaN is NaN): drop the op, or use `ScaleShift`, to scale x alone.
struct Residual {
  float alpha;    ///< multiplies x, the value so far
  float beta;     ///< multiplies z
  float const* z; ///< output_elements() floats in device memory, indexed by the output element offset
  /// fma(alpha, x, beta * z[at.offset]); a plain load, not the read-only path, because z may be the output.
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const& at) const {
    return ::fmaf(alpha, x, beta * z[at.offset]);
  }
  /// Null, misaligned or overlapping `z`; `z == args.output` exactly is allowed.
  Status check(Conv2dArguments const& args) const {
    return check_epilogue_tensor(z, args.problem.output_elements(), args, true);
  }
};

} // namespace tileconv
