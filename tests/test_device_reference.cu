// The test oracle itself: the device float64 reference equals the host one, the CUB error reduction equals the host
// loop, and the pass criterion and the output guards do fail when they should (a planted NaN, a wrong element, an
// out-of-bounds store), so that a passing conv2d test means something.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/gpu_harness.hpp"
#include "support/shapes.hpp"

#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/error_stats.cuh>
#include <tileconv/reference/random_fill.cuh>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace tileconv {
namespace test {
namespace {

/// `expected` plus relative noise of size `noise` (uniform), as a float "result".
std::vector<float> noisy_copy(std::vector<double> const& expected, double noise, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::vector<float> actual(expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    actual[i] = static_cast<float>(expected[i] * (1.0 + noise * unit(rng)));
  }
  return actual;
}

std::vector<double> random_doubles(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> value(-3.0, 3.0);
  std::vector<double> values(n);
  for (double& v : values) {
    v = value(rng);
  }
  return values;
}

template <class T> DeviceBuffer<T> to_device(std::vector<T> const& host) {
  DeviceBuffer<T> device(static_cast<std::int64_t>(host.size()));
  TILECONV_REQUIRE_CUDA(cudaMemcpy(device.data(), host.data(), device.bytes(), cudaMemcpyHostToDevice));
  return device;
}

} // namespace

TEST_CASE("the device reference equals the host reference", "[gpu][reference]") {
  // Same double arithmetic in the same order; only the device's fused multiply-adds round differently, so the two
  // agree to about 1e-15 of the tensor's scale. 1e-12 leaves room and still catches any indexing difference.
  for (std::size_t index : shape_indices(ShapeKind::kEdge)) {
    ShapeCase const& shape = shapes()[index];
    Conv2dProblem const& problem = shape.problem;
    INFO(describe(shape));
    std::vector<float> input(static_cast<std::size_t>(problem.input_elements()));
    std::vector<float> filter(static_cast<std::size_t>(problem.filter_elements()));
    std::vector<float> bias(static_cast<std::size_t>(problem.out_channels));
    reference::random_fill_host(input.data(), problem.input_elements(), 300 + index);
    reference::random_fill_host(filter.data(), problem.filter_elements(), 301 + index);
    reference::random_fill_host(bias.data(), problem.out_channels, 302 + index);
    float const* host_bias = shape.bias ? bias.data() : nullptr;
    std::vector<double> host(static_cast<std::size_t>(problem.output_elements()));
    reference::conv2d_host(problem, input.data(), filter.data(), host_bias, host.data());

    DeviceBuffer<float> const d_input = to_device(input);
    DeviceBuffer<float> const d_filter = to_device(filter);
    DeviceBuffer<float> const d_bias = to_device(bias);
    DeviceBuffer<double> d_output(problem.output_elements());
    TILECONV_REQUIRE_SUCCESS(reference::conv2d_device(problem, d_input.data(), d_filter.data(),
                                                      shape.bias ? d_bias.data() : nullptr, d_output.data()));
    TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
    std::vector<double> const device = d_output.to_host();

    reference::ErrorStats const stats =
        reference::error_stats_host(device.data(), host.data(), problem.output_elements());
    INFO(describe(stats));
    CHECK(stats.non_finite == 0);
    CHECK(stats.relative_max() <= 1e-12);
    CHECK(stats.relative_l2() <= 1e-12);
  }
}

TEST_CASE("random_fill_device and random_fill_host give the same values", "[gpu][reference]") {
  constexpr std::int64_t n = 100003;
  DeviceBuffer<float> device(n);
  TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(device.data(), n, 42));
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
  std::vector<float> host(static_cast<std::size_t>(n));
  reference::random_fill_host(host.data(), n, 42);
  CHECK(device.to_host() == host);
  std::vector<float> other(static_cast<std::size_t>(n));
  reference::random_fill_host(other.data(), n, 43);
  CHECK(other != host); // a different seed is different data
}

TEST_CASE("error_stats_device equals error_stats_host", "[gpu][reference]") {
  // A size that is no power of two and more than one CUB tile.
  std::size_t const n = 3000017;
  std::vector<double> const expected = random_doubles(n, 11);
  std::vector<float> const actual = noisy_copy(expected, 3e-4, 12);
  reference::ErrorStats const host = reference::error_stats_host(actual.data(), expected.data(), std::int64_t(n));

  DeviceBuffer<float> const d_actual = to_device(actual);
  DeviceBuffer<double> const d_expected = to_device(expected);
  reference::ErrorStats const device = error_stats_on_device(d_actual.data(), d_expected.data(), std::int64_t(n));

  INFO("host:   " << describe(host));
  INFO("device: " << describe(device));
  CHECK(device.count == n);
  CHECK(device.non_finite == host.non_finite);
  // maxima do not depend on the order of the reduction; sums do, in the last bits
  CHECK(device.max_abs_error == host.max_abs_error);
  CHECK(device.max_abs_expected == host.max_abs_expected);
  CHECK(device.sum_sq_error == Catch::Approx(host.sum_sq_error).epsilon(1e-12));
  CHECK(device.sum_sq_expected == Catch::Approx(host.sum_sq_expected).epsilon(1e-12));
  CHECK(device.relative_l2() == Catch::Approx(host.relative_l2()).epsilon(1e-12));
  CHECK(within_tolerance(device));
}

TEST_CASE("a non-finite result element fails the check, on the host and on the device", "[gpu][reference]") {
  std::size_t const n = 500000;
  std::vector<double> const expected = random_doubles(n, 21);
  float const planted[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity()};
  for (float value : planted) {
    INFO("planted " << value);
    std::vector<float> actual = noisy_copy(expected, 1e-5, 22);
    actual[n / 3] = value;
    reference::ErrorStats const host = reference::error_stats_host(actual.data(), expected.data(), std::int64_t(n));
    DeviceBuffer<float> const d_actual = to_device(actual);
    DeviceBuffer<double> const d_expected = to_device(expected);
    reference::ErrorStats const device = error_stats_on_device(d_actual.data(), d_expected.data(), std::int64_t(n));
    for (reference::ErrorStats const& stats : {host, device}) {
      INFO(describe(stats));
      CHECK(stats.non_finite == 1);
      CHECK(stats.count == n);
      CHECK(std::isinf(stats.relative_l2()));
      CHECK(std::isinf(stats.relative_max()));
      CHECK_FALSE(within_tolerance(stats));
    }
  }
}

TEST_CASE("the tolerance passes TF32-sized noise and fails real errors", "[gpu][reference]") {
  std::vector<double> const expected = random_doubles(100000, 31);
  SECTION("TF32-sized noise passes") {
    std::vector<float> const actual = noisy_copy(expected, 5e-4, 32);
    CHECK(within_tolerance(reference::error_stats_host(actual.data(), expected.data(), 100000)));
  }
  SECTION("one element off by 5% of the tensor's scale fails on relative_max") {
    std::vector<float> actual = noisy_copy(expected, 1e-6, 33);
    actual[777] += 0.15f; // scale 3
    reference::ErrorStats const stats = reference::error_stats_host(actual.data(), expected.data(), 100000);
    INFO(describe(stats));
    CHECK(stats.relative_l2() <= kMaxRelativeL2); // a single element hides in the L2 norm ...
    CHECK_FALSE(within_tolerance(stats));         // ... but not in the max
  }
  SECTION("0.5% noise everywhere fails on relative_l2") {
    std::vector<float> const actual = noisy_copy(expected, 5e-3, 34);
    reference::ErrorStats const stats = reference::error_stats_host(actual.data(), expected.data(), 100000);
    INFO(describe(stats));
    CHECK(stats.relative_max() <= kMaxRelativeMax);
    CHECK_FALSE(within_tolerance(stats));
  }
  SECTION("a result with an off-by-one filter index fails") {
    Conv2dProblem const problem = conv(2, 4, 10, 10, 8, 3, 3).pad(1, 1);
    std::vector<float> input(static_cast<std::size_t>(problem.input_elements()));
    std::vector<float> filter(static_cast<std::size_t>(problem.filter_elements() + 1));
    reference::random_fill_host(input.data(), problem.input_elements(), 35);
    reference::random_fill_host(filter.data(), problem.filter_elements() + 1, 36);
    std::vector<double> right(static_cast<std::size_t>(problem.output_elements()));
    std::vector<double> off_by_one(right.size());
    reference::conv2d_host(problem, input.data(), filter.data(), nullptr, right.data());
    reference::conv2d_host(problem, input.data(), filter.data() + 1, nullptr, off_by_one.data());
    std::vector<float> const wrong(off_by_one.begin(), off_by_one.end());
    reference::ErrorStats const stats =
        reference::error_stats_host(wrong.data(), right.data(), problem.output_elements());
    INFO(describe(stats));
    CHECK_FALSE(within_tolerance(stats));
  }
}

TEST_CASE("the output guards catch stores outside the output and poisoning catches missing ones", "[gpu][reference]") {
  GuardedOutput output(1000);
  output.poison(nullptr);
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
  CHECK(output.changed_guard_words() == 0);
  CHECK(output.changed_words() == 0);

  SECTION("a store one past the end") {
    TILECONV_REQUIRE_CUDA(cudaMemset(output.data() + 1000, 0, sizeof(float)));
    CHECK(output.changed_guard_words() == 1);
  }
  SECTION("a store one before the start") {
    TILECONV_REQUIRE_CUDA(cudaMemset(output.data() - 1, 0, sizeof(float)));
    CHECK(output.changed_guard_words() == 1);
  }
  SECTION("a store inside is no guard violation, but is a write") {
    TILECONV_REQUIRE_CUDA(cudaMemset(output.data() + 999, 0, sizeof(float)));
    CHECK(output.changed_guard_words() == 0);
    CHECK(output.changed_words() == 1);
  }
  SECTION("an element left poisoned is a non-finite result") {
    TILECONV_REQUIRE_CUDA(cudaMemset(output.data(), 0, 999 * sizeof(float)));
    std::vector<float> const actual = output.output_to_host();
    std::vector<double> const zeros(1000, 0.0);
    reference::ErrorStats const stats = reference::error_stats_host(actual.data(), zeros.data(), 1000);
    CHECK(stats.non_finite == 1);
    CHECK_FALSE(within_tolerance(stats));
  }
}

} // namespace test
} // namespace tileconv
