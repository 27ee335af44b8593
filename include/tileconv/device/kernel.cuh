#pragma once

/// \file kernel.cuh
/// The __global__ entry: hands the dynamic shared memory and the parameters to a device functor.

namespace tileconv {
namespace detail {

/// @tparam Functor a device functor with `kThreads` and `operator()(Params const&, unsigned char* shared_bytes)`;
///                 the functor lays out its own shared memory, whose size may depend on the problem
template <class Functor, class Params>
__global__ void __launch_bounds__(Functor::kThreads) conv2d_kernel(Params const params) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  // The mainloop needs cp.async and TF32 mma.sync (sm_80); the host refuses older devices, so older targets
  // compile to an empty body instead of failing the build of a multi-architecture binary.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  Functor{}(params, shared_bytes);
#endif
}

} // namespace detail
} // namespace tileconv
