// A program built for an architecture the device is not: the binary tileconv_arch_tests holds sm_80 code only (SASS,
// no PTX; tests/CMakeLists.txt), so on any device of compute capability 9.0 or newer no tileconv kernel can load. Every
// entry point must then return kErrorNoKernelImage with the runtime's error, launch nothing, and leave the context
// usable and no error pending. On an sm_8x device the sm_80 code runs, and the same calls must simply succeed.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/gpu_harness.hpp"

#include <tileconv/tileconv.cuh>

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tileconv {
namespace test {

TEST_CASE("a kernel built for another architecture is kErrorNoKernelImage, launches nothing, leaves nothing pending",
          "[gpu][arch]") {
  DeviceInfo const device = current_device_info();
  bool const runs_here = device.cc_major == 8; // sm_80 SASS runs on 8.x devices only
  INFO("device sm_" << device.cc_major << device.cc_minor << ", binary sm_80 only: the kernels "
                    << (runs_here ? "run" : "cannot load"));

  Conv2dProblem const problem = conv(2, 16, 12, 12, 24, 3, 3).pad(1, 1);
  // Plain buffers and memsets, no kernel of this binary's own: none of them could load either.
  DeviceBuffer<float> input(problem.input_elements());
  DeviceBuffer<float> filter(problem.filter_elements());
  GuardedOutput output(problem.output_elements());
  TILECONV_REQUIRE_CUDA(cudaMemset(input.data(), 0, input.bytes()));
  TILECONV_REQUIRE_CUDA(cudaMemset(filter.data(), 0, filter.bytes()));
  Conv2dArguments args;
  args.problem = problem;
  args.input = input.data();
  args.filter = filter.data();
  args.output = output.data();

  struct Entry {
    char const* name;
    std::function<Status(cudaError_t*)> call;
  };
  std::vector<Entry> const entries = {
      {"tileconv::conv2d(args, stream, &error)",
       [&](cudaError_t* error) { return tileconv::conv2d(args, nullptr, error); }},
      {"Conv2d<SmallTilePolicy, kAnalytic>::run(args, device, stream, &error)",
       [&](cudaError_t* error) {
         return Conv2d<SmallTilePolicy, GatherKind::kAnalytic>::run(args, device, nullptr, error);
       }},
      {"Conv2d<SmallTilePolicy, kAnalytic>::plan(problem, device, &plan, &error)",
       [&](cudaError_t* error) {
         LaunchPlan plan;
         return Conv2d<SmallTilePolicy, GatherKind::kAnalytic>::plan(problem, device, &plan, error);
       }},
  };
  for (Entry const& entry : entries) {
    INFO(entry.name);
    output.poison(nullptr);
    TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
    cudaError_t raw = cudaSuccess;
    Status const status = entry.call(&raw);
    INFO("returned " << to_string(status) << ", runtime error " << cudaGetErrorName(raw));
    if (runs_here) {
      CHECK(status == Status::kSuccess);
      continue;
    }
    CHECK(status == Status::kErrorNoKernelImage);
    CHECK((raw == cudaErrorNoKernelImageForDevice || raw == cudaErrorInvalidDeviceFunction));
    // Intended (docs/errors.md): the launcher reports its own failed call in the Status and clears it, so that the
    // caller's next cudaGetLastError() does not find tileconv's error and blame its own kernel for it.
    CHECK(cudaPeekAtLastError() == cudaSuccess);
    (void)cudaGetLastError();
    TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize()); // not sticky: the context is fine
    CHECK(output.changed_words() == 0);             // nothing ran
  }
}

} // namespace test
} // namespace tileconv
