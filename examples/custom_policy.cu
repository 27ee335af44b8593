// Instantiating tileconv with your own tile policy: a 64 x 128 tile, 4 warps as 2 x 2 (32 x 64 warp tiles),
// BLOCK_R 32 in 3 stages. The policy's static_asserts reject shapes the kernel cannot run, with a message
// saying what to change; here it is checked against the device, planned and compared with the default.

#include "example_support.cuh"

#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/error_stats.cuh>
#include <tileconv/reference/random_fill.cuh>

#include <tileconv/tileconv.cuh>

#include <cstdio>
#include <vector>

/// BLOCK_OC, BLOCK_OW, BLOCK_R, WARPS_OC, WARPS_OW, STAGES
using MyPolicy = tileconv::TilePolicy<64, 128, 32, 2, 2, 3>;

int main() {
  tileconv::DeviceInfo const device = require_device();

  // a ResNet-50 layer: 256 -> 256 channels on 14 x 14 maps, 3 x 3, padding 1
  tileconv::Conv2dProblem problem;
  problem.batch = 32;
  problem.in_channels = 256;
  problem.in_h = 14;
  problem.in_w = 14;
  problem.out_channels = 256;
  problem.filter_h = 3;
  problem.filter_w = 3;
  problem.pad_h = 1;
  problem.pad_w = 1;

  std::printf("MyPolicy: %d threads, %d B shared memory, warp tile %dx%d\n", MyPolicy::kThreads, MyPolicy::kSmemBytes,
              MyPolicy::WARP_OC, MyPolicy::WARP_OW);
  tileconv::LaunchPlan plan;
  EXAMPLE_CHECK_STATUS(tileconv::Conv2d<MyPolicy>::plan(problem, device, &plan));
  std::printf("plan: %s\n", tileconv::to_string(plan).c_str());

  DeviceBuffer<float> input(problem.input_elements());
  DeviceBuffer<float> filter(problem.filter_elements());
  DeviceBuffer<float> bias(problem.out_channels);
  DeviceBuffer<float> output(problem.output_elements());
  EXAMPLE_CHECK_STATUS(tileconv::reference::random_fill_device(input.get(), problem.input_elements(), 11));
  EXAMPLE_CHECK_STATUS(tileconv::reference::random_fill_device(filter.get(), problem.filter_elements(), 12));
  EXAMPLE_CHECK_STATUS(tileconv::reference::random_fill_device(bias.get(), problem.out_channels, 13));
  EXAMPLE_CHECK_CUDA(cudaMemset(output.get(), 0xFF, sizeof(float) * problem.output_elements()));

  tileconv::Conv2dArguments const args{problem, input.get(), filter.get(), bias.get(), output.get()};
  EXAMPLE_CHECK_STATUS(tileconv::Conv2d<MyPolicy>::can_implement(args, device));
  EXAMPLE_CHECK_STATUS(tileconv::conv2d<MyPolicy>(args, device));

  // small enough for the host reference
  std::vector<float> host_input(static_cast<std::size_t>(problem.input_elements()));
  std::vector<float> host_filter(static_cast<std::size_t>(problem.filter_elements()));
  std::vector<float> host_bias(static_cast<std::size_t>(problem.out_channels));
  std::vector<float> host_output(static_cast<std::size_t>(problem.output_elements()));
  std::vector<double> expected(host_output.size());
  EXAMPLE_CHECK_CUDA(cudaMemcpy(host_input.data(), input.get(), sizeof(float) * host_input.size(), cudaMemcpyDefault));
  EXAMPLE_CHECK_CUDA(
      cudaMemcpy(host_filter.data(), filter.get(), sizeof(float) * host_filter.size(), cudaMemcpyDefault));
  EXAMPLE_CHECK_CUDA(cudaMemcpy(host_bias.data(), bias.get(), sizeof(float) * host_bias.size(), cudaMemcpyDefault));
  EXAMPLE_CHECK_CUDA(
      cudaMemcpy(host_output.data(), output.get(), sizeof(float) * host_output.size(), cudaMemcpyDefault));
  tileconv::reference::conv2d_host(problem, host_input.data(), host_filter.data(), host_bias.data(), expected.data());
  tileconv::reference::ErrorStats const stats = tileconv::reference::error_stats_host(
      host_output.data(), expected.data(), static_cast<std::int64_t>(expected.size()));
  bool const correct = stats.non_finite == 0 && stats.relative_l2() <= 1e-3;
  std::printf("error vs float64 reference: relative L2 %.3e -> %s\n", stats.relative_l2(), correct ? "PASS" : "FAIL");

  float const mine = median_ms([&] { EXAMPLE_CHECK_STATUS(tileconv::conv2d<MyPolicy>(args, device)); }, nullptr, 3, 20);
  float const default_ms = median_ms([&] { EXAMPLE_CHECK_STATUS(tileconv::conv2d(args, device)); }, nullptr, 3, 20);
  std::printf("time: MyPolicy %.3f ms, default policy %.3f ms (median of 20, CUDA events)\n", mine, default_ms);
  return correct ? 0 : 1;
}
