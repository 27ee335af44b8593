// A fused epilogue: conv + bias, then a folded batch-norm scale, a functor of your own, mish and a residual skip
// connection, all applied in registers before the single store of each output element, in one launch:
//     output = mish(max(scale[c] * (conv + bias) - 0.1, -0.5)) + skip
// Checked against the same computation in float64 on the host.

#include "example_support.cuh"

#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/random_fill.cuh>

#include <tileconv/tileconv.cuh>

#include <cmath>
#include <cstdio>
#include <vector>

/// An epilogue of your own: any trivially copyable struct with this call operator, callable on the device, can join
/// a chain. `at` says where the element is (output channel, NCHW offset); this one does not need it.
struct SubtractThenClampMin {
  float subtract; ///< subtracted first
  float min;      ///< then the result is at least this
  __host__ __device__ float operator()(float x, tileconv::OutputCoord const& /*at*/) const {
    float const y = x - subtract;
    return y < min ? min : y;
  }
};
static_assert(tileconv::is_epilogue_v<SubtractThenClampMin>, "the call operator the kernels expect");

/// Mish in float64, from its definition.
double mish(double x) { return x * std::tanh(std::log1p(std::exp(x))); }

int main() {
  require_device();

  // a small layer: 2 images, 32 -> 64 channels on 28 x 28 maps, 3 x 3, padding 1, with bias
  tileconv::Conv2dProblem problem;
  problem.batch = 2;
  problem.in_channels = 32;
  problem.in_h = 28;
  problem.in_w = 28;
  problem.out_channels = 64;
  problem.filter_h = 3;
  problem.filter_w = 3;
  problem.pad_h = 1;
  problem.pad_w = 1;
  std::int64_t const outputs = problem.output_elements();

  DeviceBuffer<float> input(problem.input_elements());
  DeviceBuffer<float> filter(problem.filter_elements());
  DeviceBuffer<float> bias(problem.out_channels);
  DeviceBuffer<float> scale(problem.out_channels);
  DeviceBuffer<float> skip(outputs);
  DeviceBuffer<float> output(outputs);
  cudaStream_t stream;
  EXAMPLE_CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  EXAMPLE_CHECK_STATUS(tileconv::reference::random_fill_device(input.get(), problem.input_elements(), 21, stream));
  EXAMPLE_CHECK_STATUS(tileconv::reference::random_fill_device(filter.get(), problem.filter_elements(), 22, stream));
  EXAMPLE_CHECK_STATUS(tileconv::reference::random_fill_device(bias.get(), problem.out_channels, 23, stream));
  EXAMPLE_CHECK_STATUS(tileconv::reference::random_fill_device(skip.get(), outputs, 24, stream));
  std::vector<float> host_scale(static_cast<std::size_t>(problem.out_channels));
  for (std::size_t c = 0; c < host_scale.size(); ++c) {
    host_scale[c] = 0.5f + 0.125f * float(c % 8); // a folded batch norm's per-channel gamma / sigma
  }
  EXAMPLE_CHECK_CUDA(cudaMemcpyAsync(scale.get(), host_scale.data(), sizeof(float) * host_scale.size(),
                                     cudaMemcpyHostToDevice, stream));
  // NaN everywhere, so that an output element the kernel misses cannot pass the check below
  EXAMPLE_CHECK_CUDA(cudaMemsetAsync(output.get(), 0xFF, sizeof(float) * outputs, stream));

  // The ops run left to right on each element, after the bias. The launcher checks the tensors the chain reads
  // (scale, skip) like its own operands and returns a Status naming the problem, launching nothing.
  auto const epilogue =
      tileconv::make_epilogue_chain(tileconv::ChannelScale{scale.get()}, SubtractThenClampMin{0.1f, -0.5f},
                                    tileconv::Mish{}, tileconv::Residual{1.0f, 1.0f, skip.get()});
  tileconv::Conv2dArguments args;
  args.problem = problem;
  args.input = input.get();
  args.filter = filter.get();
  args.bias = bias.get();
  args.output = output.get();
  EXAMPLE_CHECK_STATUS(tileconv::conv2d(args, epilogue, stream));
  EXAMPLE_CHECK_CUDA(cudaStreamSynchronize(stream));

  // the same computation in float64 on the host, from the same inputs
  auto to_host = [](DeviceBuffer<float> const& buffer, std::int64_t n) {
    std::vector<float> host(static_cast<std::size_t>(n));
    EXAMPLE_CHECK_CUDA(cudaMemcpy(host.data(), buffer.get(), sizeof(float) * host.size(), cudaMemcpyDeviceToHost));
    return host;
  };
  std::vector<float> const host_input = to_host(input, problem.input_elements());
  std::vector<float> const host_filter = to_host(filter, problem.filter_elements());
  std::vector<float> const host_bias = to_host(bias, problem.out_channels);
  std::vector<float> const host_skip = to_host(skip, outputs);
  std::vector<float> const actual = to_host(output, outputs);
  std::vector<double> conv(static_cast<std::size_t>(outputs)); // conv + bias
  tileconv::reference::conv2d_host(problem, host_input.data(), host_filter.data(), host_bias.data(), conv.data());

  // TF32 rounds the conv's operands: the conv alone is within about 1e-3 of its float64 value in relative L2. The
  // chain multiplies an error of the conv by at most max(scale) * max|mish'| = 1.375 * 1.1; the residual adds none.
  double sum_sq_error = 0.0;
  double sum_sq_conv = 0.0;
  std::int64_t non_finite = 0;
  std::int64_t const plane = std::int64_t{problem.out_h()} * problem.out_w();
  for (std::int64_t i = 0; i < outputs; ++i) {
    std::size_t const at = static_cast<std::size_t>(i);
    int const channel = static_cast<int>(i / plane % problem.out_channels);
    double const clamped = std::fmax(double(host_scale[static_cast<std::size_t>(channel)]) * conv[at] - 0.1, -0.5);
    double const expected = mish(clamped) + double(host_skip[at]);
    if (!std::isfinite(actual[at])) {
      ++non_finite;
      continue;
    }
    sum_sq_error += (double(actual[at]) - expected) * (double(actual[at]) - expected);
    sum_sq_conv += conv[at] * conv[at];
  }
  double const lipschitz = 1.375 * 1.1;
  double const error = std::sqrt(sum_sq_error / sum_sq_conv);
  bool const correct = non_finite == 0 && error <= 1e-3 * lipschitz;
  std::printf("output = mish(max(scale[c] * (conv + bias) - 0.1, -0.5)) + skip, %lld elements\n",
              static_cast<long long>(outputs));
  std::printf("error vs float64: ||error|| / ||conv + bias|| = %.3e (limit %.3e), %lld non-finite -> %s\n", error,
              1e-3 * lipschitz, static_cast<long long>(non_finite), correct ? "PASS" : "FAIL");

  EXAMPLE_CHECK_CUDA(cudaStreamDestroy(stream));
  return correct ? 0 : 1;
}
