#pragma once

// What both examples need around the library: a check macro for CUDA calls, device buffers that free
// themselves, and a median event timer. Examples may print and exit; the library never does.

#include <tileconv/tileconv.cuh>

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define EXAMPLE_CHECK_CUDA(call)                                                                                       \
  do {                                                                                                                 \
    cudaError_t const example_error = (call);                                                                          \
    if (example_error != cudaSuccess) {                                                                                \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(example_error));    \
      std::exit(EXIT_FAILURE);                                                                                         \
    }                                                                                                                  \
  } while (0)

#define EXAMPLE_CHECK_STATUS(call)                                                                                     \
  do {                                                                                                                 \
    tileconv::Status const example_status = (call);                                                                    \
    if (example_status != tileconv::Status::kSuccess) {                                                                \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, tileconv::to_string(example_status));  \
      std::exit(EXIT_FAILURE);                                                                                         \
    }                                                                                                                  \
  } while (0)

/// n elements of T in device memory, freed on scope exit.
template <class T> class DeviceBuffer {
public:
  explicit DeviceBuffer(std::int64_t n) { EXAMPLE_CHECK_CUDA(cudaMalloc(&data_, sizeof(T) * std::size_t(n))); }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(DeviceBuffer const&) = delete;
  DeviceBuffer& operator=(DeviceBuffer const&) = delete;
  T* get() const { return data_; }

private:
  T* data_ = nullptr;
};

/// Median milliseconds of `iterations` launches of `launch` on `stream`, each between its own pair of events,
/// after `warmup` untimed launches.
template <class Launch> float median_ms(Launch&& launch, cudaStream_t stream, int warmup, int iterations) {
  for (int i = 0; i < warmup; ++i) {
    launch();
  }
  cudaEvent_t start;
  cudaEvent_t stop;
  EXAMPLE_CHECK_CUDA(cudaEventCreate(&start));
  EXAMPLE_CHECK_CUDA(cudaEventCreate(&stop));
  std::vector<float> times(static_cast<std::size_t>(iterations));
  for (float& time : times) {
    EXAMPLE_CHECK_CUDA(cudaEventRecord(start, stream));
    launch();
    EXAMPLE_CHECK_CUDA(cudaEventRecord(stop, stream));
    EXAMPLE_CHECK_CUDA(cudaEventSynchronize(stop));
    EXAMPLE_CHECK_CUDA(cudaEventElapsedTime(&time, start, stop));
  }
  EXAMPLE_CHECK_CUDA(cudaEventDestroy(start));
  EXAMPLE_CHECK_CUDA(cudaEventDestroy(stop));
  std::nth_element(times.begin(), times.begin() + iterations / 2, times.end());
  return times[static_cast<std::size_t>(iterations / 2)];
}

/// Exits with a message when no GPU is present, so the examples fail clearly rather than on a first CUDA call.
inline tileconv::DeviceInfo require_device() {
  int count = 0;
  cudaError_t const error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess || count == 0) {
    std::fprintf(stderr, "no CUDA device: %s\n", error != cudaSuccess ? cudaGetErrorString(error) : "count is 0");
    std::exit(EXIT_FAILURE);
  }
  tileconv::DeviceInfo device;
  EXAMPLE_CHECK_STATUS(tileconv::DeviceInfo::query(0, &device));
  cudaDeviceProp properties;
  EXAMPLE_CHECK_CUDA(cudaGetDeviceProperties(&properties, 0));
  std::printf("device: %s, sm_%d, %d SMs\n", properties.name, device.compute_capability(), device.sm_count);
  return device;
}
