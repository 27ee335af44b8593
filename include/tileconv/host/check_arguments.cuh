#pragma once

/// \file check_arguments.cuh
/// The checks every conv2d launcher runs on one call's problem and buffers before it plans or launches.

#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cstddef>
#include <cstdint>

namespace tileconv {
namespace detail {

/// Whether the byte ranges [a, a + a_bytes) and [b, b + b_bytes) share a byte; empty ranges share none.
inline bool byte_ranges_overlap(void const* a, std::int64_t a_bytes, void const* b, std::int64_t b_bytes) {
  if (a_bytes <= 0 || b_bytes <= 0) {
    return false;
  }
  auto const a_begin = reinterpret_cast<std::uintptr_t>(a);
  auto const b_begin = reinterpret_cast<std::uintptr_t>(b);
  return a_begin < b_begin + static_cast<std::uintptr_t>(b_bytes) &&
         b_begin < a_begin + static_cast<std::uintptr_t>(a_bytes);
}

/// Whether the float ranges [a, a + a_elements) and [b, b + b_elements) share a byte.
inline bool overlaps(void const* a, std::int64_t a_elements, void const* b, std::int64_t b_elements) {
  constexpr std::int64_t kFloat = sizeof(float);
  return byte_ranges_overlap(a, a_elements * kFloat, b, b_elements * kFloat);
}

/// Whether `pointer` is not aligned to a float.
inline bool misaligned(void const* pointer) { return reinterpret_cast<std::uintptr_t>(pointer) % alignof(float) != 0; }

} // namespace detail

/// Checks the problem and the buffers of one call: sizes, null and misaligned pointers, and an output that
/// overlaps an operand (the kernel reads operands while other blocks write the output). Makes no CUDA call.
inline Status check_arguments(Conv2dArguments const& args) {
  Status const status = args.problem.validate();
  if (status != Status::kSuccess) {
    return status;
  }
  if (args.input == nullptr || args.filter == nullptr || args.output == nullptr) {
    return Status::kErrorNullPointer;
  }
  if (detail::misaligned(args.input) || detail::misaligned(args.filter) || detail::misaligned(args.output) ||
      (args.bias != nullptr && detail::misaligned(args.bias))) {
    return Status::kErrorMisalignedPointer;
  }
  Conv2dProblem const& problem = args.problem;
  std::int64_t const output_elements = problem.output_elements();
  if (detail::overlaps(args.output, output_elements, args.input, problem.input_elements()) ||
      detail::overlaps(args.output, output_elements, args.filter, problem.filter_elements()) ||
      (args.bias != nullptr && detail::overlaps(args.output, output_elements, args.bias, problem.out_channels))) {
    return Status::kErrorOverlappingBuffers;
  }
  return Status::kSuccess;
}

/// Checks the workspace of a call that needs `required_bytes` of it (0: none needed, nothing checked): present,
/// large enough, aligned, and disjoint from every tensor of the call.
inline Status check_workspace(Conv2dArguments const& args, std::size_t required_bytes) {
  if (required_bytes == 0) {
    return Status::kSuccess;
  }
  if (args.workspace == nullptr || args.workspace_bytes < required_bytes) {
    return Status::kErrorWorkspaceTooSmall;
  }
  if (detail::misaligned(args.workspace)) {
    return Status::kErrorMisalignedPointer;
  }
  Conv2dProblem const& problem = args.problem;
  auto const workspace_floats = static_cast<std::int64_t>(required_bytes / sizeof(float));
  if (detail::overlaps(args.workspace, workspace_floats, args.input, problem.input_elements()) ||
      detail::overlaps(args.workspace, workspace_floats, args.filter, problem.filter_elements()) ||
      detail::overlaps(args.workspace, workspace_floats, args.output, problem.output_elements()) ||
      (args.bias != nullptr && detail::overlaps(args.workspace, workspace_floats, args.bias, problem.out_channels))) {
    return Status::kErrorOverlappingBuffers;
  }
  return Status::kSuccess;
}

} // namespace tileconv
