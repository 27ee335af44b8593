// make_launch_plan and the default launcher's choice on hand-written DeviceInfos of an H100, an RTX 4090 and an A100:
// the grid covers every output tile exactly once, respects the device's limits, and the occupancy estimate, waves and
// edge-tile waste match numbers worked out by hand. The cost model itself: test_host_kernel_choice.cpp.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/fake_devices.hpp"
#include "support/shapes.hpp"

#include <tileconv/tileconv.cuh>

#include <cstddef>
#include <cstdint>
#include <string>

namespace tileconv {
namespace test {
namespace {

/// Fixed policies for the hand-computed numbers, so that retuning the shipped defaults does not change them.
/// 4 x (128 x 20 + 16 x 136) x 4 B = 75776 B, + 1024 reserved = 76800 B per block.
using Tile128 = TilePolicy<128, 128, 16, 2, 4, 4>;
/// 4 x (64 x 20 + 16 x 72) x 4 B = 38912 B, + 1024 reserved = 39936 B per block.
using Tile64 = TilePolicy<64, 64, 16, 2, 2, 4>;
/// 2 warps, 3 stages of BLOCK_R 8.
using TwoWarp = TilePolicy<32, 64, 8, 1, 2, 3>;

} // namespace

TEMPLATE_TEST_CASE("the plan's grid covers every output tile exactly once and respects the device's limits", "[plan]",
                   LargeTilePolicy, NarrowTilePolicy, SmallTilePolicy, Tile128, TwoWarp) {
  using Policy = TestType;
  for (NamedDevice const& device : fake_devices()) {
    for (ShapeCase const& shape : shapes()) {
      Conv2dProblem const& problem = shape.problem;
      INFO(device.name << ", policy " << Policy::BLOCK_OC << "x" << Policy::BLOCK_OW << ": " << describe(shape));
      LaunchPlan plan;
      REQUIRE(make_launch_plan<Policy>(problem, device.info, &plan) == Status::kSuccess);

      // one block per tile: the last block starts inside the problem, and the tiles reach its end
      std::int64_t const x = plan.grid.x;
      std::int64_t const y = plan.grid.y;
      CHECK(x * Policy::BLOCK_OW >= problem.gemm_n());
      CHECK((x - 1) * Policy::BLOCK_OW < problem.gemm_n());
      CHECK(y * Policy::BLOCK_OC >= problem.gemm_m());
      CHECK((y - 1) * Policy::BLOCK_OC < problem.gemm_m());
      CHECK(std::int64_t{plan.grid.z} == std::int64_t{problem.batch} * problem.groups);
      CHECK(plan.blocks() == x * y * plan.grid.z);

      // the device's limits
      CHECK(x <= device.info.max_grid[0]);
      CHECK(y <= device.info.max_grid[1]);
      CHECK(std::int64_t{plan.grid.z} <= device.info.max_grid[2]);
      CHECK(plan.smem_bytes <= device.info.smem_per_block_optin);

      // the policy and the device as planned
      CHECK(plan.block_oc == Policy::BLOCK_OC);
      CHECK(plan.block_ow == Policy::BLOCK_OW);
      CHECK(plan.block_r == Policy::BLOCK_R);
      CHECK(plan.warps_oc == Policy::WARPS_OC);
      CHECK(plan.warps_ow == Policy::WARPS_OW);
      CHECK(plan.stages == Policy::STAGES);
      CHECK(plan.threads == Policy::kThreads);
      CHECK(plan.smem_bytes == Policy::kSmemBytes);
      CHECK(plan.sm_count == device.info.sm_count);
      CHECK_FALSE(plan.occupancy_from_runtime);

      // the estimate is the largest block count every per-SM limit allows
      int const per_block = plan.smem_bytes + device.info.smem_reserved_per_block;
      int const bps = plan.blocks_per_sm;
      CHECK(bps >= 1);
      CHECK(bps * per_block <= device.info.smem_per_sm);
      CHECK(bps * plan.threads <= device.info.max_threads_per_sm);
      CHECK(bps <= device.info.max_blocks_per_sm);
      CHECK(((bps + 1) * per_block > device.info.smem_per_sm ||
             (bps + 1) * plan.threads > device.info.max_threads_per_sm || bps + 1 > device.info.max_blocks_per_sm));

      // edge-tile waste: outputs over outputs the tiles cover
      CHECK(plan.useful_fraction > 0.0);
      CHECK(plan.useful_fraction <= 1.0);
      CHECK(plan.useful_fraction == Catch::Approx(double(problem.gemm_m()) * problem.gemm_n() /
                                                  (double(y * Policy::BLOCK_OC) * double(x * Policy::BLOCK_OW))));
    }
  }
}

TEST_CASE("blocks per SM from shared memory, threads and block limits match the hand computation", "[plan]") {
  struct Expected {
    DeviceInfo device;
    int tile128;
    int tile64;
  };
  Expected const expected[] = {
      {h100(), 3, 5},    // 233472 / 76800 = 3.04, / 39936 = 5.85
      {rtx4090(), 1, 2}, // 102400 / 76800 = 1.33, / 39936 = 2.56
      {a100(), 2, 4},    // 167936 / 76800 = 2.19, / 39936 = 4.21
  };
  Conv2dProblem const problem = conv(2, 16, 32, 32, 32, 3, 3).pad(1, 1);
  for (Expected const& e : expected) {
    INFO("sm_" << e.device.compute_capability());
    LaunchPlan large;
    LaunchPlan small;
    REQUIRE(make_launch_plan<Tile128>(problem, e.device, &large) == Status::kSuccess);
    REQUIRE(make_launch_plan<Tile64>(problem, e.device, &small) == Status::kSuccess);
    CHECK(large.blocks_per_sm == e.tile128);
    CHECK(small.blocks_per_sm == e.tile64);
  }
  SECTION("the thread limit binds when shared memory does not") {
    DeviceInfo device = h100();
    device.max_threads_per_sm = 512; // 2 blocks of 256 threads, 4 of 128
    LaunchPlan large;
    LaunchPlan small;
    REQUIRE(make_launch_plan<Tile128>(problem, device, &large) == Status::kSuccess);
    REQUIRE(make_launch_plan<Tile64>(problem, device, &small) == Status::kSuccess);
    CHECK(large.blocks_per_sm == 2);
    CHECK(small.blocks_per_sm == 4);
  }
  SECTION("the block limit binds when nothing else does") {
    DeviceInfo device = h100();
    device.max_blocks_per_sm = 1;
    LaunchPlan small;
    REQUIRE(make_launch_plan<Tile64>(problem, device, &small) == Status::kSuccess);
    CHECK(small.blocks_per_sm == 1);
  }
}

TEST_CASE("seed shape: grid, waves, wave efficiency and useful fraction by hand", "[plan]") {
  Conv2dProblem const seed = conv(8, 64, 512, 1024, 128, 3, 3); // 510 x 1022 = 521220 pixels, 128 channels
  SECTION("H100, 128 x 128 tiles") {
    LaunchPlan plan;
    REQUIRE(make_launch_plan<Tile128>(seed, h100(), &plan) == Status::kSuccess);
    CHECK(plan.grid.x == 4073u); // 4072 x 128 = 521216, 4 pixels left over
    CHECK(plan.grid.y == 1u);
    CHECK(plan.grid.z == 8u);
    CHECK(plan.blocks() == 32584);
    CHECK(plan.waves() == Catch::Approx(32584.0 / 396.0)); // 132 SMs x 3 blocks = 82.28 waves
    CHECK(plan.wave_efficiency() == Catch::Approx(32584.0 / 396.0 / 83.0));
    CHECK(plan.useful_fraction == Catch::Approx(521220.0 / 521344.0));
  }
  SECTION("H100, 64 x 64 tiles") {
    LaunchPlan plan;
    REQUIRE(make_launch_plan<Tile64>(seed, h100(), &plan) == Status::kSuccess);
    CHECK(plan.grid.x == 8145u); // 8144 x 64 = 521216
    CHECK(plan.grid.y == 2u);
    CHECK(plan.grid.z == 8u);
    CHECK(plan.blocks() == 130320);
    CHECK(plan.waves() == Catch::Approx(130320.0 / 660.0)); // 132 x 5
    CHECK(plan.wave_efficiency() == Catch::Approx(130320.0 / 660.0 / 198.0));
    CHECK(plan.useful_fraction == Catch::Approx(521220.0 / 521280.0));
  }
  SECTION("RTX 4090, 128 x 128 tiles") {
    LaunchPlan plan;
    REQUIRE(make_launch_plan<Tile128>(seed, rtx4090(), &plan) == Status::kSuccess);
    CHECK(plan.blocks_per_sm == 1);
    CHECK(plan.waves() == Catch::Approx(32584.0 / 128.0)); // 254.56
    CHECK(plan.wave_efficiency() == Catch::Approx(254.5625 / 255.0));
  }
  SECTION("A100, 64 x 64 tiles") {
    LaunchPlan plan;
    REQUIRE(make_launch_plan<Tile64>(seed, a100(), &plan) == Status::kSuccess);
    CHECK(plan.blocks_per_sm == 4);
    CHECK(plan.waves() == Catch::Approx(130320.0 / 432.0)); // 108 x 4 = 301.67
    CHECK(plan.wave_efficiency() == Catch::Approx(130320.0 / 432.0 / 302.0));
  }
}

TEST_CASE("useful fraction counts the padding of edge tiles in both directions", "[plan]") {
  // 72 channels in two 64-channel tiles, 7 x 5 = 35 pixels in one 64-pixel tile
  Conv2dProblem const problem = conv(3, 16, 7, 5, 72, 3, 3).pad(1, 1);
  LaunchPlan plan;
  REQUIRE(make_launch_plan<Tile64>(problem, h100(), &plan) == Status::kSuccess);
  CHECK(plan.grid.x == 1u);
  CHECK(plan.grid.y == 2u);
  CHECK(plan.grid.z == 3u);
  CHECK(plan.useful_fraction == Catch::Approx(72.0 * 35.0 / (128.0 * 64.0)));
}

TEST_CASE("waves and wave efficiency of hand-made plans", "[plan]") {
  LaunchPlan plan;
  plan.sm_count = 132;
  plan.blocks_per_sm = 3;
  plan.grid = dim3(396, 1, 1); // exactly one full wave
  CHECK(plan.waves() == Catch::Approx(1.0));
  CHECK(plan.wave_efficiency() == Catch::Approx(1.0));
  plan.grid = dim3(397, 1, 1); // one block spills into a second wave
  CHECK(plan.waves() == Catch::Approx(397.0 / 396.0));
  CHECK(plan.wave_efficiency() == Catch::Approx(397.0 / 396.0 / 2.0));
  plan.grid = dim3(66, 2, 3); // 396 blocks over three dimensions: full again
  CHECK(plan.wave_efficiency() == Catch::Approx(1.0));
  plan.blocks_per_sm = 1;
  plan.grid = dim3(100, 1, 1); // less than one wave: 100 of 132 SMs busy
  CHECK(plan.waves() == Catch::Approx(100.0 / 132.0));
  CHECK(plan.wave_efficiency() == Catch::Approx(100.0 / 132.0));
  plan.blocks_per_sm = 0; // nothing fits: no waves, not a division by zero
  CHECK(plan.waves() == 0.0);
  CHECK(plan.wave_efficiency() == 0.0);
}

TEST_CASE("the default launcher's choice plans every shared shape on every fake device", "[plan]") {
  for (ShapeCase const& shape : shapes()) {
    for (NamedDevice const& named : fake_devices()) {
      INFO(named.name << ": " << describe(shape));
      DeviceInfo const& device = named.info;
      for (std::size_t workspace : {std::size_t{0}, kUnlimitedWorkspace}) {
        KernelChoice const choice = choose_kernel(shape.problem, device, workspace);
        CHECK(choice.reason != choice_reason::kNoCandidate);
        LaunchPlan plan;
        CHECK(plan_kernel_choice(shape.problem, device, choice, &plan) == Status::kSuccess);
        // the pointwise gather's tiles span the batch, its grid's z is the groups alone
        std::int64_t const images = choice.gather == GatherKind::kPointwise ? 1 : shape.problem.batch;
        CHECK(std::int64_t{plan.grid.z} == images * shape.problem.groups * choice.split_k);
      }
    }
  }
}

TEST_CASE("the cost model resolves the gather as the launcher does", "[plan]") {
  for (ShapeCase const& shape : shapes()) {
    INFO(describe(shape));
    CHECK(detail::auto_gather(shape.problem, LargeTilePolicy::BLOCK_R) ==
          Conv2d<LargeTilePolicy>::gather_for(shape.problem));
    CHECK(detail::auto_gather(shape.problem, NarrowTilePolicy::BLOCK_R) ==
          Conv2d<NarrowTilePolicy>::gather_for(shape.problem));
    CHECK(detail::auto_gather(shape.problem, SmallTilePolicy::BLOCK_R) ==
          Conv2d<SmallTilePolicy>::gather_for(shape.problem));
  }
}

TEST_CASE("to_string(plan) names the policy, the gather, the grid and the occupancy source", "[plan]") {
  LaunchPlan plan;
  REQUIRE(make_launch_plan<Tile128>(conv(8, 64, 512, 1024, 128, 3, 3), h100(), &plan) == Status::kSuccess);
  std::string const text = to_string(plan);
  INFO(text);
  CHECK(text.find("grid=(4073, 1, 8)") != std::string::npos);
  CHECK(text.find("32584 blocks") != std::string::npos);
  CHECK(text.find("BLOCK_OC=128") != std::string::npos);
  CHECK(text.find("BLOCK_OW=128") != std::string::npos);
  CHECK(text.find("3 blocks/SM") != std::string::npos);
  CHECK(text.find("estimated from limits") != std::string::npos);
  CHECK(text.find("132 SMs") != std::string::npos);
  CHECK(text.find("analytic gather") != std::string::npos); // make_launch_plan's default gather
  CHECK(text.find("policy custom") != std::string::npos);   // Tile128 is not in the launcher's table
  CHECK(text.find("no split-K (36 steps)") != std::string::npos);
}

TEST_CASE("the launcher resolves the gather per problem", "[plan]") {
  // kAuto: channel-tiled wherever in_channels / groups is a multiple of BLOCK_R (16 for the default policies)
  using Auto = Conv2d<SmallTilePolicy>;
  CHECK(Auto::gather_for(conv(1, 16, 8, 8, 8, 3, 3)) == GatherKind::kChannelTiled);
  CHECK(Auto::gather_for(conv(1, 64, 8, 8, 8, 3, 3).stride(2, 2)) == GatherKind::kChannelTiled);
  CHECK(Auto::gather_for(conv(1, 3, 8, 8, 8, 7, 7)) == GatherKind::kAnalytic);
  CHECK(Auto::gather_for(conv(1, 24, 8, 8, 8, 3, 3)) == GatherKind::kAnalytic);
  CHECK(Auto::gather_for(conv(1, 32, 8, 8, 32, 3, 3).groups(2)) == GatherKind::kChannelTiled); // 16 per group
  CHECK(Auto::gather_for(conv(1, 32, 8, 8, 32, 3, 3).groups(4)) == GatherKind::kAnalytic);     // 8 per group
  CHECK(Conv2d<TwoWarp>::gather_for(conv(1, 8, 8, 8, 8, 3, 3)) == GatherKind::kChannelTiled);  // BLOCK_R 8
  // a fixed gather is taken as asked, applicable or not (can_implement says whether it is)
  CHECK(Conv2d<SmallTilePolicy, GatherKind::kAnalytic>::gather_for(conv(1, 16, 8, 8, 8, 3, 3)) ==
        GatherKind::kAnalytic);
  CHECK(Conv2d<SmallTilePolicy, GatherKind::kChannelTiled>::gather_for(conv(1, 8, 8, 8, 8, 3, 3)) ==
        GatherKind::kChannelTiled);
}

TEST_CASE("the launcher sends few-channel groups to the direct kernel only where its tile fits the device", "[plan]") {
  // 16 -> 7 channels a group, 8x8, stride 4, dilation (3, 1), out 7 x 23 (a random fuzz case's shape, padded
  // symmetrically). The direct kernel's smallest tile, 1 slice x 4 rows x 23 columns, stages 3 x 4 + 7 x 3 + 1 = 34
  // rows of 3 + 22 x 4 + 7 + 1 -> 100 floats for each of 16 planes, after 16 x 64 x 8 filter floats: 250368 bytes, past
  // every fake device's shared memory a block (227 KiB at most).
  Conv2dProblem const wide_reach = conv(2, 64, 37, 82, 28, 8, 8).pad(6, 7).stride(4, 4).dilation(3, 1).groups(4);
  detail::DirectTileShape smallest;
  smallest.rows = 4;
  smallest.columns = 23;
  CHECK(detail::DirectSmemLayout::bytes(wide_reach, smallest, 8) == (16 * 64 * 8 + 16 * 34 * 100) * 4);
  // 3x3, dilation 80: the smallest tile fits the H100's opt-in, not the RTX 4090's (test_host_direct_conv.cpp)
  Conv2dProblem const dilated = conv(1, 2, 40, 40, 2, 3, 3).dilation(80, 80).pad(80, 80).groups(2);
  for (NamedDevice const& device : fake_devices()) {
    INFO(device.name);
    REQUIRE(DirectConv2d::applies(wide_reach));
    LaunchPlan plan;
    CHECK(DirectConv2d::plan(wide_reach, device.info, &plan) == Status::kErrorSharedMemoryExceeded);
    CHECK_FALSE(DirectConv2d::takes(wide_reach, device.info));
    // the implicit GEMM's workspace (split-K's partial sums: 8 groups of 7 x 7 x 23 outputs fill few SMs), not the
    // direct path's none
    CHECK(conv2d_workspace_size(wide_reach, device.info) >=
          choose_kernel(wide_reach, device.info, kUnlimitedWorkspace).workspace_bytes);
    CHECK(conv2d_workspace_size(wide_reach, device.info) > 0);

    LaunchPlan direct_plan;
    bool const fits = DirectConv2d::plan(dilated, device.info, &direct_plan) == Status::kSuccess;
    CHECK(fits == (device.info.smem_per_block_optin >= (12 + 168 * 184) * 4)); // its smallest tile's bytes
    CHECK(DirectConv2d::takes(dilated, device.info) == fits);
  }
  CHECK(DirectConv2d::takes(conv(32, 256, 28, 28, 256, 3, 3).pad(1, 1).groups(32), h100())); // ResNeXt's
  CHECK_FALSE(DirectConv2d::takes(conv(1, 64, 8, 8, 64, 3, 3).pad(1, 1), h100()));           // dense
}

TEST_CASE("make_launch_plan records the gather it is given", "[plan]") {
  Conv2dProblem const problem = conv(1, 16, 8, 8, 8, 3, 3);
  LaunchPlan plan;
  REQUIRE(make_launch_plan<SmallTilePolicy>(problem, h100(), &plan) == Status::kSuccess);
  CHECK(plan.gather == GatherKind::kAnalytic); // the default: the gather that runs every problem
  REQUIRE(make_launch_plan<SmallTilePolicy>(problem, h100(), &plan, GatherKind::kChannelTiled) == Status::kSuccess);
  CHECK(plan.gather == GatherKind::kChannelTiled);
}

TEST_CASE("the channels-last gather's im2col map: its pixel box, and the copy engine's limits", "[plan]") {
  // 3 x 3, pad 1: the filter's corner stands from -1 to in - 2, the corners -1 from the first and the last position
  detail::Im2colAxis const same = detail::Im2colAxis::make(1, 1, 3, 1);
  CHECK(same.lower == -1);
  CHECK(same.upper == -1);
  CHECK(same.reach == 2);
  // dilation 2, 2 rows of padding before and none after: the corner stops 4 short of the last position
  detail::Im2colAxis const dilated = detail::Im2colAxis::make(2, 0, 3, 2);
  CHECK(dilated.lower == -2);
  CHECK(dilated.upper == -4);
  CHECK(dilated.reach == 4);
  // a 4D map's corners lie in [-128, 127], its offsets in [0, 255], its traversal strides in [1, 8]
  CHECK(detail::im2col_map_fits(conv(1, 32, 8, 8, 32, 3, 3).pad(1, 1)));
  CHECK(detail::im2col_map_fits(conv(1, 32, 8, 8, 32, 3, 3).pad(128, 128)));
  CHECK_FALSE(detail::im2col_map_fits(conv(1, 32, 8, 8, 32, 3, 3).pad(129, 1)));
  CHECK_FALSE(detail::im2col_map_fits(conv(1, 32, 8, 8, 32, 1, 1).pad(1, 128))); // upper corner 128
  CHECK(detail::im2col_map_fits(conv(1, 32, 64, 64, 32, 3, 3).stride(8, 8)));
  CHECK_FALSE(detail::im2col_map_fits(conv(1, 32, 64, 64, 32, 3, 3).stride(1, 9)));
  CHECK(detail::im2col_map_fits(conv(1, 32, 300, 300, 32, 3, 3).dilation(1, 64).pad(0, 128))); // upper 0, reach 128
  CHECK_FALSE(detail::im2col_map_fits(conv(1, 32, 300, 300, 32, 3, 3).dilation(1, 128)));      // reach 256
  // the plan refuses the channels-last gather there, not the channel-tiled one
  if (kBuiltForSm90a) {
    LaunchPlan plan;
    Conv2dProblem const strided = conv(1, 32, 64, 64, 32, 3, 3).stride(9, 9);
    CHECK(make_launch_plan<WgmmaSpecializedPolicy>(strided, h100(), &plan, GatherKind::kChannelsLast) ==
          Status::kErrorNotSupported);
    CHECK(make_launch_plan<WgmmaSpecializedPolicy>(strided, h100(), &plan, GatherKind::kChannelTiled) ==
          Status::kSuccess);
  }
}

TEST_CASE("the pointwise gather: 1 x 1 convs at stride 1 without padding, 4-pixel planes, unsplit", "[plan]") {
  Conv2dProblem const pointwise = conv(2, 64, 28, 28, 96, 1, 1);
  CHECK(detail::pointwise_applies(pointwise));
  CHECK(detail::pointwise_applies(conv(1, 32, 1, 4, 8, 1, 1).dilation(3, 3))); // a 1 x 1 filter ignores dilation
  CHECK(detail::pointwise_applies(conv(2, 64, 6, 6, 40, 1, 1).groups(2)));     // 32 channels a group
  CHECK_FALSE(detail::pointwise_applies(conv(2, 64, 28, 28, 96, 3, 3).pad(1, 1)));
  CHECK_FALSE(detail::pointwise_applies(conv(2, 64, 28, 28, 96, 1, 1).stride(2, 2)));
  CHECK_FALSE(detail::pointwise_applies(conv(2, 64, 28, 28, 96, 1, 1).pad(1, 0)));
  Conv2dProblem padded_after = pointwise;
  padded_after.pad_w_end = 1;
  CHECK_FALSE(detail::pointwise_applies(padded_after));
  CHECK_FALSE(detail::pointwise_applies(conv(2, 64, 7, 7, 96, 1, 1)));             // 49-pixel planes
  CHECK_FALSE(detail::pointwise_applies(conv(2, 48, 28, 28, 96, 1, 1)));           // 48 channels: no 32-channel tiles
  CHECK_FALSE(detail::pointwise_applies(conv(2, 64, 28, 28, 96, 1, 1).groups(4))); // 16 channels a group
  // the copy engine's image stride stays below 2^40 bytes: 2^38 floats an image
  CHECK(detail::pointwise_applies(conv(1, 1 << 16, 1 << 10, 1 << 11, 32, 1, 1))); // 2^37 floats
  CHECK_FALSE(detail::pointwise_applies(conv(1, 1 << 17, 1 << 10, 1 << 11, 32, 1, 1)));
  // the tiles number the batch's 32-pixel boxes in int: up to 2^30 pixels of them (a 36-pixel plane is 2 boxes)
  CHECK(detail::output_plane_boxes(conv(1, 32, 6, 6, 8, 1, 1)) == 2);
  CHECK(detail::output_plane_boxes(conv(1, 32, 8, 4, 8, 1, 1)) == 1);
  CHECK(detail::pointwise_applies(conv(1 << 15, 32, 32, 1024, 8, 1, 1)));          // 2^30 pixels
  CHECK_FALSE(detail::pointwise_applies(conv(1 << 15, 32, 36, 1024, 8, 1, 1)));    // 2^30 + 2^27
  CHECK(detail::pointwise_applies(conv(1 << 24, 32, 1, 36, 8, 1, 1)));             // 2^24 planes of 2 boxes
  CHECK_FALSE(detail::pointwise_applies(conv((1 << 24) + 1, 32, 1, 36, 8, 1, 1))); // one plane more
  // 16-byte aligned input, filter and output
  float* const aligned = reinterpret_cast<float*>(std::uintptr_t{1} << 20);
  CHECK(detail::pointwise_aligned(aligned, aligned + 4, aligned + 8));
  CHECK_FALSE(detail::pointwise_aligned(aligned + 1, aligned, aligned));
  CHECK_FALSE(detail::pointwise_aligned(aligned, aligned + 3, aligned));
  CHECK_FALSE(detail::pointwise_aligned(aligned, aligned, aligned + 2));
  // the policies: warp-specialized ones whose consumer warpgroups own 128-pixel multiples
  CHECK(detail::has_plane_box_gathers<WgmmaSpecializedNarrowPolicy>());
  CHECK(detail::has_plane_box_gathers<WgmmaSpecializedThinPolicy>());
  CHECK(detail::has_plane_box_gathers<WgmmaSpecializedWidePolicy>()); // 2 consumers of 128 pixels
  CHECK(detail::has_plane_box_gathers<WgmmaSpecializedSoloPolicy>());
  CHECK_FALSE(detail::has_plane_box_gathers<WgmmaSpecializedPolicy>());      // 2 consumers of 64 pixels
  CHECK_FALSE(detail::has_plane_box_gathers<WgmmaSpecializedSmallPolicy>()); // 64 pixels
  CHECK_FALSE(detail::has_plane_box_gathers<WgmmaNarrowPolicy>());
  if (kBuiltForSm90a) {
    LaunchPlan plan;
    CHECK(make_launch_plan<WgmmaSpecializedNarrowPolicy>(pointwise, h100(), &plan, GatherKind::kPointwise) ==
          Status::kSuccess);
    CHECK(plan.gather == GatherKind::kPointwise);
    // tiles of 4 boxes over both images' planes of 25 boxes (the last 16 pixels): 13 tiles spanning the batch, x
    // numbering them, z the one group; the last tile's last 2 boxes lie past the batch
    CHECK(plan.grid.x == 13);
    CHECK(plan.grid.y == 2);
    CHECK(plan.grid.z == 1);
    CHECK(plan.useful_fraction == Catch::Approx(96.0 * 784 * 2 / (128.0 * 13 * 128)));
    CHECK(make_launch_plan<WgmmaSpecializedNarrowPolicy>(conv(3, 64, 6, 6, 40, 1, 1).groups(2), h100(), &plan,
                                                         GatherKind::kPointwise) == Status::kSuccess);
    CHECK(plan.grid.x == 2); // 3 images of 2 boxes
    CHECK(plan.grid.y == 1);
    CHECK(plan.grid.z == 2);
    CHECK(make_launch_plan<WgmmaSpecializedNarrowPolicy>(pointwise, h100(), &plan, GatherKind::kPointwise, 2) ==
          Status::kErrorNotSupported);
    CHECK(make_launch_plan<WgmmaSpecializedNarrowPolicy>(conv(2, 64, 28, 28, 96, 1, 1).stride(2, 2), h100(), &plan,
                                                         GatherKind::kPointwise) == Status::kErrorNotSupported);
    CHECK(make_launch_plan<WgmmaSpecializedPolicy>(pointwise, h100(), &plan, GatherKind::kPointwise) ==
          Status::kErrorNotSupported);
    CHECK(make_launch_plan<WgmmaNarrowPolicy>(pointwise, h100(), &plan, GatherKind::kPointwise) ==
          Status::kErrorNotSupported);
  }
}

TEST_CASE("the tap-shifted gather: stride 1, output rows as wide as the input's, 4-pixel planes, unsplit", "[plan]") {
  Conv2dProblem const shifted = conv(2, 64, 28, 28, 96, 3, 3).pad(1, 1);
  CHECK(detail::tap_shifted_applies(shifted));
  CHECK(detail::tap_shifted_applies(conv(2, 64, 28, 28, 96, 1, 1)));                            // 1 x 1 as well
  CHECK(detail::tap_shifted_applies(conv(8, 64, 128, 128, 64, 3, 3).pad(2, 2).dilation(2, 2))); // dil2_c64_128
  CHECK(detail::tap_shifted_applies(conv(2, 32, 10, 8, 24, 3, 3).pad(0, 1))); // 8 x 8 output of 10 x 8 input
  CHECK(detail::tap_shifted_applies(conv(2, 32, 6, 12, 16, 3, 3).pad(3, 1))); // 10 x 12 output
  CHECK(detail::tap_shifted_applies(conv(2, 32, 18, 32, 24, 3, 3).pad(1, 3).dilation(1, 3)));
  CHECK_FALSE(detail::tap_shifted_applies(conv(2, 64, 28, 28, 96, 3, 3))); // 26-pixel output rows
  CHECK_FALSE(detail::tap_shifted_applies(conv(2, 64, 28, 28, 96, 3, 3).pad(1, 1).stride(2, 2)));
  CHECK_FALSE(detail::tap_shifted_applies(conv(2, 64, 28, 28, 96, 3, 3).pad(1, 1).stride(2, 1)));
  CHECK_FALSE(detail::tap_shifted_applies(conv(2, 64, 7, 7, 96, 3, 3).pad(1, 1)));   // 49-pixel planes
  CHECK_FALSE(detail::tap_shifted_applies(conv(2, 64, 14, 14, 96, 3, 3).pad(1, 1))); // 14-pixel rows
  CHECK_FALSE(detail::tap_shifted_applies(conv(2, 48, 28, 28, 96, 3, 3).pad(1, 1))); // no 32-channel tiles
  Conv2dProblem padded_right = conv(2, 64, 28, 28, 96, 3, 3).pad(1, 1);
  padded_right.pad_w_end = 2; // 29-pixel output rows
  CHECK_FALSE(detail::tap_shifted_applies(padded_right));
  // the shifted boxes' coordinates stay within int: the plane, plus the rows a tap reaches past it (2^28-pixel
  // input planes of 4096-pixel rows, the last tap 458750 or 458752 rows down: 2^31 - 4096 or 2^31 + 4096 pixels)
  Conv2dProblem const near_int = conv(1, 32, 1 << 16, 1 << 12, 8, 3, 3).pad(196608, 1).dilation(229375, 1);
  Conv2dProblem const past_int = conv(1, 32, 1 << 16, 1 << 12, 8, 3, 3).pad(196609, 1).dilation(229376, 1);
  REQUIRE(near_int.validate() == Status::kSuccess);
  REQUIRE(past_int.validate() == Status::kSuccess);
  CHECK(detail::tap_shifted_applies(near_int));
  CHECK_FALSE(detail::tap_shifted_applies(past_int));
  // 16-byte aligned input, output and workspace (a null workspace is refused by the workspace check instead)
  float* const aligned = reinterpret_cast<float*>(std::uintptr_t{1} << 20);
  CHECK(detail::tap_shifted_aligned(aligned, aligned + 4, aligned + 8));
  CHECK(detail::tap_shifted_aligned(aligned, aligned + 4, nullptr));
  CHECK_FALSE(detail::tap_shifted_aligned(aligned + 1, aligned, aligned));
  CHECK_FALSE(detail::tap_shifted_aligned(aligned, aligned + 2, aligned));
  CHECK_FALSE(detail::tap_shifted_aligned(aligned, aligned, aligned + 3));
  if (kBuiltForSm90a) {
    LaunchPlan plan;
    CHECK(make_launch_plan<WgmmaSpecializedNarrowPolicy>(shifted, h100(), &plan, GatherKind::kTapShifted) ==
          Status::kSuccess);
    CHECK(plan.gather == GatherKind::kTapShifted);
    CHECK(plan.k_tiles == 18); // 2 channel tiles x 9 taps
    CHECK(plan.grid.x == 13);  // as the pointwise gather's: 4 boxes a tile over 2 planes of 25
    CHECK(plan.grid.y == 2);
    CHECK(plan.grid.z == 1);
    // the output plane's boxes: 8 x 8 output of a 10 x 8 input is 2 boxes an image
    CHECK(make_launch_plan<WgmmaSpecializedThinPolicy>(conv(3, 32, 10, 8, 24, 3, 3).pad(0, 1), h100(), &plan,
                                                       GatherKind::kTapShifted) == Status::kSuccess);
    CHECK(plan.grid.x == 2); // 6 boxes, 4 a tile
    CHECK(make_launch_plan<WgmmaSpecializedNarrowPolicy>(shifted, h100(), &plan, GatherKind::kTapShifted, 2) ==
          Status::kErrorNotSupported);
    CHECK(make_launch_plan<WgmmaSpecializedNarrowPolicy>(conv(2, 64, 28, 28, 96, 3, 3), h100(), &plan,
                                                         GatherKind::kTapShifted) == Status::kErrorNotSupported);
    CHECK(make_launch_plan<WgmmaSpecializedPolicy>(shifted, h100(), &plan, GatherKind::kTapShifted) ==
          Status::kErrorNotSupported);
    CHECK(make_launch_plan<WgmmaNarrowPolicy>(shifted, h100(), &plan, GatherKind::kTapShifted) ==
          Status::kErrorNotSupported);
  }
}

TEST_CASE("a persistent launch has a block per tile up to as many as are resident at once", "[plan]") {
  LaunchPlan plan;
  plan.sm_count = 132;
  plan.blocks_per_sm = 2;
  plan.grid = dim3(25, 1, 32); // 800 tiles
  CHECK(plan.persistent_grid().x == 264);
  CHECK(plan.persistent_grid().y == 1);
  CHECK(plan.persistent_grid().z == 1);
  plan.grid = dim3(2, 4, 16); // 128 tiles: one block each
  CHECK(plan.persistent_grid().x == 128);
  plan.blocks_per_sm = 0; // an occupancy of 0 still launches a block per SM
  plan.grid = dim3(1000, 1, 1);
  CHECK(plan.persistent_grid().x == 132);
  // the warp-specialized blocks number the tiles in 32 bits: 2^31 tiles or more are refused
  if (kBuiltForSm90a) {
    Conv2dProblem const many_tiles = conv(65535, 32, 1, 1, 33000 * 128, 1, 1); // 65535 x 33000 tiles of 1 pixel
    REQUIRE(many_tiles.validate() == Status::kSuccess);
    CHECK(make_launch_plan<WgmmaSpecializedPolicy>(many_tiles, h100(), &plan, GatherKind::kChannelTiled) ==
          Status::kErrorGridTooLarge);
  }
}

TEST_CASE("to_string(GatherKind) names each kind", "[plan]") {
  CHECK(std::string(to_string(GatherKind::kAuto)) == "auto");
  CHECK(std::string(to_string(GatherKind::kAnalytic)) == "analytic");
  CHECK(std::string(to_string(GatherKind::kChannelTiled)) == "channel-tiled");
  CHECK(std::string(to_string(GatherKind::kChannelsLast)) == "channels-last");
  CHECK(std::string(to_string(GatherKind::kPointwise)) == "pointwise");
  CHECK(std::string(to_string(GatherKind::kTapShifted)) == "tap-shifted");
}

} // namespace test
} // namespace tileconv
