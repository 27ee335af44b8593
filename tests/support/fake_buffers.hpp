// Fake device buffers for the host tests of argument checks: addresses that are only compared, never dereferenced.
#pragma once

#include <tileconv/problem.cuh>

#include <cstdint>

namespace tileconv {
namespace test {

/// A fake device address `element` floats from an arbitrary base. Computed on integers, so that offsets before a
/// buffer stay free of undefined behavior.
inline float* fake_address(std::int64_t element) {
  constexpr std::uintptr_t kBase = std::uintptr_t{1} << 40;
  return reinterpret_cast<float*>(kBase + static_cast<std::uintptr_t>(element * std::int64_t{sizeof(float)}));
}

/// Floats between the fake buffers of `fake_arguments`: further apart than any problem of the host tests is large,
/// so only the overlaps a test builds exist.
inline constexpr std::int64_t kFakeBufferSpacing = std::int64_t{1} << 34;

/// `problem` with input, filter, bias and output at fake addresses kFakeBufferSpacing apart, no workspace.
inline Conv2dArguments fake_arguments(Conv2dProblem const& problem) {
  Conv2dArguments args;
  args.problem = problem;
  args.input = fake_address(0);
  args.filter = fake_address(kFakeBufferSpacing);
  args.bias = fake_address(2 * kFakeBufferSpacing);
  args.output = fake_address(3 * kFakeBufferSpacing);
  return args;
}

} // namespace test
} // namespace tileconv
