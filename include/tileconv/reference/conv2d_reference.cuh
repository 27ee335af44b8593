#pragma once

/// \file conv2d_reference.cuh
/// Direct convolution in float64, independent of the implicit-GEMM path: the ground truth of the tests and the
/// demo. One element function serves the host loop and the device kernel.

#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tileconv {
namespace reference {

/// Output element (image, oc, p, q) of `problem`, accumulated in double straight from the definition.
template <class Input>
TILECONV_HOST_DEVICE double conv2d_element(Conv2dProblem const& problem, Input const* input, float const* filter,
                                           float const* bias, int image, int oc, int p, int q) {
  int const channels = problem.in_channels_per_group();
  int const group = oc / problem.out_channels_per_group();
  double sum = bias != nullptr ? double(bias[oc]) : 0.0;
  for (int c = 0; c < channels; ++c) {
    std::int64_t const plane = (std::int64_t{image} * problem.in_channels + group * channels + c) * problem.in_h;
    for (int r = 0; r < problem.filter_h; ++r) {
      int const h = p * problem.stride_h - problem.pad_h + r * problem.dilation_h;
      if (h < 0 || h >= problem.in_h) {
        continue;
      }
      for (int s = 0; s < problem.filter_w; ++s) {
        int const w = q * problem.stride_w - problem.pad_w + s * problem.dilation_w;
        if (w < 0 || w >= problem.in_w) {
          continue;
        }
        double const x = double(input[(plane + h) * problem.in_w + w]);
        double const f =
            double(filter[((std::int64_t{oc} * channels + c) * problem.filter_h + r) * problem.filter_w + s]);
        sum += x * f;
      }
    }
  }
  return sum;
}

/// Host reference into `output` (problem.output_elements() doubles). For small problems: O(outputs * C * R * S).
inline void conv2d_host(Conv2dProblem const& problem, float const* input, float const* filter, float const* bias,
                        double* output) {
  int const out_h = problem.out_h();
  int const out_w = problem.out_w();
  std::int64_t index = 0;
  for (int n = 0; n < problem.batch; ++n) {
    for (int k = 0; k < problem.out_channels; ++k) {
      for (int p = 0; p < out_h; ++p) {
        for (int q = 0; q < out_w; ++q) {
          output[index++] = conv2d_element(problem, input, filter, bias, n, k, p, q);
        }
      }
    }
  }
}

namespace detail {

/// A template, like every kernel in these headers, so that including them in several files links.
template <class Output>
__global__ void conv2d_device_kernel(Conv2dProblem const problem, float const* input, float const* filter,
                                     float const* bias, Output* output) {
  std::int64_t const total = problem.output_elements();
  int const out_h = problem.out_h();
  int const out_w = problem.out_w();
  for (std::int64_t index = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; index < total;
       index += std::int64_t{gridDim.x} * blockDim.x) {
    int const q = static_cast<int>(index % out_w);
    int const p = static_cast<int>(index / out_w % out_h);
    int const k = static_cast<int>(index / (std::int64_t{out_w} * out_h) % problem.out_channels);
    int const n = static_cast<int>(index / (std::int64_t{out_w} * out_h * problem.out_channels));
    output[index] = Output(conv2d_element(problem, input, filter, bias, n, k, p, q));
  }
}

} // namespace detail

/// Device reference into `output` (problem.output_elements() doubles), launched on `stream`. For large problems.
inline Status conv2d_device(Conv2dProblem const& problem, float const* input, float const* filter, float const* bias,
                            double* output, cudaStream_t stream = nullptr, cudaError_t* cuda_error = nullptr) {
  Status const status = problem.validate();
  if (status != Status::kSuccess) {
    return status;
  }
  if (input == nullptr || filter == nullptr || output == nullptr) {
    return Status::kErrorNullPointer;
  }
  constexpr int kThreads = 256;
  constexpr std::int64_t kMaxBlocks = 1 << 20; // grid-stride loop beyond this
  std::int64_t const blocks = (problem.output_elements() + kThreads - 1) / kThreads;
  detail::
      conv2d_device_kernel<<<static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks), kThreads, 0, stream>>>(
          problem, input, filter, bias, output);
  return tileconv::detail::status_from_cuda(cudaGetLastError(), cuda_error);
}

} // namespace reference
} // namespace tileconv
