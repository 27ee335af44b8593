// The policy table, choose_kernel's cost model and split-K choice, kernel_candidates and the plan of a choice, on
// hand-written DeviceInfos of an H100, an RTX 4090 and an A100: every benchmark shape gets a choice that plans and
// fits the device, small maps split the reduction when (and only when) the workspace allows, the choice is
// deterministic and consistent with the workspace it needs, and a full last wave beats more work per tile.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/fake_devices.hpp"
#include "support/shapes.hpp"

#include "../bench/shape_table.hpp"

#include <tileconv/host/kernel_choice.cuh>
#include <tileconv/host/launch_plan.cuh>
#include <tileconv/host/policy_table.cuh>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace tileconv {
namespace test {
namespace {

/// bench/shapes.csv, the benchmark's shape list, found next to this file's directory (or from the working directory).
std::vector<tileconv_bench::Shape> const& bench_shapes() {
  static std::vector<tileconv_bench::Shape> const shapes = [] {
    std::string const file = __FILE__;
    std::size_t const slash = file.find_last_of("/\\");
    std::string const tests_dir = slash == std::string::npos ? std::string(".") : file.substr(0, slash);
    std::vector<tileconv_bench::Shape> result;
    for (std::string const& path : {tests_dir + "/../bench/shapes.csv", std::string("bench/shapes.csv"),
                                    std::string("../bench/shapes.csv"), std::string("../../bench/shapes.csv")}) {
      if (tileconv_bench::read_shapes(path, &result).empty()) {
        break;
      }
    }
    return result;
  }();
  return shapes;
}

Conv2dProblem bench_shape(char const* name) {
  for (tileconv_bench::Shape const& shape : bench_shapes()) {
    if (shape.name == name) {
      return shape.problem;
    }
  }
  FAIL("bench/shapes.csv has no shape " << name);
  return Conv2dProblem{};
}

/// Whether `arch` lists `id`, with any gather.
bool lists(ArchPolicies const& arch, PolicyId id) {
  return detail::find_candidate(arch, id, GatherKind::kAuto) != nullptr ||
         detail::find_candidate(arch, id, GatherKind::kChannelsLast) != nullptr ||
         detail::find_candidate(arch, id, GatherKind::kPointwise) != nullptr ||
         detail::find_candidate(arch, id, GatherKind::kTapShifted) != nullptr;
}

/// Whether `id` is among the candidates of `device`'s architecture.
bool is_candidate(DeviceInfo const& device, PolicyId id) {
  ArchPolicies const* arch = arch_policies(device.compute_capability());
  return arch != nullptr && lists(*arch, id);
}

/// Every property a choice must have: a candidate of the architecture, a plan that fits the device, a valid split
/// count whose workspace fits, estimates in range.
void check_valid(Conv2dProblem const& problem, DeviceInfo const& device, std::size_t workspace_bytes,
                 KernelChoice const& choice) {
  CHECK(choice.reason != choice_reason::kNoCandidate);
  CHECK(is_candidate(device, choice.policy));
  CHECK(choice.split_k >= 1);
  CHECK(choice.split_k <= kMaxSplitK);
  CHECK(split_k_workspace_bytes(problem, choice.split_k) <= workspace_bytes);
  CHECK(choice.workspace_bytes <= workspace_bytes);
  CHECK(choice.workspace_bytes ==
        split_k_workspace_bytes(problem, choice.split_k) +
            (with_policy(choice.policy, [](auto policy) { return decltype(policy)::kMma == MmaKind::kWarpgroup; }) &&
                     choice.gather != GatherKind::kPointwise // which rounds the filter in the kernel
                 ? detail::filter_copy_bytes(problem)
                 : 0) +
            (choice.gather == GatherKind::kChannelsLast ? detail::channels_last_copy_bytes(problem) : 0));
  if (choice.gather == GatherKind::kChannelsLast) { // the warp-specialized policies' alone
    CHECK(with_policy(choice.policy, [](auto policy) { return decltype(policy)::kWarpSpecialized; }));
  } else if (choice.gather == GatherKind::kPointwise) { // those of them that have it, on 1 x 1 convs, unsplit
    CHECK(with_policy(choice.policy, [](auto policy) { return detail::has_plane_box_gathers<decltype(policy)>(); }));
    CHECK(detail::pointwise_applies(problem));
    CHECK(choice.split_k == 1);
  } else if (choice.gather == GatherKind::kTapShifted) { // the same policies, at stride 1 on rows as wide, unsplit
    CHECK(with_policy(choice.policy, [](auto policy) { return detail::has_plane_box_gathers<decltype(policy)>(); }));
    CHECK(detail::tap_shifted_applies(problem));
    CHECK(choice.split_k == 1);
  } else {
    CHECK(choice.gather == GatherKind::kAuto);
  }
  CHECK(choice.estimated_us > 0.0);
  CHECK(choice.estimated_sm_utilization > 0.0);
  CHECK(choice.estimated_sm_utilization <= 1.0);

  LaunchPlan plan;
  REQUIRE(plan_kernel_choice(problem, device, choice, &plan) == Status::kSuccess);
  CHECK(std::string(plan.policy_name) == to_string(choice.policy));
  CHECK(plan.split_k == choice.split_k);
  CHECK((plan.gather == GatherKind::kChannelsLast) == (choice.gather == GatherKind::kChannelsLast));
  CHECK(plan.reason == choice.reason);
  CHECK(plan.estimated_sm_utilization == choice.estimated_sm_utilization);
  CHECK(plan.workspace_bytes == split_k_workspace_bytes(problem, choice.split_k));
  CHECK(plan.grid.x <= unsigned(device.max_grid[0]));
  CHECK(plan.grid.y <= unsigned(device.max_grid[1]));
  CHECK(plan.grid.z <= unsigned(device.max_grid[2]));
  // the tiles of the gathers of plane boxes span the batch, their grid's z is the groups alone
  std::int64_t const images = detail::copies_plane_boxes(choice.gather) ? 1 : problem.batch;
  CHECK(std::int64_t{plan.grid.z} == images * problem.groups * choice.split_k);
  CHECK(plan.blocks_per_sm >= 1);
  CHECK(plan.smem_bytes <= device.smem_per_block_optin);
  CHECK(detail::is_split_count(plan.k_tiles, plan.split_k));
  if (choice.split_k > 1) {
    CHECK(plan.k_tiles_per_split >= plan.stages);                      // no split shorter than the pipeline
    CHECK((plan.split_k - 1) * plan.k_tiles_per_split < plan.k_tiles); // the last split is not empty
  }
}

using Large = PolicyType<PolicyId::kLargeTile>;

} // namespace

TEST_CASE("the policy table lists the default policies, names them and dispatches to their types", "[plan]") {
  CHECK(kPolicyCount == 13);
  CHECK(std::string(to_string(PolicyId::kLargeTile)) == "large-tile");
  CHECK(std::string(to_string(PolicyId::kNarrowTile)) == "narrow-tile");
  CHECK(std::string(to_string(PolicyId::kSmallTile)) == "small-tile");
  CHECK(std::string(to_string(PolicyId::kSquareTile)) == "square-tile");
  CHECK(std::string(to_string(PolicyId::kWgmmaSquare)) == "wgmma-square");
  CHECK(std::string(to_string(PolicyId::kWgmmaNarrow)) == "wgmma-narrow");
  CHECK(std::string(to_string(PolicyId::kWgmmaSmall)) == "wgmma-small");
  CHECK(std::string(to_string(PolicyId::kWgmmaSpecialized)) == "wgmma-specialized");
  CHECK(std::string(to_string(PolicyId::kWgmmaSpecializedSmall)) == "wgmma-specialized-small");
  CHECK(std::string(to_string(PolicyId::kWgmmaSpecializedNarrow)) == "wgmma-specialized-narrow");
  CHECK(std::string(to_string(PolicyId::kWgmmaSpecializedThin)) == "wgmma-specialized-thin");
  CHECK(std::string(to_string(PolicyId::kWgmmaSpecializedWide)) == "wgmma-specialized-wide");
  CHECK(std::string(to_string(PolicyId::kWgmmaSpecializedSolo)) == "wgmma-specialized-solo");
  CHECK(std::is_same_v<PolicyType<PolicyId::kWgmmaSquare>, WgmmaSquarePolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kWgmmaSmall>, WgmmaSmallPolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kWgmmaSpecialized>, WgmmaSpecializedPolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kWgmmaSpecializedSmall>, WgmmaSpecializedSmallPolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kWgmmaSpecializedNarrow>, WgmmaSpecializedNarrowPolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kWgmmaSpecializedThin>, WgmmaSpecializedThinPolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kWgmmaSpecializedWide>, WgmmaSpecializedWidePolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kWgmmaSpecializedSolo>, WgmmaSpecializedSoloPolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kLargeTile>, LargeTilePolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kNarrowTile>, NarrowTilePolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kSmallTile>, SmallTilePolicy>);
  CHECK(std::is_same_v<PolicyType<PolicyId::kSquareTile>, SquareTilePolicy>);
  CHECK(std::string(policy_name<NarrowTilePolicy>()) == "narrow-tile");
  CHECK(std::string(policy_name<TilePolicy<32, 64, 8, 1, 2, 3>>()) == "custom");

  auto const block_oc = [](PolicyId id) {
    return with_policy(id, [](auto policy) { return decltype(policy)::BLOCK_OC; });
  };
  CHECK(block_oc(PolicyId::kLargeTile) == LargeTilePolicy::BLOCK_OC);
  CHECK(block_oc(PolicyId::kNarrowTile) == NarrowTilePolicy::BLOCK_OC);
  CHECK(block_oc(PolicyId::kSmallTile) == SmallTilePolicy::BLOCK_OC);
  CHECK(block_oc(PolicyId::kSquareTile) == SquareTilePolicy::BLOCK_OC);
  CHECK(block_oc(static_cast<PolicyId>(99)) == PolicyType<kFallbackPolicy>::BLOCK_OC);

  SECTION("one row per architecture family, none before sm_80") {
    CHECK(arch_policies(75) == nullptr);
    for (int cc : {80, 86, 87, 89, 90, 100, 120}) {
      INFO("sm_" << cc);
      ArchPolicies const* arch = arch_policies(cc);
      REQUIRE(arch != nullptr);
      CHECK(arch->candidate_count >= 1);
      CHECK(arch->reduce_bytes_per_us > 0.0);
      CHECK(arch->candidate_count <= detail::kMaxCandidates);
      for (int i = 0; i < arch->candidate_count; ++i) {
        PolicyCandidate const& c = arch->candidates[i];
        INFO(to_string(c.policy) << ", " << to_string(c.gather));
        CHECK(c.registers_channel_tiled > 0);
        CHECK(c.registers_analytic > 0);
        CHECK(c.step_us_alone >= c.step_us_shared); // several blocks never take less SM time per step than one
        CHECK(c.step_us_shared > 0.0);
        // a row's gather: the channels-last one only for a warp-specialized policy, the pointwise and tap-shifted ones
        // only for those that have them, the launcher's own (kAuto) only for a policy that has another, and each at
        // most once per policy
        bool const specialized = with_policy(c.policy, [](auto policy) { return decltype(policy)::kWarpSpecialized; });
        bool const only_channels_last =
            with_policy(c.policy, [](auto policy) { return detail::channels_last_only<decltype(policy)>(); });
        CHECK((c.gather == GatherKind::kAuto || detail::copies_by_tma(c.gather)));
        CHECK((c.gather != GatherKind::kChannelsLast || specialized));
        CHECK((!detail::copies_plane_boxes(c.gather) ||
               with_policy(c.policy, [](auto policy) { return detail::has_plane_box_gathers<decltype(policy)>(); })));
        CHECK((c.gather != GatherKind::kAuto || !only_channels_last));
        CHECK(detail::find_candidate(*arch, c.policy, c.gather) == &c);
      }
    }
    CHECK(std::string(arch_policies(80)->name) == std::string(arch_policies(86)->name));
    CHECK(std::string(arch_policies(89)->name) == "sm_89");
    CHECK(std::string(arch_policies(90)->name) == "sm_90");
    for (PolicyId id : {PolicyId::kLargeTile, PolicyId::kNarrowTile, PolicyId::kSmallTile}) {
      CHECK(is_candidate(h100(), id));
      CHECK(is_candidate(rtx4090(), id));
      CHECK(is_candidate(a100(), id));
    }
    // 105 KiB of shared memory: two blocks per SM only in Hopper's 228 KiB, none at all in a 4090's 100 KiB
    CHECK(is_candidate(h100(), PolicyId::kSquareTile));
    CHECK_FALSE(is_candidate(rtx4090(), PolicyId::kSquareTile));
    CHECK_FALSE(is_candidate(a100(), PolicyId::kSquareTile));
    for (int cc : {80, 86, 89, 100, 120}) {
      INFO("sm_" << cc);
      CHECK_FALSE(lists(*arch_policies(cc), PolicyId::kSquareTile));
    }
  }
  SECTION("the wgmma tiles: candidates on sm_90 alone, planned only in an sm_90a build") {
    for (PolicyId id :
         {PolicyId::kWgmmaSquare, PolicyId::kWgmmaNarrow, PolicyId::kWgmmaSmall, PolicyId::kWgmmaSpecialized,
          PolicyId::kWgmmaSpecializedSmall, PolicyId::kWgmmaSpecializedNarrow, PolicyId::kWgmmaSpecializedThin,
          PolicyId::kWgmmaSpecializedWide, PolicyId::kWgmmaSpecializedSolo}) {
      INFO(to_string(id));
      CHECK(lists(*arch_policies(90), id));
      for (int cc : {80, 86, 89, 100, 120}) {
        INFO("sm_" << cc);
        CHECK_FALSE(lists(*arch_policies(cc), id));
      }
    }
    LaunchPlan plan;
    Conv2dProblem const problem = bench_shape("r50_3x3_c128_28");
    CHECK(make_launch_plan<WgmmaSquarePolicy>(problem, h100(), &plan) ==
          (kBuiltForSm90a ? Status::kSuccess : Status::kErrorArchNotSupported));
    // wgmma is Hopper's alone: an A100, a 4090 and a Blackwell part refuse the policy, whatever the build
    DeviceInfo blackwell = h100();
    blackwell.cc_major = 10;
    for (DeviceInfo const& device : {a100(), rtx4090(), blackwell}) {
      CHECK(make_launch_plan<WgmmaSquarePolicy>(problem, device, &plan) == Status::kErrorArchNotSupported);
    }
  }
  SECTION("a wgmma tile is chosen only with room for its filter copy in the workspace, but for the pointwise one") {
    for (tileconv_bench::Shape const& shape : bench_shapes()) {
      INFO(shape.name);
      // the pointwise kernel rounds the filter stages it copies: it needs no filter copy
      auto const is_wgmma = [](KernelChoice const& choice) {
        return choice.gather != GatherKind::kPointwise &&
               with_policy(choice.policy, [](auto policy) { return decltype(policy)::kMma == MmaKind::kWarpgroup; });
      };
      CHECK_FALSE(is_wgmma(choose_kernel(shape.problem, h100(), 0)));
      KernelChoice const unlimited = choose_kernel(shape.problem, h100(), kUnlimitedWorkspace);
      if (is_wgmma(unlimited)) {
        CHECK(unlimited.workspace_bytes >= detail::filter_copy_bytes(shape.problem));
        // one byte short: another policy, or the same with fewer splits or without the channels-last copy
        KernelChoice const short_by_one = choose_kernel(shape.problem, h100(), unlimited.workspace_bytes - 1);
        CHECK((short_by_one.policy != unlimited.policy || short_by_one.split_k < unlimited.split_k ||
               short_by_one.gather != unlimited.gather));
      }
    }
  }
}

TEST_CASE("split_k_workspace_bytes and make_launch_plan with split-K", "[plan]") {
  Conv2dProblem const problem = conv(32, 512, 7, 7, 512, 3, 3).pad(1, 1); // 288 steps of 16
  CHECK(split_k_workspace_bytes(problem, 1) == 0);
  CHECK(split_k_workspace_bytes(problem, 0) == 0);
  CHECK(split_k_workspace_bytes(problem, 4) == std::size_t{4} * 32 * 512 * 49 * sizeof(float));

  LaunchPlan plan;
  REQUIRE(make_launch_plan<SmallTilePolicy>(problem, h100(), &plan, GatherKind::kChannelTiled, 4) == Status::kSuccess);
  CHECK(plan.grid.x == 1u);
  CHECK(plan.grid.y == 8u);
  CHECK(plan.grid.z == 32u * 4u); // (image * groups + group) * split_k + split
  CHECK(plan.split_k == 4);
  CHECK(plan.k_tiles == 288);
  CHECK(plan.k_tiles_per_split == 72);
  CHECK(plan.workspace_bytes == split_k_workspace_bytes(problem, 4));
  CHECK(std::string(plan.policy_name) == "small-tile");
  CHECK(plan.reason == choice_reason::kFixedPolicy);
  CHECK(plan.estimated_sm_utilization == 0.0);

  SECTION("split counts below 1 or that would leave a split empty are refused") {
    CHECK(detail::is_split_count(7, 4));  // 2 + 2 + 2 + 1
    CHECK(!detail::is_split_count(7, 6)); // 2 + 2 + 2 + 1 + 0 + 0
    CHECK(detail::is_split_count(7, 7));
    CHECK(!detail::is_split_count(7, 8));
    CHECK(!detail::is_split_count(7, 0));
    Conv2dProblem const seven = conv(1, 16, 8, 8, 64, 7, 1).pad(3, 0); // 16 channels x 7 taps / 16 = 7 steps
    CHECK(make_launch_plan<SmallTilePolicy>(seven, h100(), &plan, GatherKind::kAnalytic, 4) == Status::kSuccess);
    CHECK(make_launch_plan<SmallTilePolicy>(seven, h100(), &plan, GatherKind::kAnalytic, 6) ==
          Status::kErrorInvalidSplitK);
    CHECK(make_launch_plan<SmallTilePolicy>(seven, h100(), &plan, GatherKind::kAnalytic, 8) ==
          Status::kErrorInvalidSplitK);
    CHECK(make_launch_plan<SmallTilePolicy>(seven, h100(), &plan, GatherKind::kAnalytic, 0) ==
          Status::kErrorInvalidSplitK);
  }
  SECTION("batch * groups * split_k must fit the grid's z") {
    DeviceInfo device = h100();
    device.max_grid[2] = 32 * 4;
    CHECK(make_launch_plan<SmallTilePolicy>(problem, device, &plan, GatherKind::kChannelTiled, 4) == Status::kSuccess);
    device.max_grid[2] = 32 * 4 - 1;
    CHECK(make_launch_plan<SmallTilePolicy>(problem, device, &plan, GatherKind::kChannelTiled, 4) ==
          Status::kErrorGridTooLarge);
  }
}

TEST_CASE("every benchmark shape gets a valid choice on the H100, the RTX 4090 and the A100", "[plan]") {
  REQUIRE(bench_shapes().size() >= 13);
  for (NamedDevice const& device : fake_devices()) {
    for (tileconv_bench::Shape const& shape : bench_shapes()) {
      for (std::size_t workspace : {std::size_t{0}, std::size_t{1} << 20, kUnlimitedWorkspace}) {
        INFO(device.name << ", " << shape.name << ", workspace " << workspace);
        KernelChoice const choice = choose_kernel(shape.problem, device.info, workspace);
        check_valid(shape.problem, device.info, workspace, choice);
        if (workspace == 0) {
          CHECK(choice.split_k == 1);
        }
      }
    }
  }
}

TEST_CASE("every shape of the shared list gets a valid choice on every fake device", "[plan]") {
  for (NamedDevice const& device : fake_devices()) {
    for (ShapeCase const& shape : shapes()) {
      for (std::size_t workspace : {std::size_t{0}, kUnlimitedWorkspace}) {
        INFO(device.name << ", " << describe(shape) << ", workspace " << workspace);
        check_valid(shape.problem, device.info, workspace, choose_kernel(shape.problem, device.info, workspace));
      }
    }
  }
}

TEST_CASE("small maps split the reduction when the workspace allows, and only then", "[plan]") {
  struct Case {
    char const* shape;
    char const* device;
    DeviceInfo info;
  };
  std::vector<Case> cases = {
      {"b1_c512_14", "H100", h100()}, {"r50_3x3_c512_7", "A100", a100()},     {"r50_3x3_c256_14", "A100", a100()},
      {"b1_c512_14", "A100", a100()}, {"r50_3x3_c256_14", "4090", rtx4090()}, {"b1_c512_14", "4090", rtx4090()},
  };
  if (!kBuiltForSm90a) {
    cases.push_back({"r50_3x3_c512_7", "H100", h100()}); // the wgmma small tile runs it unsplit (section below)
  }
  for (Case const& c : cases) {
    INFO(c.shape << " on the " << c.device);
    Conv2dProblem const problem = bench_shape(c.shape);
    KernelChoice const split = choose_kernel(problem, c.info, kUnlimitedWorkspace);
    CHECK(split.split_k > 1);
    CHECK(split.reason == choice_reason::kSplitK);
    KernelChoice const unsplit = choose_kernel(problem, c.info, 0);
    CHECK(unsplit.split_k == 1);
    CHECK(unsplit.reason == choice_reason::kSplitKNeedsWorkspace);
    CHECK(split.estimated_us < unsplit.estimated_us);
    // one byte short of the split's partial sums: a smaller split or none
    KernelChoice const short_by_one =
        choose_kernel(problem, c.info, split_k_workspace_bytes(problem, split.split_k) - 1);
    CHECK(short_by_one.split_k < split.split_k);
  }
  SECTION("H100: the 7 x 7 map unsplit on 64-pixel channels-last tiles, batch 1 at 512 channels split 8 ways on them") {
    // with the sm_90a kernels the 64-pixel specialized tile on the channels-last copy (docs/perf-notes.md, v20:
    // 0.066 ms against 0.083 for the 128-pixel one and wgmma-small's 0.110 unsplit), else the mma.sync ones (small
    // tile split 2)
    KernelChoice const c7 = choose_kernel(bench_shape("r50_3x3_c512_7"), h100(), kUnlimitedWorkspace);
    CHECK(c7.policy == (kBuiltForSm90a ? PolicyId::kWgmmaSpecializedSmall : PolicyId::kSmallTile));
    CHECK(c7.gather == (kBuiltForSm90a ? GatherKind::kChannelsLast : GatherKind::kAuto));
    CHECK(c7.split_k == (kBuiltForSm90a ? 1 : 2));
    // batch 1: 16 tiles x 8 = 128 blocks on 132 SMs, 18 steps each (perf-notes v38, session 20 sweep: 22.8 us
    // against 24.9 for the 128 x 128 tile split 16, the choice before the filter's pass was counted); without the
    // sm_90a kernels 8 square tiles x 16
    KernelChoice const b1 = choose_kernel(bench_shape("b1_c512_14"), h100(), kUnlimitedWorkspace);
    CHECK(b1.policy == (kBuiltForSm90a ? PolicyId::kWgmmaSpecializedSmall : PolicyId::kSquareTile));
    CHECK(b1.gather == (kBuiltForSm90a ? GatherKind::kChannelsLast : GatherKind::kAuto));
    CHECK(b1.split_k == (kBuiltForSm90a ? 8 : 16));
  }
  SECTION("H100: r50_3x3_c256_14 is not split: 128 tiles of 128 x 128, each alone on an SM, beat every split") {
    // measured (docs/perf-notes.md, v8, v9 and v12): square unsplit 0.098 ms, large split 2 0.115 ms; wgmma-square
    // unsplit 0.088 ms, split 2 0.090 ms; wgmma-specialized unsplit 0.0675 ms
    KernelChoice const choice = choose_kernel(bench_shape("r50_3x3_c256_14"), h100(), kUnlimitedWorkspace);
    CHECK(choice.policy == (kBuiltForSm90a ? PolicyId::kWgmmaSpecialized : PolicyId::kSquareTile));
    CHECK(choice.split_k == 1);
  }
  SECTION("H100: the pointwise gather on the 1 x 1 row, without workspace, only with 16-byte aligned tensors") {
    // docs/perf-notes.md, v27 (H200): r50_1x1_c256_56 ~40 us with the pointwise gather, 52 with wgmma-narrow's
    // register gather; v39: 36.5 us on the 64 x 256 tile, 38.0 on the 64 x 128 one; the 3 x 3 rows and the strided
    // ones are not pointwise
    for (tileconv_bench::Shape const& shape : bench_shapes()) {
      INFO(shape.name);
      KernelChoice const choice = choose_kernel(shape.problem, h100(), kUnlimitedWorkspace);
      bool const expected = kBuiltForSm90a && shape.name == "r50_1x1_c256_56";
      CHECK((choice.gather == GatherKind::kPointwise) == expected);
      if (expected) {
        CHECK(choice.policy == PolicyId::kWgmmaSpecializedWide);
        CHECK(choice.split_k == 1);
        CHECK(choice.reason == choice_reason::kPointwise);
        // no workspace: the kernel rounds the filter stages it copies
        CHECK(choice.workspace_bytes == 0);
        CHECK(choose_kernel(shape.problem, h100(), 0) == choice);
        KernelChoice const misaligned = choose_kernel(shape.problem, h100(), kUnlimitedWorkspace, false);
        CHECK(misaligned.gather != GatherKind::kPointwise);
        CHECK(misaligned.estimated_us > choice.estimated_us);
        KernelChoice list[3];
        int const count = kernel_candidates(shape.problem, h100(), kUnlimitedWorkspace, list, 3, false);
        for (int i = 0; i < count; ++i) {
          CHECK(list[i].gather != GatherKind::kPointwise);
        }
      }
    }
  }
  SECTION(
      "H100: ResNet-50's wider 1 x 1 layers on the 128-channel pointwise tile, its 64-channel one on the narrowest") {
    // docs/perf-notes.md, v39 (H200, back-to-back launches): the 128 x 128 tile with one consumer warpgroup 46.2 us on
    // 64 -> 256 at 56 x 56, 30.4 on 512 -> 128 at 28 x 28, 28.3 on 1024 -> 256 at 14 x 14, 37.2 on 128 -> 512 at
    // 28 x 28 and 47.3 on 256 -> 128 at 56 x 56, where the model chose wgmma-specialized's register gather before
    // (62.2, 42.0, 39.1, 48.6 us) or the 64 x 128 pointwise tile (70.4); on 256 -> 64 it computes half padding (44.4)
    struct Layer {
      int in_channels, size, out_channels;
      PolicyId expected;
    };
    for (Layer const layer :
         {Layer{64, 56, 256, PolicyId::kWgmmaSpecializedSolo}, Layer{512, 28, 128, PolicyId::kWgmmaSpecializedSolo},
          Layer{1024, 14, 256, PolicyId::kWgmmaSpecializedSolo}, Layer{128, 28, 512, PolicyId::kWgmmaSpecializedSolo},
          Layer{256, 56, 128, PolicyId::kWgmmaSpecializedSolo}, Layer{256, 56, 64, PolicyId::kWgmmaSpecializedWide}}) {
      Conv2dProblem const problem = conv(32, layer.in_channels, layer.size, layer.size, layer.out_channels, 1, 1);
      INFO(layer.in_channels << " -> " << layer.out_channels << " at " << layer.size);
      KernelChoice const choice = choose_kernel(problem, h100(), kUnlimitedWorkspace);
      if (kBuiltForSm90a) {
        CHECK(choice.policy == layer.expected);
        CHECK(choice.gather == GatherKind::kPointwise);
        CHECK(choice.split_k == 1);
      } else {
        CHECK(choice.gather != GatherKind::kPointwise);
      }
    }
  }
  SECTION("H100: the channels-last copy where it costs less than it saves, and only with room for it") {
    // docs/perf-notes.md, v18 (H200): the copy pays on the 3x3 rows whose input is small next to their math, not on
    // stride2_c128_56 (51 MB of input, 0.085 ms against 0.072 without) or r50_1x1_c256_56; v21 and v22: the 64- and
    // 32-channel specialized tiles, channels-last alone, on the 3x3 layers of at most 64 output channels
    std::vector<std::string> const copied = {"seed_8x64x512x1024_k128_3x3",
                                             "r50_3x3_c64_56",
                                             "r50_3x3_c128_28",
                                             "r50_3x3_c256_14",
                                             "r50_3x3_c512_7",
                                             "dil2_c64_128",
                                             "unet_c32_512",
                                             "b1_c512_14"};
    for (tileconv_bench::Shape const& shape : bench_shapes()) {
      INFO(shape.name);
      KernelChoice const choice = choose_kernel(shape.problem, h100(), kUnlimitedWorkspace);
      bool const expected = kBuiltForSm90a && std::find(copied.begin(), copied.end(), shape.name) != copied.end();
      CHECK((choice.gather == GatherKind::kChannelsLast) == expected);
      // the reason names the copy where it beat the same policy's channel-tiled row
      bool const only_gather = detail::find_candidate(*arch_policies(90), choice.policy, GatherKind::kAuto) == nullptr;
      if (choice.gather == GatherKind::kChannelsLast) {
        CHECK((choice.reason == choice_reason::kChannelsLast) != only_gather);
        // one byte short of the smallest channels-last workspace (unsplit: the filter's copy and the input's)
        KernelChoice const without = choose_kernel(shape.problem, h100(),
                                                   detail::filter_copy_bytes(shape.problem) +
                                                       detail::channels_last_copy_bytes(shape.problem) - 1);
        CHECK(without.gather != GatherKind::kChannelsLast);
      }
    }
  }
  SECTION("H100: the tap-shifted gather where the workspace holds the filter's tile image but not the input's copy") {
    // docs/perf-notes.md, v29 (H200, back-to-back launches): with the tile image's workspace alone, r50_3x3_c64_56
    // 0.0676 ms tap-shifted against 0.0914 on wgmma-narrow, dil2_c64_128 0.0856 against 0.1010, unet_c32_512 0.2551
    // (32-channel tile) against 0.3824; r50_3x3_c128_28 0.0825 against 0.0570 on wgmma-specialized's register gather.
    // With the input's copy, the channels-last gather measured faster on every one of them.
    std::vector<std::string> const shifted = {"r50_3x3_c64_56", "dil2_c64_128", "unet_c32_512"};
    for (tileconv_bench::Shape const& shape : bench_shapes()) {
      INFO(shape.name);
      CHECK(choose_kernel(shape.problem, h100(), kUnlimitedWorkspace).gather != GatherKind::kTapShifted);
      KernelChoice const image_only = choose_kernel(shape.problem, h100(), detail::filter_copy_bytes(shape.problem));
      bool const expected = kBuiltForSm90a && std::find(shifted.begin(), shifted.end(), shape.name) != shifted.end();
      CHECK((image_only.gather == GatherKind::kTapShifted) == expected);
      if (expected) {
        CHECK(image_only.policy ==
              (shape.name == "unet_c32_512" ? PolicyId::kWgmmaSpecializedThin : PolicyId::kWgmmaSpecializedNarrow));
        CHECK(image_only.reason == choice_reason::kTapShifted);
        CHECK(image_only.workspace_bytes == detail::filter_copy_bytes(shape.problem));
        // the copy engine needs the input, the output and the workspace 16-byte aligned
        KernelChoice const misaligned =
            choose_kernel(shape.problem, h100(), detail::filter_copy_bytes(shape.problem), false);
        CHECK(misaligned.gather != GatherKind::kTapShifted);
      }
    }
  }
  SECTION("RTX 4090: 256 small tiles fill exactly one wave of 2 x 128 SMs, so r50_3x3_c512_7 is not split") {
    KernelChoice const choice = choose_kernel(bench_shape("r50_3x3_c512_7"), rtx4090(), kUnlimitedWorkspace);
    CHECK(choice.policy == PolicyId::kSmallTile);
    CHECK(choice.split_k == 1);
    LaunchPlan plan;
    REQUIRE(plan_kernel_choice(bench_shape("r50_3x3_c512_7"), rtx4090(), choice, &plan) == Status::kSuccess);
    CHECK(plan.waves() == Catch::Approx(1.0));
  }
  SECTION("a workspace for a few splits gets the best split that fits") {
    Conv2dProblem const problem = bench_shape("b1_c512_14");
    std::size_t const eight = split_k_workspace_bytes(problem, 8);
    KernelChoice const choice = choose_kernel(problem, h100(), eight);
    CHECK(choice.split_k > 1);
    CHECK(choice.split_k <= 8);
    CHECK(choice.reason == choice_reason::kSplitK);
  }
  SECTION("the grid's z limit bounds the split count") {
    DeviceInfo device = h100();
    device.max_grid[2] = 32 + 31; // batch 32: no room for a second split
    KernelChoice const choice = choose_kernel(bench_shape("r50_3x3_c512_7"), device, kUnlimitedWorkspace);
    CHECK(choice.split_k == 1);
    check_valid(bench_shape("r50_3x3_c512_7"), device, kUnlimitedWorkspace, choice);
  }
}

TEST_CASE("large maps and the seed shape are never split", "[plan]") {
  for (NamedDevice const& device : fake_devices()) {
    INFO(device.name);
    KernelChoice const seed =
        choose_kernel(bench_shape("seed_8x64x512x1024_k128_3x3"), device.info, kUnlimitedWorkspace);
    // a 128 x 128 tile on Hopper (two square tiles per SM; in an sm_90a build the warp-specialized one, which the
    // model rates within 2% of wgmma-square there, docs/perf-notes.md v12), else the 128 x 256 large tile
    PolicyId const hopper = kBuiltForSm90a ? PolicyId::kWgmmaSpecialized : PolicyId::kSquareTile;
    CHECK(seed.policy == (is_candidate(device.info, PolicyId::kSquareTile) ? hopper : PolicyId::kLargeTile));
    CHECK(seed.split_k == 1);
    for (char const* name : {"r50_3x3_c64_56", "unet_c32_512", "dil2_c64_128", "r50_1x1_c256_56"}) {
      INFO(name);
      CHECK(choose_kernel(bench_shape(name), device.info, kUnlimitedWorkspace).split_k == 1);
    }
  }
}

TEST_CASE("the choice is deterministic", "[plan]") {
  for (NamedDevice const& device : fake_devices()) {
    for (tileconv_bench::Shape const& shape : bench_shapes()) {
      INFO(device.name << ", " << shape.name);
      KernelChoice const first = choose_kernel(shape.problem, device.info, kUnlimitedWorkspace);
      choose_kernel(shape.problem, device.info, 0); // an unrelated call in between changes nothing
      KernelChoice const again = choose_kernel(shape.problem, device.info, kUnlimitedWorkspace);
      CHECK(first == again);
      DeviceInfo const copy = device.info;
      CHECK(choose_kernel(shape.problem, copy, kUnlimitedWorkspace) == first);
    }
  }
}

TEST_CASE("the unlimited choice's workspace is enough for the same choice", "[plan]") {
  for (NamedDevice const& device : fake_devices()) {
    for (tileconv_bench::Shape const& shape : bench_shapes()) {
      INFO(device.name << ", " << shape.name);
      KernelChoice const unlimited = choose_kernel(shape.problem, device.info, kUnlimitedWorkspace);
      std::size_t const needed = unlimited.workspace_bytes;
      CHECK(choose_kernel(shape.problem, device.info, needed) == unlimited);
      CHECK(choose_kernel(shape.problem, device.info, needed + 4096) == unlimited);
      if (needed > 0) {
        CHECK(choose_kernel(shape.problem, device.info, needed - 1) != unlimited);
      }
    }
  }
}

TEST_CASE("wave quantization: a policy with a full last wave beats one with more work per tile", "[plan]") {
  // RTX 4090: one large (128 x 256) or one narrow (64 x 256) block per SM. 128 channels by 64 x 256 pixels of one
  // image: 64 large tiles leave half of the 128 SMs idle; 128 narrow tiles fill exactly one wave.
  Conv2dProblem const problem = conv(1, 64, 64, 256, 128, 3, 3).pad(1, 1);
  KernelChoice const choice = choose_kernel(problem, rtx4090(), 0);
  CHECK(choice.policy == PolicyId::kNarrowTile);
  CHECK(choice.reason == choice_reason::kMoreSmsBusy);
  LaunchPlan narrow;
  REQUIRE(plan_kernel_choice(problem, rtx4090(), choice, &narrow) == Status::kSuccess);
  CHECK(narrow.wave_efficiency() == Catch::Approx(1.0));
  CHECK(narrow.last_wave_fill() == Catch::Approx(1.0));

  KernelChoice large_choice = choice;
  large_choice.policy = PolicyId::kLargeTile;
  LaunchPlan large;
  REQUIRE(plan_kernel_choice(problem, rtx4090(), large_choice, &large) == Status::kSuccess);
  CHECK(large.blocks_per_sm == 1);
  CHECK(large.waves() == Catch::Approx(0.5));
  CHECK(large.last_wave_fill() == Catch::Approx(0.5));

  SECTION("on half the SMs both fill whole waves, and the large tile's work per step wins") {
    DeviceInfo device = rtx4090();
    device.sm_count = 64;
    CHECK(choose_kernel(problem, device, 0).policy == PolicyId::kLargeTile);
  }
}

TEST_CASE("images and groups count in the grid like pixel tiles", "[plan]") {
  // One large channel tile by 100 large pixel tiles, as 1 image x 100, 2 images x 50 or 2 groups x 50: the same
  // blocks, steps and output bytes, so the same choice whatever the SM count. The groups have twice the filter, which
  // the operand pass copies: a little more time, the same choice.
  constexpr int kOc = LargeTilePolicy::BLOCK_OC;
  constexpr int kOw = LargeTilePolicy::BLOCK_OW;
  Conv2dProblem const single = conv(1, 16, 100, kOw, kOc, 1, 1);
  Conv2dProblem const batched = conv(2, 16, 50, kOw, kOc, 1, 1);
  Conv2dProblem const grouped = conv(1, 32, 50, kOw, 2 * kOc, 1, 1).groups(2);
  for (int sm_count : {64, 100, 101, 132}) {
    for (std::size_t workspace : {std::size_t{0}, kUnlimitedWorkspace}) {
      INFO(sm_count << " SMs, workspace " << workspace);
      DeviceInfo device = h100();
      device.sm_count = sm_count;
      KernelChoice const expected = choose_kernel(single, device, workspace);
      CHECK(choose_kernel(batched, device, workspace) == expected);
      KernelChoice const by_groups = choose_kernel(grouped, device, workspace);
      CHECK(by_groups.policy == expected.policy);
      CHECK(by_groups.gather == expected.gather);
      CHECK(by_groups.split_k == expected.split_k);
      CHECK(by_groups.reason == expected.reason);
      CHECK(by_groups.estimated_us >= expected.estimated_us);
    }
  }
}

TEST_CASE("no candidate: the fallback policy, unsplit, says so", "[plan]") {
  DeviceInfo turing = h100();
  turing.cc_major = 7;
  turing.cc_minor = 5;
  KernelChoice const old_device = choose_kernel(bench_shape("b1_c512_14"), turing, kUnlimitedWorkspace);
  CHECK(old_device.policy == kFallbackPolicy);
  CHECK(old_device.split_k == 1);
  CHECK(old_device.reason == choice_reason::kNoCandidate);

  Conv2dProblem invalid = bench_shape("b1_c512_14");
  invalid.stride_h = 0;
  KernelChoice const bad_problem = choose_kernel(invalid, h100(), kUnlimitedWorkspace);
  CHECK(bad_problem.reason == choice_reason::kNoCandidate);
  KernelChoice none[3];
  CHECK(kernel_candidates(invalid, h100(), kUnlimitedWorkspace, none, 3) == 0);
}

TEST_CASE("blocks per SM count the measured registers", "[plan]") {
  // The large tile's shared memory allows 2 blocks on the H100; its ~190 registers per thread allow 1.
  Conv2dProblem const seed = bench_shape("seed_8x64x512x1024_k128_3x3");
  LaunchPlan by_limits;
  REQUIRE(make_launch_plan<Large>(seed, h100(), &by_limits, GatherKind::kChannelTiled) == Status::kSuccess);
  CHECK(by_limits.blocks_per_sm == 2);
  KernelChoice choice;
  choice.policy = PolicyId::kLargeTile;
  LaunchPlan plan;
  REQUIRE(plan_kernel_choice(seed, h100(), choice, &plan) == Status::kSuccess);
  CHECK(plan.blocks_per_sm == 1);
  CHECK(plan.waves() == Catch::Approx(16296.0 / 132.0)); // 2037 pixel tiles x 8 images, the benchmark's 123.45 waves
  CHECK(detail::blocks_per_sm_by_registers(128, 256, h100()) == 2);
  CHECK(detail::blocks_per_sm_by_registers(138, 256, h100()) == 1); // 144 x 32 = 4608 registers per warp
  DeviceInfo unknown = h100();
  unknown.regs_per_sm = 0; // a hand-built device without a register count is not limited
  CHECK(detail::blocks_per_sm_by_registers(255, 1024, unknown) > 1000);
}

TEST_CASE("kernel_candidates: the choice first, then the other split kind, then other policies", "[plan]") {
  Conv2dProblem const problem = bench_shape("b1_c512_14"); // split on the H100 with or without the wgmma tiles
  KernelChoice list[3];
  int const count = kernel_candidates(problem, h100(), kUnlimitedWorkspace, list, 3);
  REQUIRE(count == 3);
  CHECK(list[0] == choose_kernel(problem, h100(), kUnlimitedWorkspace));
  CHECK(list[0].split_k > 1);
  CHECK(list[1].split_k == 1); // the best unsplit choice
  CHECK(list[1].reason == choice_reason::kAlternative);
  CHECK(list[2].policy != list[0].policy);
  CHECK(list[2].policy != list[1].policy);
  for (int i = 0; i < count; ++i) {
    INFO("candidate " << i);
    check_valid(problem, h100(), kUnlimitedWorkspace, list[i]);
    for (int j = 0; j < i; ++j) {
      CHECK((list[i].policy != list[j].policy || list[i].split_k != list[j].split_k));
    }
  }
  SECTION("without workspace: unsplit only") {
    int const unsplit = kernel_candidates(problem, h100(), 0, list, 3);
    REQUIRE(unsplit == 3); // three of the mma.sync policies (the wgmma ones need workspace for their filter copy)
    for (int i = 0; i < unsplit; ++i) {
      CHECK(list[i].split_k == 1);
    }
    CHECK(list[0] == choose_kernel(problem, h100(), 0));
  }
  SECTION("an unsplit first choice is followed by the best split one where the workspace allows") {
    Conv2dProblem const small = conv(1, 64, 64, 256, 128, 3, 3).pad(1, 1);
    KernelChoice first[2];
    REQUIRE(kernel_candidates(small, h100(), kUnlimitedWorkspace, first, 2) == 2);
    CHECK(first[0].split_k == 1);
    CHECK(first[1].split_k > 1);
  }
}

TEST_CASE("to_string(plan) of a choice says which policy, why, split-K, waves and utilization", "[plan]") {
  Conv2dProblem const problem = bench_shape("b1_c512_14");
  KernelChoice const choice = choose_kernel(problem, h100(), kUnlimitedWorkspace);
  LaunchPlan plan;
  REQUIRE(plan_kernel_choice(problem, h100(), choice, &plan) == Status::kSuccess);
  std::string const text = to_string(plan);
  INFO(text);
  CHECK(text.find(kBuiltForSm90a ? "policy wgmma-specialized-small (" : "policy square-tile (") != std::string::npos);
  CHECK(text.find(std::string("why: ") + choice_reason::kSplitK) != std::string::npos);
  if (kBuiltForSm90a) { // 128 x 64 tiles of the input's channels-last copy, split 8
    CHECK(text.find("split-K 8 (18 of 144 steps each") != std::string::npos);
    CHECK(text.find("channels-last gather") != std::string::npos);
    CHECK(text.find("grid=(4, 4, 8)") != std::string::npos);
  } else { // 128 x 128 mma.sync tiles, split 16
    CHECK(text.find("split-K 16 (9 of 144 steps each") != std::string::npos);
    CHECK(text.find("channel-tiled gather") != std::string::npos);
    CHECK(text.find("grid=(2, 4, 16)") != std::string::npos);
  }
  CHECK(text.find("waves") != std::string::npos);
  CHECK(text.find("wave efficiency") != std::string::npos);
  CHECK(text.find("last wave") != std::string::npos);
  CHECK(text.find("estimated SM utilization") != std::string::npos);
  CHECK(text.find("not estimated") == std::string::npos);

  LaunchPlan fixed;
  REQUIRE(make_launch_plan<SmallTilePolicy>(problem, h100(), &fixed) == Status::kSuccess);
  std::string const fixed_text = to_string(fixed);
  INFO(fixed_text);
  CHECK(fixed_text.find("no split-K (288 steps)") != std::string::npos);
  CHECK(fixed_text.find("why: policy fixed by the caller") != std::string::npos);
  CHECK(fixed_text.find("estimated SM utilization not estimated") != std::string::npos);
}

} // namespace test
} // namespace tileconv
