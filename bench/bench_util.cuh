#pragma once

/// \file bench_util.cuh
/// Small device helpers of the benchmark: an owning device buffer, NCHW <-> NHWC copies, and the
/// stream gate that keeps launch overhead out of the CUDA-event timings.

#include "error.hpp"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace tileconv_bench {

/// Bytes rounded up to 256, the alignment cudaMalloc gives, so that sub-buffers carved from one allocation keep it.
constexpr std::size_t align_up(std::size_t bytes) { return (bytes + 255) / 256 * 256; }

/// Device memory owned by one object; movable, not copyable.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer const&) = delete;
  DeviceBuffer& operator=(DeviceBuffer const&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { reset(); }

  /// Frees what is held, then allocates `bytes` (nothing for 0). Empty string on success.
  std::string allocate(std::size_t bytes, char const* what) {
    reset();
    if (bytes == 0) {
      return std::string();
    }
    void* data = nullptr;
    cudaError_t const error = cudaMalloc(&data, bytes);
    if (error != cudaSuccess) {
      cudaGetLastError(); // an allocation failure is not sticky; clear it so later checks see their own errors
      return cuda_check(error, what) + ", " + std::to_string(bytes >> 20) + " MiB asked";
    }
    data_ = data;
    bytes_ = bytes;
    return std::string();
  }

  void reset() {
    if (data_ != nullptr) {
      cudaFree(data_);
    }
    data_ = nullptr;
    bytes_ = 0;
  }

  template <class T = void> T* get() const { return static_cast<T*>(data_); }
  template <class T> T* at_byte(std::size_t offset) const {
    return reinterpret_cast<T*>(static_cast<unsigned char*>(data_) + offset);
  }
  std::size_t bytes() const { return bytes_; }

private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

namespace detail {

// (images, channels, pixels) -> (images, pixels, channels); one thread per destination element, so writes coalesce.
__global__ void nchw_to_nhwc_kernel(float const* src, float* dst, std::int64_t images, std::int64_t channels,
                                    std::int64_t pixels) {
  std::int64_t const n = images * channels * pixels;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t const c = i % channels;
    std::int64_t const p = (i / channels) % pixels;
    std::int64_t const image = i / (channels * pixels);
    dst[i] = src[(image * channels + c) * pixels + p];
  }
}

// (images, pixels, channels) -> (images, channels, pixels)
__global__ void nhwc_to_nchw_kernel(float const* src, float* dst, std::int64_t images, std::int64_t channels,
                                    std::int64_t pixels) {
  std::int64_t const n = images * channels * pixels;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t const p = i % pixels;
    std::int64_t const c = (i / pixels) % channels;
    std::int64_t const image = i / (channels * pixels);
    dst[i] = src[(image * pixels + p) * channels + c];
  }
}

inline unsigned blocks_for(std::int64_t n) {
  std::int64_t const blocks = (n + 255) / 256;
  return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}

/// Spins until the host writes a non-zero `release`, or `timeout_ns` passes (then sets `*timed_out`).
__global__ void hold_stream_kernel(int const volatile* release, int volatile* timed_out,
                                   unsigned long long timeout_ns) {
  unsigned long long start;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  while (*release == 0) {
    unsigned long long now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    if (now - start > timeout_ns) {
      *timed_out = 1;
      return;
    }
  }
}

} // namespace detail

/// Copies an NCHW tensor (or a KCRS filter: images = K, channels = C / groups, pixels = R * S) to NHWC (KRSC).
inline std::string nchw_to_nhwc(float const* src, float* dst, std::int64_t images, std::int64_t channels,
                                std::int64_t pixels, cudaStream_t stream) {
  detail::nchw_to_nhwc_kernel<<<detail::blocks_for(images * channels * pixels), 256, 0, stream>>>(src, dst, images,
                                                                                                  channels, pixels);
  return cuda_check(cudaGetLastError(), "nchw_to_nhwc launch");
}

/// Copies an NHWC tensor to NCHW.
inline std::string nhwc_to_nchw(float const* src, float* dst, std::int64_t images, std::int64_t channels,
                                std::int64_t pixels, cudaStream_t stream) {
  detail::nhwc_to_nchw_kernel<<<detail::blocks_for(images * channels * pixels), 256, 0, stream>>>(src, dst, images,
                                                                                                  channels, pixels);
  return cuda_check(cudaGetLastError(), "nhwc_to_nchw launch");
}

/// Holds a stream until the host has queued a whole timed launch, as nvbench's blocking kernel does: the GPU then
/// runs the start event, the work and the stop event back to back, so the events time the GPU work alone and not
/// the host's launch overhead (cuDNN spends microseconds of host time per call, which would otherwise show up as
/// idle GPU time between the events on the microsecond-scale shapes).
class StreamGate {
public:
  StreamGate() = default;
  StreamGate(StreamGate const&) = delete;
  StreamGate& operator=(StreamGate const&) = delete;
  ~StreamGate() {
    if (flags_ != nullptr) {
      cudaFreeHost(const_cast<int*>(flags_));
    }
  }

  std::string init() {
    void* flags = nullptr;
    TILECONV_BENCH_TRY(cuda_check(cudaHostAlloc(&flags, 2 * sizeof(int), cudaHostAllocMapped), "cudaHostAlloc"));
    flags_ = static_cast<int volatile*>(flags);
    flags_[0] = 0;
    flags_[1] = 0;
    void* device_flags = nullptr;
    TILECONV_BENCH_TRY(cuda_check(cudaHostGetDevicePointer(&device_flags, flags, 0), "cudaHostGetDevicePointer"));
    device_flags_ = static_cast<int*>(device_flags);
    return std::string();
  }

  /// Queues the spinning kernel on `stream`; everything queued after it waits for `open()`.
  std::string close(cudaStream_t stream) {
    flags_[0] = 0;
    detail::hold_stream_kernel<<<1, 1, 0, stream>>>(device_flags_, device_flags_ + 1, kTimeoutNs);
    return cuda_check(cudaGetLastError(), "hold_stream_kernel launch");
  }
  /// Lets the stream run on.
  void open() { flags_[0] = 1; }

  /// Whether a hold has ended by its timeout since the last call (the launch blocked the host, so the gate cannot
  /// work for it); clears the flag.
  bool timed_out() {
    bool const result = flags_[1] != 0;
    flags_[1] = 0;
    return result;
  }

private:
  // Queuing one launch takes microseconds; a hold that lasts this long means the host was blocked in the launch.
  static constexpr unsigned long long kTimeoutNs = 50'000'000;
  int volatile* flags_ = nullptr; // [0]: release, [1]: timed out; pinned, mapped host memory
  int* device_flags_ = nullptr;
};

} // namespace tileconv_bench
