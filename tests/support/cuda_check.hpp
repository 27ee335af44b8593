// Assertions for CUDA runtime calls and tileconv statuses: every call a GPU test makes goes through one of these,
// so that a failure names the call and the runtime's error instead of surfacing later as wrong numbers.
#pragma once

#include "catch.hpp"
#include "catch_status.hpp"

#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

/// REQUIREs that a CUDA runtime call returns cudaSuccess; the message names the call and the error.
#define TILECONV_REQUIRE_CUDA(call)                                                                                    \
  do {                                                                                                                 \
    cudaError_t const tileconv_cuda_error_ = (call);                                                                   \
    INFO(#call << " returned " << cudaGetErrorName(tileconv_cuda_error_) << ": "                                       \
               << cudaGetErrorString(tileconv_cuda_error_));                                                           \
    REQUIRE(tileconv_cuda_error_ == cudaSuccess);                                                                      \
  } while (0)

/// CHECKs a CUDA runtime call where the test must go on (destructors: a REQUIRE there would throw).
#define TILECONV_CHECK_CUDA(call)                                                                                      \
  do {                                                                                                                 \
    cudaError_t const tileconv_cuda_error_ = (call);                                                                   \
    INFO(#call << " returned " << cudaGetErrorName(tileconv_cuda_error_) << ": "                                       \
               << cudaGetErrorString(tileconv_cuda_error_));                                                           \
    CHECK(tileconv_cuda_error_ == cudaSuccess);                                                                        \
  } while (0)

/// REQUIREs that a tileconv call returns Status::kSuccess; the message names the call and the status.
#define TILECONV_REQUIRE_SUCCESS(call)                                                                                 \
  do {                                                                                                                 \
    ::tileconv::Status const tileconv_status_ = (call);                                                                \
    INFO(#call << " returned " << ::tileconv::to_string(tileconv_status_));                                            \
    REQUIRE(tileconv_status_ == ::tileconv::Status::kSuccess);                                                         \
  } while (0)
