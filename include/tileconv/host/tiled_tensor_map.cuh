#pragma once

/// \file tiled_tensor_map.cuh
/// Tiled TMA descriptors of float tensors in global memory, encoded by the driver's cuTensorMapEncodeTiled (reached
/// through host/driver_entry_point.cuh): the plane-box gathers' (host/plane_box_tensor_map.cuh) and the tensor-core
/// direct kernel's (host/direct_conv2d.cuh).

#include <tileconv/host/driver_entry_point.cuh>
#include <tileconv/status.cuh>

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>

namespace tileconv {
namespace detail {

/// The driver's tiled-descriptor encoder, looked up once a process.
inline DriverEntryPoint<PFN_cuTensorMapEncodeTiled_v12000> const& tiled_map_encoder() {
  static auto const encoder = DriverEntryPoint<PFN_cuTensorMapEncodeTiled_v12000>::find("cuTensorMapEncodeTiled");
  return encoder;
}

/// Writes to `map` the tiled descriptor of the `rank`-dimensional float tensor at `tensor` (`dims` innermost first,
/// `strides` in bytes of the rank - 1 outer dimensions, boxes of `box` elements, every element of a box taken, no
/// interleave); reads outside the tensor fill zeros. False where the driver refuses it (the caller has the encoder).
inline bool encode_tiled_float_map(CUtensorMap* map, cuuint32_t rank, float const* tensor, cuuint64_t const* dims,
                                   cuuint64_t const* strides, cuuint32_t const* box, CUtensorMapSwizzle swizzle,
                                   CUtensorMapL2promotion promotion) {
  cuuint32_t const element_strides[5] = {1, 1, 1, 1, 1};
  return tiled_map_encoder().function(map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, rank, const_cast<float*>(tensor), dims,
                                      strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, promotion,
                                      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

} // namespace detail
} // namespace tileconv
