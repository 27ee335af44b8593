#pragma once

/// \file epilogue_traits.cuh
/// What makes a type an epilogue functor, and how the launcher asks one whether it can run a call.
///
/// The contract, which the kernels rely on: an epilogue is a trivially copyable struct (it is a kernel parameter,
/// copied by value) with `TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const& at) const`. It may also
/// have `Status check(Conv2dArguments const&) const`, a host-only validation of the tensors it reads.

#include <tileconv/epilogue/output_coord.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <type_traits>
#include <utility>

namespace tileconv {

/// Whether `T const&` is callable as `float(float, OutputCoord const&)`. The launcher constrains its epilogue
/// overloads with it, so that `conv2d(args, stream)` can never bind a `cudaStream_t` (or a `DeviceInfo`, an `int`)
/// as an epilogue. It checks the call's signature only; triviality is asserted where the functor is used.
/// @tparam T a candidate epilogue functor
template <class T> struct is_epilogue : std::is_invocable_r<float, T const&, float, OutputCoord const&> {};

/// `is_epilogue<T>::value`.
/// @tparam T a candidate epilogue functor
template <class T> inline constexpr bool is_epilogue_v = is_epilogue<T>::value;

namespace detail {

/// Whether `T` declares a `check(Conv2dArguments const&) const` at all; what it returns is asserted by
/// `check_epilogue`, so that a `check` returning `bool` is an error rather than silently never called.
/// @tparam T an epilogue functor
template <class T, class = void> struct has_check : std::false_type {};
template <class T>
struct has_check<T, std::void_t<decltype(std::declval<T const&>().check(std::declval<Conv2dArguments const&>()))>>
    : std::true_type {};

} // namespace detail

/// `epilogue.check(args)` where the functor has a `check`, else `kSuccess`: every reason the epilogue's tensors
/// would make this call wrong (null, misaligned, overlapping). Host only; makes no CUDA call.
/// @tparam Epilogue an epilogue functor (`is_epilogue_v<Epilogue>`)
template <class Epilogue> Status check_epilogue(Epilogue const& epilogue, Conv2dArguments const& args) {
  static_assert(is_epilogue_v<Epilogue>, "an epilogue must be callable as float(float, OutputCoord const&) const");
  if constexpr (detail::has_check<Epilogue>::value) {
    static_assert(std::is_same_v<decltype(epilogue.check(args)), Status>,
                  "an epilogue's check(Conv2dArguments const&) const must return tileconv::Status");
    return epilogue.check(args);
  } else {
    (void)epilogue;
    (void)args;
    return Status::kSuccess;
  }
}

} // namespace tileconv
