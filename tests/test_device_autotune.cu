// The opt-in autotuner on the GPU (issue #5): autotune_conv2d times candidates of the cost model, stores the fastest
// in the cache and leaves its result in the output; conv2d_autotuned launches the cached choice, tuning once per key;
// depthwise problems, which have one kernel, are refused by autotune_conv2d and routed by conv2d_autotuned.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/gpu_harness.hpp"
#include "support/shapes.hpp"

#include <tileconv/tileconv.cuh>

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

namespace tileconv {
namespace test {

TEST_CASE("autotune times the cost model's candidates, caches the fastest, and its result is right",
          "[gpu][autotune]") {
  // an edge shape, a layer the model runs unsplit (the analytic gather of conv1) and one it splits 24 ways on the
  // H100 (7 x 7 maps)
  std::string const name =
      GENERATE(as<std::string>{}, "3x3 pad 1 with bias", "ResNet-50 conv1 7x7/2", "ResNet-50 layer4 3x3");
  ShapeCase const shape = require_shape(name);
  Conv2dProblem const& problem = shape.problem;
  INFO(describe(shape));
  Conv2dHarness harness(shape, 5150);
  DeviceInfo const device = current_device_info();
  std::size_t const workspace_bytes = conv2d_workspace_size(problem, device);
  DeviceBuffer<unsigned char> workspace(static_cast<std::int64_t>(workspace_bytes));
  clear_autotune_cache();

  KernelChoice best;
  Launcher tune{"autotune_conv2d", [&](Conv2dArguments const& args, cudaStream_t stream) {
                  Conv2dArguments with_workspace = args;
                  with_workspace.workspace = workspace.data();
                  with_workspace.workspace_bytes = workspace_bytes;
                  return autotune_conv2d(with_workspace, stream, &best);
                }};
  check_launch(harness, tune); // the output holds the winner's result
  CHECK(best.reason == choice_reason::kAutotuned);
  KernelChoice candidates[kAutotuneCandidates];
  int const count = kernel_candidates(problem, device, workspace_bytes, candidates, kAutotuneCandidates);
  REQUIRE(count >= 1);
  bool listed = false;
  for (int i = 0; i < count; ++i) {
    listed = listed || (candidates[i].policy == best.policy && candidates[i].split_k == best.split_k);
  }
  INFO("autotuned: " << to_string(best.policy) << ", split-K " << best.split_k);
  CHECK(listed);

  Launcher cached{"conv2d_autotuned", [&](Conv2dArguments const& args, cudaStream_t stream) {
                    Conv2dArguments with_workspace = args;
                    with_workspace.workspace = workspace.data();
                    with_workspace.workspace_bytes = workspace_bytes;
                    return conv2d_autotuned(with_workspace, stream);
                  }};
  check_launch(harness, cached);
  clear_autotune_cache();
}

TEST_CASE("a depthwise problem is refused by autotune_conv2d and run by conv2d_autotuned's direct kernel",
          "[gpu][autotune][depthwise]") {
  ShapeCase const shape = require_shape("depthwise 3x3 (groups = channels)");
  Conv2dHarness harness(shape, 5151);
  clear_autotune_cache();
  KernelChoice best;
  Stream stream;
  harness.output().poison(stream.get());
  CHECK(autotune_conv2d(harness.arguments(), stream.get(), &best) == Status::kErrorNotSupported);
  TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
  CHECK(harness.output().changed_words() == 0); // nothing launched
  check_launch(harness, {"conv2d_autotuned",
                         [](Conv2dArguments const& args, cudaStream_t s) { return conv2d_autotuned(args, s); }});
}

} // namespace test
} // namespace tileconv
