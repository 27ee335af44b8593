// DepthwiseConv2d on the GPU against the float64 reference: every depthwise shape of the list (multipliers 1 to 3,
// filters 1x1 to 11x11, strides, dilations, symmetric and asymmetric padding, odd and tiny images, bias on and off,
// several planes a block, row and column tiles), the full MobileNet layer, a misaligned input, the coordinates the
// epilogue is given, and refused calls that must write nothing. Exact FP32 arithmetic: errors near 1e-7, so the
// tolerance is 1e-5 instead of the TF32 path's 1e-3. The harness's guards catch stores outside the output.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/depthwise_shapes.hpp"
#include "support/gpu_harness.hpp"
#include "support/shapes.hpp"

#include <tileconv/epilogue/output_coord.cuh>
#include <tileconv/host/depthwise_conv2d.cuh>
#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/error_stats.cuh>
#include <tileconv/reference/random_fill.cuh>

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tileconv {
namespace test {
namespace {

/// The identity epilogue, until tileconv's own (epilogue/epilogue_chain.cuh) is in.
struct TestIdentityEpilogue {
  __device__ float operator()(float value, OutputCoord const&) const { return value; }
};

/// Replaces the value by its coordinate, exactly representable: channel * 2^16 + offset mod 2^16 (< 2^24 for
/// fewer than 256 channels).
struct CoordinateEpilogue {
  __device__ float operator()(float, OutputCoord const& coord) const {
    return float(coord.channel) * 65536.0f + float(coord.offset % 65536);
  }
};

constexpr double kMaxRelativeError = 1e-5; // exact FP32 FMA over at most R * S = 121 terms

/// DepthwiseConv2d::run with `epilogue` on the current device.
template <class Epilogue> Launcher depthwise_launcher(std::string name, Epilogue epilogue = Epilogue{}) {
  DeviceInfo const device = current_device_info();
  return {std::move(name), [device, epilogue](Conv2dArguments const& args, cudaStream_t stream) {
            return DepthwiseConv2d::run(args, epilogue, device, stream);
          }};
}

void check_exact_fp32(Conv2dHarness& harness, Launcher const& launcher, cudaStream_t stream) {
  reference::ErrorStats const stats = harness.run(launcher, stream); // REQUIREs success and intact guards
  INFO(describe(harness.shape()) << ", " << (harness.host_reference() ? "host" : "device")
                                 << " reference: " << describe(stats));
  CHECK(stats.count == static_cast<unsigned long long>(harness.problem().output_elements()));
  CHECK(stats.non_finite == 0);
  CHECK(stats.relative_l2() <= kMaxRelativeError);
  CHECK(stats.relative_max() <= kMaxRelativeError);
}

} // namespace

TEST_CASE("DepthwiseConv2d matches the float64 reference on every depthwise shape", "[gpu][depthwise]") {
  std::size_t const index = GENERATE(range(std::size_t{0}, depthwise_shapes().size()));
  ShapeCase const& shape = depthwise_shapes()[index];
  INFO("depthwise shape " << index << ": " << describe(shape));
  REQUIRE(DepthwiseConv2d::applies(shape.problem));
  Conv2dHarness harness(shape, 5000 + 16 * index);
  Stream stream;
  check_exact_fp32(harness, depthwise_launcher<TestIdentityEpilogue>("DepthwiseConv2d::run"), stream.get());
}

TEST_CASE("DepthwiseConv2d matches the float64 reference on the MobileNet layer",
          "[gpu][depthwise][mobilenet][large]") {
  // N=32, C=K=144, 56x56, 3x3, stride 1, pad 1: the benchmark's shape, 14.5M outputs, device reference.
  ShapeCase const shape{"mobilenet_dw_c144_56", depthwise(32, 144, 56, 56, 1, 3, 3).pad(1, 1), true,
                        ShapeKind::kNetworkLayer};
  Conv2dHarness harness(shape, 4242);
  Stream stream;
  check_exact_fp32(harness, depthwise_launcher<TestIdentityEpilogue>("DepthwiseConv2d::run"), stream.get());
}

TEST_CASE("DepthwiseConv2d reads a misaligned input correctly", "[gpu][depthwise]") {
  // The input starts one float past a 256-byte boundary: 16-byte copies do not apply even though in_w % 4 == 0.
  Conv2dProblem const problem = depthwise(2, 16, 24, 32, 2, 3, 3).pad(1, 1);
  REQUIRE(problem.validate() == Status::kSuccess);
  DeviceBuffer<float> input_storage(problem.input_elements() + 1);
  DeviceBuffer<float> filter(problem.filter_elements());
  DeviceBuffer<float> bias(problem.out_channels);
  GuardedOutput output(problem.output_elements());
  float const* input = input_storage.data() + 1;
  TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(input_storage.data(), input_storage.size(), 31));
  TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(filter.data(), filter.size(), 32));
  TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(bias.data(), bias.size(), 33));
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());

  Conv2dArguments args;
  args.problem = problem;
  args.input = input;
  args.filter = filter.data();
  args.bias = bias.data();
  args.output = output.data();
  REQUIRE_FALSE(detail::DepthwiseConv2dParams::can_vectorize(args));

  Stream stream;
  output.poison(stream.get());
  TILECONV_REQUIRE_SUCCESS(DepthwiseConv2d::run(args, TestIdentityEpilogue{}, current_device_info(), stream.get()));
  TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
  CHECK(output.changed_guard_words() == 0);

  std::vector<float> const all_input = input_storage.to_host();
  std::vector<float> const host_filter = filter.to_host();
  std::vector<float> const host_bias = bias.to_host();
  std::vector<double> expected(static_cast<std::size_t>(problem.output_elements()));
  reference::conv2d_host(problem, all_input.data() + 1, host_filter.data(), host_bias.data(), expected.data());
  std::vector<float> const actual = output.output_to_host();
  reference::ErrorStats const stats =
      reference::error_stats_host(actual.data(), expected.data(), problem.output_elements());
  INFO(describe(stats));
  CHECK(stats.non_finite == 0);
  CHECK(stats.relative_l2() <= kMaxRelativeError);
  CHECK(stats.relative_max() <= kMaxRelativeError);
}

TEST_CASE("DepthwiseConv2d gives the epilogue each output's channel and offset", "[gpu][depthwise][epilogue]") {
  // Several planes a block (7x7) and row tiles (56 rows), multiplier 2: every output must hold its own coordinate.
  for (Conv2dProblem const& problem : {Conv2dProblem(depthwise(3, 20, 7, 7, 2, 3, 3).pad(1, 1)),
                                       Conv2dProblem(depthwise(2, 6, 56, 60, 2, 5, 5).pad(2, 2))}) {
    ShapeCase const shape{"coordinates", problem, false, ShapeKind::kEdge};
    INFO(describe(shape));
    Conv2dHarness harness(shape, 99);
    Stream stream;
    harness.output().poison(stream.get());
    TILECONV_REQUIRE_SUCCESS(
        DepthwiseConv2d::run(harness.arguments(), CoordinateEpilogue{}, current_device_info(), stream.get()));
    TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
    CHECK(harness.output().changed_guard_words() == 0);
    std::vector<float> const actual = harness.output().output_to_host();
    std::int64_t const plane = std::int64_t{problem.out_h()} * problem.out_w();
    std::int64_t wrong = 0;
    for (std::int64_t offset = 0; offset < problem.output_elements(); ++offset) {
      int const channel = static_cast<int>((offset / plane) % problem.out_channels);
      float const expected = float(channel) * 65536.0f + float(offset % 65536);
      wrong += actual[static_cast<std::size_t>(offset)] == expected ? 0 : 1;
    }
    CHECK(wrong == 0);
  }
}

TEST_CASE("a refused DepthwiseConv2d call writes nothing", "[gpu][depthwise]") {
  ShapeCase const shape{"m1 3x3 pad 1", depthwise(2, 8, 12, 12, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge};
  Conv2dHarness harness(shape, 7);
  DeviceInfo const device = current_device_info();
  Stream stream;

  Conv2dArguments not_depthwise = harness.arguments();
  not_depthwise.problem.groups = 4; // two input channels a group
  Conv2dArguments null_filter = harness.arguments();
  null_filter.filter = nullptr;
  Conv2dArguments too_many_blocks = harness.arguments();
  DeviceInfo small_grid = device;
  small_grid.max_grid[0] = 1;

  harness.output().poison(stream.get());
  CHECK(DepthwiseConv2d::run(not_depthwise, TestIdentityEpilogue{}, device, stream.get()) ==
        Status::kErrorNotSupported);
  CHECK(DepthwiseConv2d::run(null_filter, TestIdentityEpilogue{}, device, stream.get()) == Status::kErrorNullPointer);
  CHECK(DepthwiseConv2d::run(too_many_blocks, TestIdentityEpilogue{}, small_grid, stream.get()) ==
        Status::kErrorGridTooLarge);
  TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
  CHECK(harness.output().changed_words() == 0);
}

} // namespace test
} // namespace tileconv
