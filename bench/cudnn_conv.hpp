#pragma once

/// \file cudnn_conv.hpp
/// cuDNN's forward convolution (legacy API, as PyTorch calls it) as the benchmark's peer: descriptors for one
/// problem, layout and math mode, an algorithm found once by measurement, and one call per launch.

#include "error.hpp"

#include <tileconv/problem.cuh>

#include <cudnn.h>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace tileconv_bench {

/// Empty on success, else "`what`: CUDNN_STATUS_...".
inline std::string cudnn_check(cudnnStatus_t status, char const* what) {
  if (status == CUDNN_STATUS_SUCCESS) {
    return std::string();
  }
  return std::string(what) + ": " + cudnnGetErrorString(status);
}

/// Tensor layout of input, filter and output.
enum class Layout { kNchw, kNhwc };

/// What cuDNN may use for float32 tensors.
/// kTf32: CUDNN_DEFAULT_MATH, which on sm_80+ permits TF32 tensor-core kernels (cuDNN's cudnnMathType_t docs;
///        it is also what PyTorch sets for float32 with torch.backends.cudnn.allow_tf32 = True). cuDNN may still
///        choose an FMA kernel where that is faster.
/// kFp32: CUDNN_FMA_MATH, "restricted to only kernels that use FMA instructions": no TF32 rounding; also PyTorch's
///        setting for allow_tf32 = False. The chosen algorithm's reported math type is checked to be FMA as well.
enum class Math { kTf32, kFp32 };

inline char const* algo_name(cudnnConvolutionFwdAlgo_t algo) {
  switch (algo) {
  case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM:
    return "IMPLICIT_GEMM";
  case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM:
    return "IMPLICIT_PRECOMP_GEMM";
  case CUDNN_CONVOLUTION_FWD_ALGO_GEMM:
    return "GEMM";
  case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT:
    return "DIRECT";
  case CUDNN_CONVOLUTION_FWD_ALGO_FFT:
    return "FFT";
  case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING:
    return "FFT_TILING";
  case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD:
    return "WINOGRAD";
  case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED:
    return "WINOGRAD_NONFUSED";
  default:
    return "UNKNOWN";
  }
}

inline char const* math_name(cudnnMathType_t math) {
  switch (math) {
  case CUDNN_DEFAULT_MATH:
    return "DEFAULT_MATH";
  case CUDNN_TENSOR_OP_MATH:
    return "TENSOR_OP_MATH";
  case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION:
    return "TENSOR_OP_MATH_ALLOW_CONVERSION";
  case CUDNN_FMA_MATH:
    return "FMA_MATH";
  }
  return "UNKNOWN_MATH";
}

/// One conv2d (plus the bias, as PyTorch adds it: a second cuDNN call) through cuDNN.
/// Usage: init() -> candidates() -> use() once, outside any timing -> run() per launch. Not copyable: owns descriptors.
class CudnnConv {
public:
  CudnnConv() = default;
  CudnnConv(CudnnConv const&) = delete;
  CudnnConv& operator=(CudnnConv const&) = delete;
  ~CudnnConv() {
    if (x_ != nullptr) {
      cudnnDestroyTensorDescriptor(x_);
    }
    if (y_ != nullptr) {
      cudnnDestroyTensorDescriptor(y_);
    }
    if (bias_ != nullptr) {
      cudnnDestroyTensorDescriptor(bias_);
    }
    if (w_ != nullptr) {
      cudnnDestroyFilterDescriptor(w_);
    }
    if (conv_ != nullptr) {
      cudnnDestroyConvolutionDescriptor(conv_);
    }
  }

  /// Builds the descriptors; checks that cuDNN's output size is the problem's.
  std::string init(tileconv::Conv2dProblem const& p, Layout layout, Math math, bool bias) {
    math_ = math;
    cudnnTensorFormat_t const format = layout == Layout::kNchw ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC;
    std::string error = cudnn_check(cudnnCreateTensorDescriptor(&x_), "cudnnCreateTensorDescriptor");
    if (error.empty()) {
      error = cudnn_check(cudnnCreateTensorDescriptor(&y_), "cudnnCreateTensorDescriptor");
    }
    if (error.empty()) {
      error = cudnn_check(cudnnCreateFilterDescriptor(&w_), "cudnnCreateFilterDescriptor");
    }
    if (error.empty()) {
      error = cudnn_check(cudnnCreateConvolutionDescriptor(&conv_), "cudnnCreateConvolutionDescriptor");
    }
    if (error.empty()) {
      error =
          cudnn_check(cudnnSetTensor4dDescriptor(x_, format, CUDNN_DATA_FLOAT, p.batch, p.in_channels, p.in_h, p.in_w),
                      "cudnnSetTensor4dDescriptor(input)");
    }
    if (error.empty()) {
      error = cudnn_check(cudnnSetFilter4dDescriptor(w_, CUDNN_DATA_FLOAT, format, p.out_channels,
                                                     p.in_channels_per_group(), p.filter_h, p.filter_w),
                          "cudnnSetFilter4dDescriptor");
    }
    if (error.empty()) {
      error = cudnn_check(cudnnSetConvolution2dDescriptor(conv_, p.pad_h, p.pad_w, p.stride_h, p.stride_w, p.dilation_h,
                                                          p.dilation_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                          "cudnnSetConvolution2dDescriptor");
    }
    if (error.empty()) {
      error = cudnn_check(cudnnSetConvolutionGroupCount(conv_, p.groups), "cudnnSetConvolutionGroupCount");
    }
    if (error.empty()) {
      error = cudnn_check(cudnnSetConvolutionMathType(conv_, math == Math::kTf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
                          "cudnnSetConvolutionMathType");
    }
    int n = 0, k = 0, h = 0, w = 0;
    if (error.empty()) {
      error = cudnn_check(cudnnGetConvolution2dForwardOutputDim(conv_, x_, w_, &n, &k, &h, &w),
                          "cudnnGetConvolution2dForwardOutputDim");
    }
    if (error.empty() && (n != p.batch || k != p.out_channels || h != p.out_h() || w != p.out_w())) {
      error = "cuDNN's output size " + std::to_string(n) + "x" + std::to_string(k) + "x" + std::to_string(h) + "x" +
              std::to_string(w) + " differs from the problem's";
    }
    if (error.empty()) {
      error = cudnn_check(cudnnSetTensor4dDescriptor(y_, format, CUDNN_DATA_FLOAT, n, k, h, w),
                          "cudnnSetTensor4dDescriptor(output)");
    }
    if (error.empty() && bias) {
      // (1, K, 1, 1): the same bytes in NCHW and NHWC; cudnnAddTensor broadcasts it over the output.
      error = cudnn_check(cudnnCreateTensorDescriptor(&bias_), "cudnnCreateTensorDescriptor");
      if (error.empty()) {
        error = cudnn_check(cudnnSetTensor4dDescriptor(bias_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, k, 1, 1),
                            "cudnnSetTensor4dDescriptor(bias)");
      }
    }
    return error;
  }

  /// The largest workspace any forward algorithm asks for, capped at `cap` bytes (algorithms above the cap are
  /// left out of the search, as they would be when the memory is not there).
  std::size_t max_workspace(cudnnHandle_t handle, std::size_t cap) const {
    std::size_t most = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a) {
      std::size_t bytes = 0;
      if (cudnnGetConvolutionForwardWorkspaceSize(handle, x_, w_, conv_, y_, static_cast<cudnnConvolutionFwdAlgo_t>(a),
                                                  &bytes) == CUDNN_STATUS_SUCCESS &&
          bytes <= cap && bytes > most) {
        most = bytes;
      }
    }
    return most;
  }

  /// The algorithms that run here: cudnnFindConvolutionForwardAlgorithmEx (which overwrites y) on these buffers,
  /// keeping those that succeeded within `workspace_bytes` and, for Math::kFp32, report FMA math; fastest first by
  /// cuDNN's own timing. That timing is one launch per algorithm, the first of which also loads its kernels (CUDA
  /// loads modules lazily): taken as is, it picked 0.15 ms instead of 0.09 ms algorithms on the H100 and changed from
  /// run to run, so the caller times the candidates again (Bench::choose_algorithm) and calls use() on the fastest.
  std::string candidates(cudnnHandle_t handle, float const* x, float const* w, float* y, void* workspace,
                         std::size_t workspace_bytes, std::vector<cudnnConvolutionFwdAlgoPerf_t>* out) const {
    cudnnConvolutionFwdAlgoPerf_t results[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    TILECONV_BENCH_TRY(cudnn_check(cudnnFindConvolutionForwardAlgorithmEx(handle, x_, x, w_, w, conv_, y_, y,
                                                                          CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                                                          results, workspace, workspace_bytes),
                                   "cudnnFindConvolutionForwardAlgorithmEx"));
    out->clear();
    for (int i = 0; i < returned; ++i) {
      cudnnConvolutionFwdAlgoPerf_t const& r = results[i];
      if (r.status == CUDNN_STATUS_SUCCESS && r.memory <= workspace_bytes &&
          (math_ == Math::kTf32 || r.mathType == CUDNN_FMA_MATH)) {
        out->push_back(r);
      }
    }
    if (out->empty()) {
      return "no cuDNN algorithm runs this problem (" + std::to_string(returned) + " tried, workspace cap " +
             std::to_string(workspace_bytes >> 20) + " MiB)";
    }
    return std::string();
  }

  /// Makes run() use `choice`, one of candidates(), with the math type it was measured with (cuDNN's advice for
  /// Find results).
  std::string use(cudnnConvolutionFwdAlgoPerf_t const& choice) {
    algo_ = choice.algo;
    algo_math_ = choice.mathType;
    workspace_bytes_ = choice.memory;
    return cudnn_check(cudnnSetConvolutionMathType(conv_, choice.mathType), "cudnnSetConvolutionMathType");
  }

  /// One forward call on `handle`'s stream (set by the caller): y = conv(x, w) (+ bias).
  std::string run(cudnnHandle_t handle, float const* x, float const* w, float const* bias, float* y, void* workspace,
                  std::size_t workspace_bytes) const {
    float const one = 1.0f;
    float const zero = 0.0f;
    TILECONV_BENCH_TRY(cudnn_check(
        cudnnConvolutionForward(handle, &one, x_, x, w_, w, conv_, algo_, workspace, workspace_bytes, &zero, y_, y),
        "cudnnConvolutionForward"));
    if (bias_ != nullptr && bias != nullptr) {
      TILECONV_BENCH_TRY(cudnn_check(cudnnAddTensor(handle, &one, bias_, bias, &one, y_, y), "cudnnAddTensor"));
    }
    return std::string();
  }

  std::size_t workspace_bytes() const { return workspace_bytes_; }

  /// "IMPLICIT_PRECOMP_GEMM TENSOR_OP_MATH ws=12.0MiB": the algorithm use() was given.
  std::string description() const {
    char text[160];
    std::snprintf(text, sizeof(text), "%s %s ws=%.1fMiB", algo_name(algo_), math_name(algo_math_),
                  double(workspace_bytes_) / (1 << 20));
    return text;
  }

private:
  Math math_ = Math::kTf32;
  cudnnTensorDescriptor_t x_ = nullptr;
  cudnnTensorDescriptor_t y_ = nullptr;
  cudnnTensorDescriptor_t bias_ = nullptr;
  cudnnFilterDescriptor_t w_ = nullptr;
  cudnnConvolutionDescriptor_t conv_ = nullptr;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cudnnMathType_t algo_math_ = CUDNN_DEFAULT_MATH;
  std::size_t workspace_bytes_ = 0;
};

} // namespace tileconv_bench
