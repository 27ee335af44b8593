#pragma once

/// \file error.hpp
/// How the benchmark passes errors around: functions return a std::string, empty on success, else what failed.
/// The benchmark turns a non-empty one into state.SkipWithError, so a failing contender never ends the run.

#include <cuda_runtime_api.h>

#include <string>

/// Returns the error string of `expr` (a call returning std::string, empty on success) from the enclosing function.
#define TILECONV_BENCH_TRY(expr)                                                                                       \
  do {                                                                                                                 \
    std::string tileconv_bench_error_ = (expr);                                                                        \
    if (!tileconv_bench_error_.empty()) {                                                                              \
      return tileconv_bench_error_;                                                                                    \
    }                                                                                                                  \
  } while (0)

namespace tileconv_bench {

/// Empty on success, else "`what`: cudaErrorName (description)".
inline std::string cuda_check(cudaError_t error, char const* what) {
  if (error == cudaSuccess) {
    return std::string();
  }
  return std::string(what) + ": " + cudaGetErrorName(error) + " (" + cudaGetErrorString(error) + ")";
}

} // namespace tileconv_bench
