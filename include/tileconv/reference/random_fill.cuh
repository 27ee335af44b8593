#pragma once

/// \file random_fill.cuh
/// Reproducible uniform random tensors generated on the device, so that gigabyte inputs cost no host time.

#include <tileconv/config.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tileconv {
namespace reference {

/// A uniform value in [-1, 1) from (seed, index) alone: SplitMix64's finalizer, so every element is independent
/// of the launch shape and the same on the host and the device.
TILECONV_HOST_DEVICE inline float uniform_at(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + index + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return float(z >> 40) * (2.0f / 16777216.0f) - 1.0f; // 24 random bits
}

namespace detail {

/// A template, like every kernel in these headers, so that including them in several files links.
template <class T> __global__ void random_fill_kernel(T* data, std::int64_t n, std::uint64_t seed) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    data[i] = T(uniform_at(seed, static_cast<std::uint64_t>(i)));
  }
}

} // namespace detail

/// Fills n floats with uniform_at(seed, i) on `stream`.
inline Status random_fill_device(float* data, std::int64_t n, std::uint64_t seed, cudaStream_t stream = nullptr,
                                 cudaError_t* cuda_error = nullptr) {
  constexpr int kThreads = 256;
  constexpr std::int64_t kMaxBlocks = 1 << 16;
  std::int64_t const blocks = (n + kThreads - 1) / kThreads;
  detail::random_fill_kernel<float>
      <<<static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks), kThreads, 0, stream>>>(data, n, seed);
  return tileconv::detail::status_from_cuda(cudaGetLastError(), cuda_error);
}

/// Fills n floats with uniform_at(seed, i) on the host: the same values as random_fill_device.
inline void random_fill_host(float* data, std::int64_t n, std::uint64_t seed) {
  for (std::int64_t i = 0; i < n; ++i) {
    data[i] = uniform_at(seed, static_cast<std::uint64_t>(i));
  }
}

} // namespace reference
} // namespace tileconv
