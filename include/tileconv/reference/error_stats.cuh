#pragma once

/// \file error_stats.cuh
/// How far a result is from a reference, reduced on the host or, for outputs of gigabytes, on the GPU with CUB.

#include <tileconv/config.cuh>
#include <tileconv/status.cuh>

#include <cub/device/device_reduce.cuh>
#include <cuda/std/cmath>
#include <thrust/iterator/counting_iterator.h>

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace tileconv {
namespace reference {

/// Norms of (actual - expected) and of expected over a tensor. Non-finite actual values are counted, never
/// folded into the norms, so a NaN cannot hide and cannot pass.
struct ErrorStats {
  double sum_sq_error = 0.0;
  double sum_sq_expected = 0.0;
  double max_abs_error = 0.0;
  double max_abs_expected = 0.0;
  unsigned long long non_finite = 0;
  unsigned long long count = 0;

  /// The statistics of one element.
  TILECONV_HOST_DEVICE static ErrorStats of(double actual, double expected) {
    ErrorStats stats;
    stats.count = 1;
    stats.sum_sq_expected = expected * expected;
    stats.max_abs_expected = cuda::std::fabs(expected);
    if (!cuda::std::isfinite(actual)) {
      stats.non_finite = 1;
      return stats;
    }
    double const error = actual - expected;
    stats.sum_sq_error = error * error;
    stats.max_abs_error = cuda::std::fabs(error);
    return stats;
  }

  /// Statistics of the union of two disjoint sets of elements.
  TILECONV_HOST_DEVICE friend ErrorStats combine(ErrorStats const& a, ErrorStats const& b) {
    ErrorStats stats;
    stats.sum_sq_error = a.sum_sq_error + b.sum_sq_error;
    stats.sum_sq_expected = a.sum_sq_expected + b.sum_sq_expected;
    stats.max_abs_error = a.max_abs_error > b.max_abs_error ? a.max_abs_error : b.max_abs_error;
    stats.max_abs_expected = a.max_abs_expected > b.max_abs_expected ? a.max_abs_expected : b.max_abs_expected;
    stats.non_finite = a.non_finite + b.non_finite;
    stats.count = a.count + b.count;
    return stats;
  }

  /// ||actual - expected||_2 / ||expected||_2; infinite when any actual value is not finite.
  double relative_l2() const {
    if (non_finite != 0) {
      return INFINITY;
    }
    return sum_sq_expected > 0.0 ? std::sqrt(sum_sq_error / sum_sq_expected) : std::sqrt(sum_sq_error);
  }

  /// max |actual - expected| / max |expected|, the worst element against the tensor's scale.
  double relative_max() const {
    if (non_finite != 0) {
      return INFINITY;
    }
    return max_abs_expected > 0.0 ? max_abs_error / max_abs_expected : max_abs_error;
  }
};

/// Host reduction over n elements.
template <class Actual, class Expected>
ErrorStats error_stats_host(Actual const* actual, Expected const* expected, std::int64_t n) {
  ErrorStats stats;
  for (std::int64_t i = 0; i < n; ++i) {
    stats = combine(stats, ErrorStats::of(double(actual[i]), double(expected[i])));
  }
  return stats;
}

namespace detail {

template <class Actual, class Expected> struct ElementError {
  Actual const* actual;
  Expected const* expected;
  __device__ ErrorStats operator()(std::int64_t i) const {
    return ErrorStats::of(double(actual[i]), double(expected[i]));
  }
};

struct CombineErrorStats {
  __device__ ErrorStats operator()(ErrorStats const& a, ErrorStats const& b) const { return combine(a, b); }
};

} // namespace detail

/// Device reduction over n elements with `cub::DeviceReduce::TransformReduce`, CUB's two-phase interface: with
/// `temp_storage == nullptr` it only sets `temp_storage_bytes`; otherwise it reduces into `*result` (device
/// memory, one ErrorStats) on `stream`.
template <class Actual, class Expected>
Status error_stats_device(void* temp_storage, std::size_t& temp_storage_bytes, Actual const* actual,
                          Expected const* expected, std::int64_t n, ErrorStats* result, cudaStream_t stream = nullptr,
                          cudaError_t* cuda_error = nullptr) {
  cudaError_t const error = cub::DeviceReduce::TransformReduce(
      temp_storage, temp_storage_bytes, thrust::counting_iterator<std::int64_t>(0), result, n,
      detail::CombineErrorStats{}, detail::ElementError<Actual, Expected>{actual, expected}, ErrorStats{}, stream);
  return tileconv::detail::status_from_cuda(error, cuda_error);
}

} // namespace reference
} // namespace tileconv
