#pragma once

/// \file device_info.cuh
/// What the launcher needs to know about a GPU, as a plain value: queried once per device, or built by hand
/// in tests so that grid and policy choice can be checked on a machine without a GPU.

#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <array>
#include <mutex>

namespace tileconv {

/// Limits and size of one GPU.
struct DeviceInfo {
  int device = 0;                       ///< CUDA device ordinal the values were read from
  int sm_count = 0;                     ///< streaming multiprocessors
  int cc_major = 0;                     ///< compute capability, major
  int cc_minor = 0;                     ///< compute capability, minor
  int smem_per_sm = 0;                  ///< shared memory per SM, bytes
  int smem_per_block_optin = 0;         ///< the most dynamic shared memory one block may opt in to, bytes
  int smem_reserved_per_block = 0;      ///< shared memory the runtime keeps per resident block, bytes
  int max_threads_per_sm = 0;           ///< resident threads per SM
  int max_blocks_per_sm = 0;            ///< resident blocks per SM
  int regs_per_sm = 0;                  ///< 32-bit registers per SM
  std::array<int, 3> max_grid{0, 0, 0}; ///< grid limits in x, y, z

  /// Compute capability as one number, e.g. 89 for sm_89.
  constexpr int compute_capability() const { return cc_major * 10 + cc_minor; }

  /// Reads the values of `device` from the CUDA runtime. On failure `*cuda_error` (if given) holds the cause.
  static Status query(int device, DeviceInfo* info, cudaError_t* cuda_error = nullptr) {
    if (info == nullptr) {
      return Status::kErrorNullPointer;
    }
    struct Field {
      cudaDeviceAttr attribute;
      int* value;
    };
    DeviceInfo result;
    result.device = device;
    Field const fields[] = {
        {cudaDevAttrMultiProcessorCount, &result.sm_count},
        {cudaDevAttrComputeCapabilityMajor, &result.cc_major},
        {cudaDevAttrComputeCapabilityMinor, &result.cc_minor},
        {cudaDevAttrMaxSharedMemoryPerMultiprocessor, &result.smem_per_sm},
        {cudaDevAttrMaxSharedMemoryPerBlockOptin, &result.smem_per_block_optin},
        {cudaDevAttrReservedSharedMemoryPerBlock, &result.smem_reserved_per_block},
        {cudaDevAttrMaxThreadsPerMultiProcessor, &result.max_threads_per_sm},
        {cudaDevAttrMaxBlocksPerMultiprocessor, &result.max_blocks_per_sm},
        {cudaDevAttrMaxRegistersPerMultiprocessor, &result.regs_per_sm},
        {cudaDevAttrMaxGridDimX, &result.max_grid[0]},
        {cudaDevAttrMaxGridDimY, &result.max_grid[1]},
        {cudaDevAttrMaxGridDimZ, &result.max_grid[2]},
    };
    for (Field const& field : fields) {
      cudaError_t const error = cudaDeviceGetAttribute(field.value, field.attribute, device);
      if (error != cudaSuccess) {
        return detail::own_cuda_call(error, cuda_error);
      }
    }
    *info = result;
    return Status::kSuccess;
  }
};

namespace detail {

/// The `DeviceInfo` of the current device, read from the runtime once per device and process.
/// Thread-safe; the lock is held only around the table, never across a launch.
inline Status current_device_info(DeviceInfo* info, cudaError_t* cuda_error) {
  constexpr int kMaxDevices = 64;
  static std::mutex mutex;
  static std::array<DeviceInfo, kMaxDevices> table;
  static std::array<bool, kMaxDevices> known{};

  int device = 0;
  cudaError_t const error = cudaGetDevice(&device);
  if (error != cudaSuccess) {
    return own_cuda_call(error, cuda_error);
  }
  if (device < 0 || device >= kMaxDevices) {
    return DeviceInfo::query(device, info, cuda_error); // beyond the table: uncached, still correct
  }
  std::lock_guard<std::mutex> lock(mutex);
  if (!known[device]) {
    Status const status = DeviceInfo::query(device, &table[device], cuda_error);
    if (status != Status::kSuccess) {
      return status;
    }
    known[device] = true;
  }
  *info = table[device];
  return Status::kSuccess;
}

} // namespace detail
} // namespace tileconv
