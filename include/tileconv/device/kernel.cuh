#pragma once

/// \file kernel.cuh
/// The __global__ entry: hands the dynamic shared memory and the parameters to a device functor.

#include <type_traits>

namespace tileconv {
namespace detail {

/// Whether `Functor` needs an sm_90a target: its `kNeedsSm90a`, false for functors without one.
template <class Functor, class = void> struct NeedsSm90a : std::false_type {};
template <class Functor>
struct NeedsSm90a<Functor, std::void_t<decltype(Functor::kNeedsSm90a)>> : std::bool_constant<Functor::kNeedsSm90a> {};

// A build that says it targets sm_90a (TILECONV_SM90A, see docs/launcher.md) must not compile plain sm_90 code, in
// which the wgmma kernels would be empty: the host launches them on any sm_90 device of such a build.
#if defined(TILECONV_SM90A) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ == 900 && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "TILECONV_SM90A is defined, but this device pass is sm_90, not sm_90a: build for 90a, or leave it undefined"
#endif

/// The blocks per SM `Functor`'s registers must allow: its `kMinBlocksPerSm`, else 0, which leaves the count to ptxas
/// (a bound of 1 is not the same: ptxas then spends registers freely).
template <class Functor, class = void> struct MinBlocksPerSm : std::integral_constant<int, 0> {};
template <class Functor>
struct MinBlocksPerSm<Functor, std::void_t<decltype(Functor::kMinBlocksPerSm)>>
    : std::integral_constant<int, Functor::kMinBlocksPerSm> {};

/// @tparam Functor a device functor with `kThreads` and `operator()(Params const&, unsigned char* shared_bytes)`;
///                 the functor lays out its own shared memory, whose size may depend on the problem
/// The parameters are `__grid_constant__`: a functor may take their address (a TMA descriptor among them must be
/// read by the copy engine where it lies), and no thread gets a local copy of them.
template <class Functor, class Params>
__global__ void __launch_bounds__(Functor::kThreads, MinBlocksPerSm<Functor>::value)
    conv2d_kernel(__grid_constant__ Params const params) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  // The mainloops need cp.async and TF32 mma.sync (sm_80), or wgmma (sm_90a); the host launches a kernel only on
  // devices it can run on, so the other targets compile to an empty body instead of failing the build of a
  // multi-architecture binary.
#if defined(__CUDA_ARCH__)
  if constexpr (NeedsSm90a<Functor>::value) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    Functor{}(params, shared_bytes);
#endif
  } else {
#if __CUDA_ARCH__ >= 800
    Functor{}(params, shared_bytes);
#endif
  }
#endif
}

} // namespace detail
} // namespace tileconv
