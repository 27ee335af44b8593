// DirectConv2d on the GPU against the float64 reference: every depthwise shape of the list (multipliers 1 to 3,
// filters 1x1 to 11x11, strides, dilations, symmetric and asymmetric padding, odd and tiny images, bias on and off,
// several planes a block, row and column tiles) and every grouped one (2 to 16 channels a group in, 1 to 16 out,
// 4 and 8 output channels a thread with and without padding), the full MobileNet and ResNeXt layers, a misaligned
// input, the coordinates the epilogue is given, and refused calls that must write nothing. The FP32 kernels' errors are
// near 1e-7, so their tolerance is 1e-5; 3x3 groups of 8 -> 8 channels run on TF32 tensor cores
// (`DirectConv2d::uses_tensor_cores`), held to the implicit GEMM's TF32 tolerance. The harness's guards catch stores
// outside the output.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/direct_conv_shapes.hpp"
#include "support/gpu_harness.hpp"
#include "support/shapes.hpp"

#include <tileconv/epilogue/output_coord.cuh>
#include <tileconv/epilogue/tensor_ops.cuh>
#include <tileconv/host/direct_conv2d.cuh>
#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/error_stats.cuh>
#include <tileconv/reference/random_fill.cuh>

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <utility>
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

// Exact FP32 FMA over at most C/g * R * S = 16 * 25 terms (depthwise: R * S = 121)
constexpr double kMaxFp32RelativeError = 1e-5;

/// The tolerance of the kernel `DirectConv2d::run` launches for `problem`: relative L2, relative max.
std::pair<double, double> tolerance(Conv2dProblem const& problem) {
  if (DirectConv2d::uses_tensor_cores(problem)) {
    return {kMaxRelativeL2, kMaxRelativeMax};
  }
  return {kMaxFp32RelativeError, kMaxFp32RelativeError};
}

/// DirectConv2d::run with `epilogue` on the current device.
template <class Epilogue> Launcher direct_launcher(std::string name, Epilogue epilogue = Epilogue{}) {
  DeviceInfo const device = current_device_info();
  return {std::move(name), [device, epilogue](Conv2dArguments const& args, cudaStream_t stream) {
            return DirectConv2d::run(args, epilogue, device, stream);
          }};
}

void check_against_reference(Conv2dHarness& harness, Launcher const& launcher, cudaStream_t stream) {
  reference::ErrorStats const stats = harness.run(launcher, stream); // REQUIREs success and intact guards
  INFO(describe(harness.shape()) << ", " << (harness.host_reference() ? "host" : "device")
                                 << " reference: " << describe(stats)
                                 << (DirectConv2d::uses_tensor_cores(harness.problem()) ? ", TF32" : ", FP32"));
  auto const [max_l2, max_element] = tolerance(harness.problem());
  CHECK(stats.count == static_cast<unsigned long long>(harness.problem().output_elements()));
  CHECK(stats.non_finite == 0);
  CHECK(stats.relative_l2() <= max_l2);
  CHECK(stats.relative_max() <= max_element);
}

} // namespace

TEST_CASE("DirectConv2d matches the float64 reference on every shape of the direct path", "[gpu][direct]") {
  std::size_t const index = GENERATE(range(std::size_t{0}, direct_shapes().size()));
  ShapeCase const& shape = direct_shapes()[index];
  INFO("direct shape " << index << ": " << describe(shape));
  REQUIRE(DirectConv2d::applies(shape.problem));
  Conv2dHarness harness(shape, 5000 + 16 * index);
  Stream stream;
  check_against_reference(harness, direct_launcher<TestIdentityEpilogue>("DirectConv2d::run"), stream.get());
}

TEST_CASE("DirectConv2d matches the float64 reference on the MobileNet and ResNeXt layers",
          "[gpu][direct][mobilenet][large]") {
  // The benchmark's shapes, device reference: N=32, C=K=144, 56x56, 3x3, pad 1 depthwise (14.5M outputs), and
  // N=32, C=K=256 in 32 groups of 8, 28x28, 3x3, pad 1 (6.4M outputs).
  ShapeCase const shape = GENERATE(
      ShapeCase{"mobilenet_dw_c144_56", depthwise(32, 144, 56, 56, 1, 3, 3).pad(1, 1), true, ShapeKind::kNetworkLayer},
      ShapeCase{"resnext_g32_c256_28", conv(32, 256, 28, 28, 256, 3, 3).pad(1, 1).groups(32), true,
                ShapeKind::kNetworkLayer});
  Conv2dHarness harness(shape, 4242);
  Stream stream;
  check_against_reference(harness, direct_launcher<TestIdentityEpilogue>("DirectConv2d::run"), stream.get());
}

TEST_CASE("DirectConv2d reads a misaligned input correctly", "[gpu][direct]") {
  // The input starts one float past a 256-byte boundary: 16-byte copies do not apply even though in_w % 4 == 0.
  Conv2dProblem const problem = GENERATE(Conv2dProblem(depthwise(2, 16, 24, 32, 2, 3, 3).pad(1, 1)),
                                         Conv2dProblem(conv(2, 16, 24, 32, 16, 3, 3).pad(1, 1).groups(4)),
                                         Conv2dProblem(conv(2, 16, 24, 32, 16, 3, 3).pad(1, 1).groups(2)));
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
  REQUIRE_FALSE(detail::DirectConv2dParams::can_vectorize(args));

  Stream stream;
  output.poison(stream.get());
  TILECONV_REQUIRE_SUCCESS(DirectConv2d::run(args, TestIdentityEpilogue{}, current_device_info(), stream.get()));
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
  auto const [max_l2, max_element] = tolerance(problem);
  CHECK(stats.non_finite == 0);
  CHECK(stats.relative_l2() <= max_l2);
  CHECK(stats.relative_max() <= max_element);
}

TEST_CASE("DirectConv2d gives the epilogue each output's channel and offset", "[gpu][direct][epilogue]") {
  // Several planes a block (7x7) and row tiles (56 rows), multiplier 2; grouped, 12 output channels a group in
  // chunks of 8 (the second half padding), several slices a block (FP32), and 8 -> 8 a group on tensor cores (a
  // partial last pixel run, computed but not stored), staged by cp.async (30 columns) and, on an H100/H200, by the
  // copy engine (28 columns: `DirectConv2d::uses_tensor_maps`): every output must hold its own coordinate.
  for (Conv2dProblem const& problem : {Conv2dProblem(depthwise(3, 20, 7, 7, 2, 3, 3).pad(1, 1)),
                                       Conv2dProblem(depthwise(2, 6, 56, 60, 2, 5, 5).pad(2, 2)),
                                       Conv2dProblem(conv(3, 24, 7, 7, 36, 3, 3).pad(1, 1).groups(3)),
                                       Conv2dProblem(conv(2, 32, 13, 30, 32, 3, 3).pad(1, 1).groups(4)),
                                       Conv2dProblem(conv(2, 32, 13, 28, 32, 3, 3).pad(1, 1).groups(4))}) {
    ShapeCase const shape{"coordinates", problem, false, ShapeKind::kEdge};
    INFO(describe(shape));
    Conv2dHarness harness(shape, 99);
    Stream stream;
    harness.output().poison(stream.get());
    TILECONV_REQUIRE_SUCCESS(
        DirectConv2d::run(harness.arguments(), CoordinateEpilogue{}, current_device_info(), stream.get()));
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

TEST_CASE("a refused DirectConv2d call writes nothing", "[gpu][direct]") {
  ShapeCase const shape{"m1 3x3 pad 1", depthwise(2, 8, 12, 12, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge};
  Conv2dHarness harness(shape, 7);
  DeviceInfo const device = current_device_info();
  Stream stream;

  Conv2dArguments not_direct = harness.arguments();
  not_direct.problem.groups = 1; // dense
  Conv2dArguments null_filter = harness.arguments();
  null_filter.filter = nullptr;
  Conv2dArguments too_many_blocks = harness.arguments();
  DeviceInfo small_grid = device;
  small_grid.max_grid[0] = 1;

  harness.output().poison(stream.get());
  CHECK(DirectConv2d::run(not_direct, TestIdentityEpilogue{}, device, stream.get()) == Status::kErrorNotSupported);
  CHECK(DirectConv2d::run(null_filter, TestIdentityEpilogue{}, device, stream.get()) == Status::kErrorNullPointer);
  CHECK(DirectConv2d::run(too_many_blocks, TestIdentityEpilogue{}, small_grid, stream.get()) ==
        Status::kErrorGridTooLarge);
  // an epilogue whose own check fails (a null scale tensor): before this check existed, the kernel ran and read
  // address 0
  CHECK(DirectConv2d::run(harness.arguments(), ChannelScale{nullptr}, device, stream.get()) ==
        Status::kErrorNullPointer);
  TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
  CHECK(harness.output().changed_words() == 0);
}

} // namespace test
} // namespace tileconv
