// A user's own tile policy, injected through tileconv::conv2d<Policy>, gives the same (correct) results as the
// shipped ones: a policy changes speed, never results. Also a policy type of the user's own that is not a TilePolicy
// instantiation, and a policy too large for any GPU, which must be refused before anything is launched.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/gpu_harness.hpp"
#include "support/shapes.hpp"

#include <tileconv/tileconv.cuh>

#include <string>
#include <type_traits>
#include <vector>

namespace tileconv {
namespace test {
namespace {

/// 2 warps, BLOCK_R of one mma k step, 3 stages: the smallest legal block.
using TwoWarpPolicy = TilePolicy<32, 64, 8, 1, 2, 3>;
/// 64 x 128 tile with 64-pixel warp tiles and BLOCK_R 32 in 2 stages: 52 KiB, so the launcher must opt in to more
/// than the default 48 KiB of dynamic shared memory.
using WidePolicy = TilePolicy<64, 128, 32, 2, 2, 2>;
/// 5 stages of BLOCK_R 8: four tiles in flight, which most shapes' reductions do not even fill.
using DeepPolicy = TilePolicy<64, 64, 8, 2, 2, 5>;

/// A user's policy type: not a TilePolicy instantiation, but it has every member one has.
struct UserPolicy : TilePolicy<128, 64, 16, 4, 2, 3> {};
static_assert(!std::is_same<UserPolicy, TilePolicy<128, 64, 16, 4, 2, 3>>::value, "a distinct type");

/// 32 stages: 304 KiB of shared memory, more than any GPU gives one block.
using OversizedPolicy = TilePolicy<64, 64, 16, 2, 2, 32>;

/// A few shapes of the shared list that stress different tile edges; one of them large enough for the device
/// reference.
char const* const kCustomPolicyShapes[] = {
    "3x3 pad 1 with bias",
    "stride 2, odd H/W, pad 1",
    "W_out*H_out=35 < BLOCK_OW",
    "C*R*S=27, not a multiple of BLOCK_R",
    "K=130, just past two 64-channel tiles",
    "groups 4, K/groups=18 (edge channel tile in every group)",
    "deep reduction, C*R*S=2304",
    "dilation (1, 3), pad (1, 3)",
    "ResNet-50 layer3 3x3",
};

} // namespace

TEMPLATE_TEST_CASE("a user-defined policy injected via conv2d<Policy> gives correct results", "[gpu][custom_policy]",
                   TwoWarpPolicy, WidePolicy, DeepPolicy, UserPolicy) {
  using Policy = TestType;
  std::string const name = "TilePolicy<" + std::to_string(Policy::BLOCK_OC) + ", " + std::to_string(Policy::BLOCK_OW) +
                           ", " + std::to_string(Policy::BLOCK_R) + ", " + std::to_string(Policy::WARPS_OC) + ", " +
                           std::to_string(Policy::WARPS_OW) + ", " + std::to_string(Policy::STAGES) + ">";
  std::vector<Launcher> const launchers = gather_launchers<Policy>(name);
  std::uint64_t seed = 5000;
  for (char const* shape_name : kCustomPolicyShapes) {
    Conv2dHarness harness(require_shape(shape_name), seed);
    seed += 16;
    for (Launcher const& launcher : launchers) {
      check_launch(harness, launcher);
    }
  }
}

TEST_CASE("a policy that needs more shared memory than the device has is refused and launches nothing",
          "[gpu][custom_policy]") {
  Conv2dHarness harness(require_shape("3x3 pad 1 with bias"), 6000);
  harness.output().poison(nullptr);
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
  cudaError_t raw = cudaErrorUnknown;
  CHECK(tileconv::conv2d<OversizedPolicy>(harness.arguments(), nullptr, &raw) == Status::kErrorSharedMemoryExceeded);
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
  TILECONV_REQUIRE_CUDA(cudaGetLastError());
  CHECK(harness.output().changed_words() == 0);
}

} // namespace test
} // namespace tileconv
