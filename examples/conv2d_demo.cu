// The seed problem through tileconv's default launcher: batch 8, 64 -> 128 channels, 512 x 1024, 3 x 3, no
// padding. Prints the launch plan, the error against a float64 direct convolution, and the median time.

#include "example_support.cuh"

#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/error_stats.cuh>
#include <tileconv/reference/random_fill.cuh>

#include <tileconv/tileconv.cuh>

#include <cstdio>

int main() {
  tileconv::DeviceInfo const device = require_device();

  tileconv::Conv2dProblem problem;
  problem.batch = 8;
  problem.in_channels = 64;
  problem.in_h = 512;
  problem.in_w = 1024;
  problem.out_channels = 128;
  problem.filter_h = 3;
  problem.filter_w = 3;
  std::printf("problem: input %dx%dx%dx%d, filter %dx%dx%dx%d, output %dx%dx%dx%d, %.1f GFLOP\n", problem.batch,
              problem.in_channels, problem.in_h, problem.in_w, problem.out_channels, problem.in_channels_per_group(),
              problem.filter_h, problem.filter_w, problem.batch, problem.out_channels, problem.out_h(), problem.out_w(),
              problem.flops() * 1e-9);

  DeviceBuffer<float> input(problem.input_elements());
  DeviceBuffer<float> filter(problem.filter_elements());
  DeviceBuffer<float> output(problem.output_elements());
  cudaStream_t stream;
  EXAMPLE_CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  EXAMPLE_CHECK_STATUS(tileconv::reference::random_fill_device(input.get(), problem.input_elements(), 1, stream));
  EXAMPLE_CHECK_STATUS(tileconv::reference::random_fill_device(filter.get(), problem.filter_elements(), 2, stream));
  // NaN everywhere, so that an output element the kernel misses cannot pass the check below
  EXAMPLE_CHECK_CUDA(cudaMemsetAsync(output.get(), 0xFF, sizeof(float) * problem.output_elements(), stream));

  // The workspace the launcher's fastest launch asks for (its filter copy, and split-K partial sums where the output
  // alone cannot fill the GPU): allocated once, outside the launch path.
  std::size_t const workspace_bytes = tileconv::conv2d_workspace_size(problem, device);
  DeviceBuffer<unsigned char> workspace(static_cast<std::int64_t>(workspace_bytes));
  tileconv::LaunchPlan plan;
  EXAMPLE_CHECK_STATUS(tileconv::plan_conv2d(problem, device, &plan, workspace_bytes));
  std::printf("plan: %s\n", tileconv::to_string(plan).c_str());

  tileconv::Conv2dArguments args{problem, input.get(), filter.get(), nullptr, output.get()};
  args.workspace = workspace.get();
  args.workspace_bytes = workspace_bytes;
  EXAMPLE_CHECK_STATUS(tileconv::conv2d(args, device, stream));

  // float64 direct convolution on the GPU, then the error norms with CUB
  tileconv::reference::ErrorStats stats;
  {
    DeviceBuffer<double> expected(problem.output_elements());
    EXAMPLE_CHECK_STATUS(
        tileconv::reference::conv2d_device(problem, input.get(), filter.get(), nullptr, expected.get(), stream));
    std::size_t temp_bytes = 0;
    EXAMPLE_CHECK_STATUS(tileconv::reference::error_stats_device(nullptr, temp_bytes, output.get(), expected.get(),
                                                                 problem.output_elements(), nullptr, stream));
    DeviceBuffer<unsigned char> temp(static_cast<std::int64_t>(temp_bytes));
    DeviceBuffer<tileconv::reference::ErrorStats> result(1);
    EXAMPLE_CHECK_STATUS(tileconv::reference::error_stats_device(temp.get(), temp_bytes, output.get(), expected.get(),
                                                                 problem.output_elements(), result.get(), stream));
    EXAMPLE_CHECK_CUDA(cudaMemcpyAsync(&stats, result.get(), sizeof(stats), cudaMemcpyDeviceToHost, stream));
    EXAMPLE_CHECK_CUDA(cudaStreamSynchronize(stream));
  }
  bool const correct = stats.non_finite == 0 && stats.relative_l2() <= 1e-3;
  std::printf("error vs float64 reference: relative L2 %.3e, max |error| / max |reference| %.3e, %llu non-finite "
              "-> %s\n",
              stats.relative_l2(), stats.relative_max(), stats.non_finite, correct ? "PASS" : "FAIL");

  float const ms = median_ms([&] { EXAMPLE_CHECK_STATUS(tileconv::conv2d(args, device, stream)); }, stream, 3, 20);
  std::printf("time: %.3f ms median of 20 (CUDA events, after 3 warm-up runs), %.1f TFLOP/s\n", ms,
              problem.flops() / (ms * 1e-3) * 1e-12);

  EXAMPLE_CHECK_CUDA(cudaStreamDestroy(stream));
  return correct ? 0 : 1;
}
