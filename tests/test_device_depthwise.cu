// DepthwiseConv2d on the GPU against the float64 reference: every depthwise shape of the list (multipliers 1 to 3,
// filters 1x1 to 11x11, strides, dilations, symmetric and asymmetric padding, odd and tiny images, bias on and off,
// several planes a block, row and column tiles), the full MobileNet layer, a misaligned input, the coordinates the
// epilogue is given, and refused calls that must write nothing. Exact FP32 arithmetic: errors near 1e-7, so the
// tolerance is 1e-5 instead of the TF32 path's 1e-3. The harness's guards catch stores outside the output.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
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

/// conv(n, c, h, w, c * multiplier, r, s) with groups = c.
ProblemBuilder depthwise(int batch, int channels, int in_h, int in_w, int multiplier, int filter_h, int filter_w) {
  return conv(batch, channels, in_h, in_w, channels * multiplier, filter_h, filter_w).groups(channels);
}

Conv2dProblem with_end_padding(Conv2dProblem problem, int pad_h_end, int pad_w_end) {
  problem.pad_h_end = pad_h_end;
  problem.pad_w_end = pad_w_end;
  return problem;
}

/// The depthwise shapes; tests/test_host_depthwise.cpp emulates the kernel on the same list.
std::vector<ShapeCase> const& depthwise_shapes() {
  static std::vector<ShapeCase> const list = {
      {"m1 3x3 pad 1, bias", depthwise(2, 8, 20, 24, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"m2 3x3 pad 1", depthwise(2, 6, 17, 19, 2, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"m3 5x5 pad 2, bias", depthwise(1, 4, 15, 16, 3, 5, 5).pad(2, 2), true, ShapeKind::kEdge},
      {"1x1", depthwise(2, 8, 9, 12, 1, 1, 1), false, ShapeKind::kEdge},
      {"1x1 stride 2, m2, bias", depthwise(1, 4, 11, 13, 2, 1, 1).stride(2, 2), true, ShapeKind::kEdge},
      {"7x7 pad 3, bias", depthwise(2, 8, 28, 28, 1, 7, 7).pad(3, 3), true, ShapeKind::kEdge},
      {"3x5 pad (1, 2)", depthwise(2, 8, 13, 21, 1, 3, 5).pad(1, 2), false, ShapeKind::kEdge},
      {"5x3 no padding, bias", depthwise(1, 8, 12, 9, 1, 5, 3), true, ShapeKind::kEdge},
      {"stride 2 pad 1, even H/W, bias", depthwise(2, 8, 32, 32, 1, 3, 3).pad(1, 1).stride(2, 2), true,
       ShapeKind::kEdge},
      {"stride 2 pad 1, odd H/W", depthwise(2, 8, 33, 31, 1, 3, 3).pad(1, 1).stride(2, 2), false, ShapeKind::kEdge},
      {"stride (1, 2), bias", depthwise(2, 8, 19, 24, 1, 3, 3).pad(1, 1).stride(1, 2), true, ShapeKind::kEdge},
      {"stride (2, 1)", depthwise(1, 8, 19, 23, 1, 3, 3).pad(1, 1).stride(2, 1), false, ShapeKind::kEdge},
      {"dilation 2 pad 2, bias", depthwise(2, 8, 21, 20, 1, 3, 3).pad(2, 2).dilation(2, 2), true, ShapeKind::kEdge},
      {"5x5 dilation (2, 3) stride (1, 2) pad (4, 6)",
       depthwise(1, 4, 25, 30, 2, 5, 5).pad(4, 6).dilation(2, 3).stride(1, 2), false, ShapeKind::kEdge},
      {"7x7 dilation 2 stride 2 pad 6", depthwise(1, 4, 40, 36, 1, 7, 7).pad(6, 6).dilation(2, 2).stride(2, 2), true,
       ShapeKind::kEdge},
      {"3x3 dilation (3, 1), stride (1, 1)", depthwise(1, 4, 22, 18, 1, 3, 3).pad(3, 1).dilation(3, 1), false,
       ShapeKind::kEdge},
      {"3x3 dilation (1, 2): row window with dilated columns",
       depthwise(2, 4, 17, 23, 1, 3, 3).pad(1, 2).dilation(1, 2), true, ShapeKind::kEdge},
      {"padding 4 > reach 2, bias", depthwise(2, 4, 5, 6, 1, 3, 3).pad(4, 4), true, ShapeKind::kEdge},
      {"no padding", depthwise(2, 8, 10, 12, 1, 3, 3), false, ShapeKind::kEdge},
      {"asymmetric 'same' padding, 4x4", with_end_padding(depthwise(2, 8, 16, 17, 1, 4, 4).pad(1, 1), 2, 2), true,
       ShapeKind::kEdge},
      {"asymmetric padding 3x3 (0, 1) / (2, 0)", with_end_padding(depthwise(2, 8, 15, 14, 1, 3, 3).pad(0, 1), 2, 0),
       false, ShapeKind::kEdge},
      {"asymmetric padding (0, 0) / (1, 1), stride 2",
       with_end_padding(depthwise(1, 8, 16, 16, 1, 3, 3).stride(2, 2), 1, 1), true, ShapeKind::kEdge},
      {"1x1 image, 3x3 pad 1", depthwise(3, 8, 1, 1, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"7x9 image, m2", depthwise(2, 8, 7, 9, 2, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"13x1 image, 3x3 pad 1", depthwise(2, 8, 13, 1, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"13x1 image, 3x1 filter", depthwise(2, 4, 13, 1, 1, 3, 1).pad(1, 0), false, ShapeKind::kEdge},
      {"batch 5, 14x14: several planes a block", depthwise(5, 8, 14, 14, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"batch 1, 7x7 x 96: partial last plane tile", depthwise(1, 96, 7, 7, 1, 3, 3).pad(1, 1), false,
       ShapeKind::kEdge},
      {"W = 30, not a multiple of 4", depthwise(2, 8, 18, 30, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"MobileNet scaled down: 2 x 32 x 56 x 56, bias", depthwise(2, 32, 56, 56, 1, 3, 3).pad(1, 1), true,
       ShapeKind::kEdge},
      {"MobileNet stride 2: 112 -> 56", depthwise(1, 16, 112, 112, 1, 3, 3).pad(1, 1).stride(2, 2), false,
       ShapeKind::kEdge},
      {"300 columns: column tiles", depthwise(1, 4, 9, 300, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"517 columns, 5x5 stride 2: column tiles", depthwise(1, 4, 9, 517, 1, 5, 5).pad(2, 2).stride(2, 2), false,
       ShapeKind::kEdge},
      {"200 rows: row tiles", depthwise(1, 4, 200, 40, 1, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"C = 1, groups 1, K = 3: multiplier 3", depthwise(2, 1, 12, 12, 3, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"11x11 pad 5, bias", depthwise(1, 4, 30, 30, 1, 11, 11).pad(5, 5), true, ShapeKind::kEdge},
      {"3x3 dilation 80 pad 80: shared memory past 48 KiB",
       depthwise(1, 2, 40, 40, 1, 3, 3).dilation(80, 80).pad(80, 80), true, ShapeKind::kEdge},
  };
  return list;
}

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
