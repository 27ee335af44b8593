#pragma once

/// \file epilogue_chain.cuh
/// Several epilogue functors fused into one: applied left to right to each output element, in registers, before
/// the single store.

#include <tileconv/config.cuh>
#include <tileconv/epilogue/epilogue_traits.cuh>
#include <tileconv/epilogue/output_coord.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <type_traits>

namespace tileconv {

/// The composition of `Ops...`: `chain(x, at) == op_n(... op_2(op_1(x, at), at) ..., at)`, the first op first.
/// Every op sees the same `OutputCoord`. A chain is itself an epilogue, so chains nest.
///
/// A recursive struct rather than `cuda::std::tuple`: the tuple is trivially copyable (a kernel-parameter
/// requirement) only since CCCL 2.6 (NVIDIA/cccl#2127), older toolkits' libcu++ would not compile the asserts below.
/// @tparam Ops epilogue functors, each trivially copyable and callable as `float(float, OutputCoord const&) const`
template <class... Ops> struct EpilogueChain;

/// The empty chain: returns its input unchanged.
template <> struct EpilogueChain<> {
  /// `x`, unchanged.
  TILECONV_HOST_DEVICE constexpr float operator()(float x, OutputCoord const&) const { return x; }
  /// Always `kSuccess`: the identity reads no tensor.
  Status check(Conv2dArguments const&) const { return Status::kSuccess; }
};

/// A first op followed by the chain of the rest.
/// @tparam First the op applied first
/// @tparam Rest  the ops applied after it, in order
template <class First, class... Rest> struct EpilogueChain<First, Rest...> {
  static_assert(is_epilogue_v<First>, "each op of an EpilogueChain must be callable as "
                                      "float(float, OutputCoord const&) const (see docs/epilogue.md)");
  static_assert(std::is_trivially_copyable_v<First>,
                "each op of an EpilogueChain must be trivially copyable: the chain is passed by value as a kernel "
                "parameter (hold device pointers, not containers)");

  EpilogueChain() = default;
  /// The chain of `first` then `rest...`, each copied.
  TILECONV_HOST_DEVICE constexpr explicit EpilogueChain(First const& first, Rest const&... rest)
      : first_(first), rest_(rest...) {}

  /// The ops applied in order to `x`, all at the same output element `at`.
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const& at) const { return rest_(first_(x, at), at); }

  /// The first failing `check` of the ops, in chain order; ops without a `check` pass.
  Status check(Conv2dArguments const& args) const {
    Status const status = check_epilogue(first_, args);
    return status != Status::kSuccess ? status : rest_.check(args);
  }

private:
  First first_;
  EpilogueChain<Rest...> rest_;
};

/// The identity epilogue: what the kernels apply when the caller gives none (the output is conv + bias).
using IdentityEpilogue = EpilogueChain<>;

/// `EpilogueChain<Ops...>` of copies of `ops`, applied left to right:
/// `make_epilogue_chain(ScaleShift{2.0f, 0.0f}, Relu{})` computes relu(2 x).
/// @tparam Ops epilogue functors (deduced)
template <class... Ops> TILECONV_HOST_DEVICE constexpr EpilogueChain<Ops...> make_epilogue_chain(Ops const&... ops) {
  return EpilogueChain<Ops...>(ops...);
}

} // namespace tileconv
