#pragma once

/// \file driver_entry_point.cuh
/// Driver API functions reached through the runtime's entry-point query, so that programs need not link libcuda:
/// the TMA descriptor encoders of host/im2col_tensor_map.cuh and host/plane_box_tensor_map.cuh.

#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

namespace tileconv {
namespace detail {

/// A driver function of type `Function` (a `PFN_..._v12000` of cudaTypedefs.h), or the runtime's error where it
/// could not be had.
template <class Function> struct DriverEntryPoint {
  Function function = nullptr;
  cudaError_t error = cudaSuccess;

  /// Looks `symbol` up at its CUDA 12.0 version. Callers keep the result in a function-local static: the query takes
  /// the driver's lock.
  static DriverEntryPoint find(char const* symbol) {
    DriverEntryPoint found;
    void* function = nullptr;
    cudaDriverEntryPointQueryResult query = cudaDriverEntryPointSymbolNotFound;
    found.error = cudaGetDriverEntryPointByVersion(symbol, &function, 12000, cudaEnableDefault, &query);
    if (found.error == cudaSuccess && query != cudaDriverEntryPointSuccess) {
      found.error = cudaErrorSymbolNotFound;
    }
    found.function = reinterpret_cast<Function>(function);
    return found;
  }
};

} // namespace detail
} // namespace tileconv
