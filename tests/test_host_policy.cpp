// TilePolicy's derived values, worked out by hand for the three default policies and three custom ones, and the claim
// behind the padded pitches: every warp's fragment reads of a shared-memory stage hit 32 different banks.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/fake_devices.hpp"
#include "support/shapes.hpp"

#include <tileconv/tileconv.cuh>

#include <algorithm>
#include <map>

namespace tileconv {
namespace test {
namespace {

using TwoWarpPolicy = TilePolicy<32, 64, 8, 1, 2, 3>; // 2 warps, one mma k step per stage
using WidePolicy = TilePolicy<64, 128, 32, 2, 2, 2>;  // 52 KiB: above the 48 KiB default
using DeepPolicy = TilePolicy<64, 64, 8, 2, 2, 5>;    // 5 stages of BLOCK_R 8

constexpr int kBanks = 32;

/// The most distinct 4-byte words that one of the 32 banks serves for one warp-wide shared load (1: no conflict; two
/// lanes reading the same word are a broadcast, not a conflict).
int bank_ways(int const (&words)[32]) {
  std::map<int, std::map<int, int>> words_by_bank;
  for (int word : words) {
    ++words_by_bank[word % kBanks][word];
  }
  int ways = 0;
  for (auto const& bank : words_by_bank) {
    ways = std::max(ways, static_cast<int>(bank.second.size()));
  }
  return ways;
}

/// Worst bank ways over every filter-fragment load of WarpMma (warp_mma.cuh) with row pitch `pitch`. The A fragment
/// of each 16-row mma tile is one ldmatrix.x4: four 8 x 4-float matrices, (rows 0-7 | 8-15) x (columns 0-3 | 4-7);
/// the hardware reads one matrix (8 rows of 16 bytes) per phase, so each matrix's 32 words must hit 32 banks.
template <class Policy> int filter_fragment_ways(int pitch) {
  int worst = 0;
  for (int warp_oc = 0; warp_oc < Policy::WARPS_OC; ++warp_oc) {
    for (int step = 0; step < Policy::kMmaStepsR; ++step) {
      for (int i = 0; i < Policy::kWarpMmasOc; ++i) {
        for (int matrix = 0; matrix < 4; ++matrix) {
          int words[32];
          for (int row = 0; row < 8; ++row) {
            for (int word = 0; word < 4; ++word) {
              int const r = warp_oc * Policy::WARP_OC + i * Policy::kMmaM + 8 * (matrix % 2) + row;
              int const column = step * Policy::kMmaK + 4 * (matrix / 2) + word;
              words[4 * row + word] = r * pitch + column;
            }
          }
          worst = std::max(worst, bank_ways(words));
        }
      }
    }
  }
  return worst;
}

/// Worst bank ways over every activation-fragment load: lane (g, t) reads rows t and t + 4 at column g of each
/// 8-column mma tile.
template <class Policy> int activation_fragment_ways(int pitch) {
  int worst = 0;
  for (int warp_ow = 0; warp_ow < Policy::WARPS_OW; ++warp_ow) {
    for (int step = 0; step < Policy::kMmaStepsR; ++step) {
      for (int j = 0; j < Policy::kWarpMmasOw; ++j) {
        for (int reg = 0; reg < 2; ++reg) {
          int words[32];
          for (int lane = 0; lane < 32; ++lane) {
            int const row = step * Policy::kMmaK + lane % 4 + reg * 4;
            int const column = warp_ow * Policy::WARP_OW + lane / 4 + j * Policy::kMmaN;
            words[lane] = row * pitch + column;
          }
          worst = std::max(worst, bank_ways(words));
        }
      }
    }
  }
  return worst;
}

} // namespace

TEST_CASE("LargeTilePolicy's derived values", "[policy]") {
  // Pinned on purpose: retuning the default changes these, and this test makes that change a deliberate one.
  using P = LargeTilePolicy;
  CHECK(P::BLOCK_OC == 128);
  CHECK(P::BLOCK_OW == 256);
  CHECK(P::BLOCK_R == 16);
  CHECK(P::STAGES == 3);
  CHECK(P::kWarps == 8);
  CHECK(P::kThreads == 256);
  CHECK(P::WARP_OC == 64);
  CHECK(P::WARP_OW == 64);
  CHECK(P::kWarpMmasOc == 4);
  CHECK(P::kWarpMmasOw == 8);
  CHECK(P::kMmaStepsR == 2);
  CHECK(P::kFilterPitch == 20);
  CHECK(P::kActivationPitch == 264);
  CHECK(P::kFilterStageFloats == 2560);     // 128 x 20
  CHECK(P::kActivationStageFloats == 4224); // 16 x 264
  CHECK(P::kSmemBytes == 81408);            // 3 stages x 6784 floats x 4 B = 79.5 KiB
  CHECK(P::kFilterRowsPerPass == 16);       // 256 threads / 16 columns
  CHECK(P::kFilterCopiesPerThread == 8);
  CHECK(P::kActivationRowsPerPass == 1); // 256 threads / 256 pixels
  CHECK(P::kActivationCopiesPerThread == 16);
}

TEST_CASE("NarrowTilePolicy's derived values", "[policy]") {
  using P = NarrowTilePolicy;
  CHECK(P::BLOCK_OC == 64);
  CHECK(P::BLOCK_OW == 256);
  CHECK(P::BLOCK_R == 16);
  CHECK(P::STAGES == 4);
  CHECK(P::kThreads == 256);
  CHECK(P::WARP_OC == 32);
  CHECK(P::WARP_OW == 64);
  CHECK(P::kWarpMmasOc == 2);
  CHECK(P::kWarpMmasOw == 8);
  CHECK(P::kFilterPitch == 20);
  CHECK(P::kActivationPitch == 264);
  CHECK(P::kSmemBytes == 88064); // 4 x (64 x 20 + 16 x 264) x 4 B = 86 KiB
  CHECK(P::kFilterRowsPerPass == 16);
  CHECK(P::kFilterCopiesPerThread == 4);
  CHECK(P::kActivationRowsPerPass == 1);
  CHECK(P::kActivationCopiesPerThread == 16);
}

TEST_CASE("SmallTilePolicy's derived values", "[policy]") {
  using P = SmallTilePolicy;
  CHECK(P::kWarps == 4);
  CHECK(P::kThreads == 128);
  CHECK(P::WARP_OC == 32);
  CHECK(P::WARP_OW == 32);
  CHECK(P::kWarpMmasOc == 2);
  CHECK(P::kWarpMmasOw == 4);
  CHECK(P::kMmaStepsR == 2);
  CHECK(P::kFilterPitch == 20);
  CHECK(P::kActivationPitch == 72);
  CHECK(P::kSmemBytes == 38912); // 4 x (64 x 20 + 16 x 72) x 4 B = 38 KiB
  CHECK(P::kFilterRowsPerPass == 8);
  CHECK(P::kFilterCopiesPerThread == 8);
  CHECK(P::kActivationRowsPerPass == 2);
  CHECK(P::kActivationCopiesPerThread == 8);
}

TEST_CASE("custom TilePolicy instantiations derive the same way", "[policy]") {
  SECTION("32 x 64, BLOCK_R 8, 1 x 2 warps, 3 stages") {
    using P = TwoWarpPolicy;
    CHECK(P::kThreads == 64);
    CHECK(P::WARP_OC == 32);
    CHECK(P::WARP_OW == 32);
    CHECK(P::kWarpMmasOc == 2);
    CHECK(P::kWarpMmasOw == 4);
    CHECK(P::kMmaStepsR == 1);
    CHECK(P::kFilterPitch == 12);
    CHECK(P::kActivationPitch == 72);
    CHECK(P::kSmemBytes == 11520); // 3 x (32 x 12 + 8 x 72) x 4 B
    CHECK(P::kFilterRowsPerPass == 8);
    CHECK(P::kFilterCopiesPerThread == 4);
    CHECK(P::kActivationRowsPerPass == 1);
    CHECK(P::kActivationCopiesPerThread == 8);
  }
  SECTION("64 x 128, BLOCK_R 32, 2 x 2 warps, 2 stages") {
    using P = WidePolicy;
    CHECK(P::kThreads == 128);
    CHECK(P::WARP_OC == 32);
    CHECK(P::WARP_OW == 64);
    CHECK(P::kWarpMmasOw == 8);
    CHECK(P::kMmaStepsR == 4);
    CHECK(P::kFilterPitch == 36);
    CHECK(P::kActivationPitch == 136);
    CHECK(P::kSmemBytes == 53248); // 2 x (64 x 36 + 32 x 136) x 4 B = 52 KiB, needs the opt-in
    CHECK(P::kFilterRowsPerPass == 4);
    CHECK(P::kFilterCopiesPerThread == 16);
    CHECK(P::kActivationRowsPerPass == 1);
    CHECK(P::kActivationCopiesPerThread == 32);
  }
}

TEMPLATE_TEST_CASE("padded pitches make every fragment read conflict-free", "[policy]", LargeTilePolicy,
                   NarrowTilePolicy, SmallTilePolicy, TwoWarpPolicy, WidePolicy, DeepPolicy) {
  using P = TestType;
  INFO("policy " << P::BLOCK_OC << "x" << P::BLOCK_OW << "x" << P::BLOCK_R);
  CHECK(filter_fragment_ways<P>(P::kFilterPitch) == 1);
  CHECK(activation_fragment_ways<P>(P::kActivationPitch) == 1);
  // Without the padding the same reads conflict: the check above can fail.
  CHECK(filter_fragment_ways<P>(P::BLOCK_R) > 1);
  CHECK(activation_fragment_ways<P>(P::BLOCK_OW) > 1);
}

TEMPLATE_TEST_CASE("filter rows and stages stay 16-byte aligned, as ldmatrix needs", "[policy]", LargeTilePolicy,
                   NarrowTilePolicy, SmallTilePolicy, TwoWarpPolicy, WidePolicy, DeepPolicy) {
  using P = TestType;
  INFO("policy " << P::BLOCK_OC << "x" << P::BLOCK_OW << "x" << P::BLOCK_R);
  // each ldmatrix row address is stage + row * kFilterPitch + a multiple of 4 floats
  CHECK(P::kFilterPitch % 4 == 0);
  CHECK(P::kFilterStageFloats % 4 == 0);
}

TEST_CASE("blocks per SM of the default policies on the three fake devices", "[policy]") {
  // Per block with the 1024 reserved bytes: large 82432 B, narrow 89088 B, small 39936 B.
  Conv2dProblem const problem = conv(2, 16, 32, 32, 32, 3, 3).pad(1, 1);
  struct Expected {
    DeviceInfo device;
    int large;
    int narrow;
    int small;
  };
  Expected const expected[] = {
      {h100(), 2, 2, 5},    // 233472 / 82432 = 2.83, / 89088 = 2.62, / 39936 = 5.85
      {rtx4090(), 1, 1, 2}, // 102400 / 82432 = 1.24, / 89088 = 1.15, / 39936 = 2.56
      {a100(), 2, 1, 4},    // 167936 / 82432 = 2.04, / 89088 = 1.89, / 39936 = 4.21
  };
  for (Expected const& e : expected) {
    INFO("sm_" << e.device.compute_capability());
    LaunchPlan large;
    LaunchPlan narrow;
    LaunchPlan small;
    REQUIRE(make_launch_plan<LargeTilePolicy>(problem, e.device, &large) == Status::kSuccess);
    REQUIRE(make_launch_plan<NarrowTilePolicy>(problem, e.device, &narrow) == Status::kSuccess);
    REQUIRE(make_launch_plan<SmallTilePolicy>(problem, e.device, &small) == Status::kSuccess);
    CHECK(large.blocks_per_sm == e.large);
    CHECK(narrow.blocks_per_sm == e.narrow);
    CHECK(small.blocks_per_sm == e.small);
  }
}

TEST_CASE("the default policies fit the 99 KiB per block of sm_86/sm_89", "[policy]") {
  CHECK(LargeTilePolicy::kSmemBytes <= 99 * 1024);
  CHECK(NarrowTilePolicy::kSmemBytes <= 99 * 1024);
  CHECK(SmallTilePolicy::kSmemBytes <= 99 * 1024);
  Conv2dProblem const problem = conv(8, 64, 512, 1024, 128, 3, 3);
  LaunchPlan plan;
  CHECK(make_launch_plan<LargeTilePolicy>(problem, rtx4090(), &plan) == Status::kSuccess);
  CHECK(make_launch_plan<NarrowTilePolicy>(problem, rtx4090(), &plan) == Status::kSuccess);
  CHECK(make_launch_plan<SmallTilePolicy>(problem, rtx4090(), &plan) == Status::kSuccess);
}

} // namespace test
} // namespace tileconv
