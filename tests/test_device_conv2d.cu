// tileconv::conv2d, default and with each shipped policy and each gather, against the float64 reference on every
// shared shape; the launch honours the caller's stream; a call that fails validation launches nothing; DeviceInfo and
// the runtime occupancy agree with the CUDA runtime.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/gpu_harness.hpp"
#include "support/shapes.hpp"

#include <tileconv/tileconv.cuh>

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tileconv {
namespace test {
namespace {

/// Keeps a stream busy for `nanoseconds`, so that work queued behind it visibly waits.
__global__ void spin_kernel(unsigned long long nanoseconds) {
  unsigned long long start = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  for (;;) {
    unsigned long long now = 0;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    if (now - start >= nanoseconds) {
      break;
    }
    __nanosleep(1000);
  }
}

/// A different random seed for every shape of the shared list, so that each case sees fresh data.
std::uint64_t seed_for(std::size_t shape_index) { return 1000 + 16 * shape_index; }

/// Runs `launcher` twice on `harness`, each run against the reference on a poisoned output, and checks that the second
/// run reproduces the first one's bits.
void check_same_bits_twice(Conv2dHarness& harness, Launcher const& launcher) {
  REQUIRE(check_launch(harness, launcher));
  std::vector<float> const first = harness.output().output_to_host();
  REQUIRE(check_launch(harness, launcher));
  std::vector<float> const second = harness.output().output_to_host();
  CHECK(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)) == 0);
}

} // namespace

TEST_CASE("conv2d matches the float64 reference on every shared shape", "[gpu][conv2d][large]") {
  std::size_t const index = GENERATE(from_range(quick_shape_indices()));
  ShapeCase const& shape = shapes()[index];
  INFO("shape " << index << ": " << describe(shape));
  Conv2dHarness harness(shape, seed_for(index));
  // the launchers that need a workspace get theirs; the others run without one (the workspace test gives them one)
  DeviceBuffer<unsigned char> workspace(static_cast<std::int64_t>(channels_last_workspace_bytes(shape.problem)));
  for (Launcher const& launcher : shipped_launchers()) {
    check_launch(harness,
                 launcher.needs_workspace ? with_workspace(launcher, workspace.data(), workspace.bytes()) : launcher);
  }
}

TEST_CASE("conv2d matches the float64 reference on the seed's problem", "[gpu][conv2d][seed][large]") {
  // 534M outputs: the reference runs on the device and is reduced there with CUB; one reference serves every
  // launcher. About 7.5 GB of device memory in all, freed at the end of the test case.
  std::vector<std::size_t> const seed_shapes = shape_indices(ShapeKind::kSeed);
  REQUIRE(seed_shapes.size() == 1);
  ShapeCase const& shape = shapes()[seed_shapes.front()];
  INFO(describe(shape));
  Conv2dHarness harness(shape, seed_for(seed_shapes.front()));
  REQUIRE_FALSE(harness.host_reference());
  DeviceBuffer<unsigned char> workspace(static_cast<std::int64_t>(channels_last_workspace_bytes(shape.problem)));
  for (Launcher const& launcher : shipped_launchers()) {
    check_launch(harness,
                 launcher.needs_workspace ? with_workspace(launcher, workspace.data(), workspace.bytes()) : launcher);
  }
}

TEST_CASE("with a workspace the filter is reordered, and copied 16 bytes at a time where the workspace allows",
          "[gpu][conv2d][workspace]") {
  // The workspace is what every policy asks for (the reordered filter, and the default launcher's split-K partial
  // sums where it splits), placed 0 or 4 bytes past a 256-byte boundary: 16-byte filter copies, or 4-byte ones
  // from the same reordered filter (Conv2dParams::filter_vector_copies); for the warp-specialized policy, its tile
  // image read by bulk copies, or the reordered filter (Conv2dParams::filter_tile_image). Small edge shapes whose
  // channels per group the channel-tiled gather takes (the last three: 32, which the warp-specialized policy needs,
  // with 64, 128 and 20 output channels per group, so whole and partial channel tiles of its image), so that the
  // sanitizers run this too; the fuzz covers the other sizes.
  std::string const name =
      GENERATE(as<std::string>{}, "3x3 pad 1 with bias", "stride 2, odd H/W, pad 1", "dilation 2, pad 2",
               "groups 2 with bias", "batch 1, 3x3 pad 1", "groups 2, 128 output channels per group",
               "groups 2, 32 channels and 20 output channels per group");
  std::size_t const misalignment = GENERATE(std::size_t{0}, std::size_t{4});
  ShapeCase const shape = require_shape(name);
  INFO(describe(shape) << ", workspace " << misalignment << " bytes past a 256-byte boundary");
  REQUIRE(shape.problem.in_channels_per_group() % 16 == 0);
  Conv2dHarness harness(shape, 4242);
  Conv2dProblem const& problem = shape.problem;
  std::size_t bytes = conv2d_workspace_size(problem, current_device_info());
  for_each_runnable_table_policy([&](auto policy, std::string const&) {
    using Policy = decltype(policy);
    bytes = std::max(bytes, Conv2d<Policy>::workspace_size(problem, 1));
    if constexpr (Policy::kWarpSpecialized) { // its channels-last launcher then takes this workspace too
      bytes = std::max(bytes, Conv2d<Policy, GatherKind::kChannelsLast>::workspace_size(problem, 1));
    }
  });
  DeviceBuffer<unsigned char> workspace(static_cast<std::int64_t>(bytes + misalignment));
  for (Launcher const& plain : shipped_launchers()) {
    Launcher launcher = plain;
    launcher.name += " with workspace";
    launcher.launch = [&plain, &workspace, misalignment, bytes](Conv2dArguments const& args, cudaStream_t stream) {
      Conv2dArguments with_workspace = args;
      with_workspace.workspace = workspace.data() + misalignment;
      with_workspace.workspace_bytes = bytes;
      return plain.launch(with_workspace, stream);
    };
    check_launch(harness, launcher);
  }
}

TEST_CASE("the channels-last gather is right and gives the same bits on every run, split or not",
          "[gpu][conv2d][channels_last]") {
  // The warp-specialized policy reading the launcher's channels-last copy of the input: grouped and ungrouped,
  // whole and partial channel tiles, unsplit and split 3 ways (9 k tiles: 3 each). Every run poisons the output first;
  // the second run of each must reproduce the first one's bits (split-K adds its partial sums in a fixed order).
  // Planned for the device as it is, and as if it had one SM: the persistent kernel's blocks (as many as fit at once)
  // then each walk several of the 5 to 96 tiles, across images, groups and splits, on one ring of stages.
  std::string const name = GENERATE(as<std::string>{}, "batch 1, 3x3 pad 1", "groups 2, 128 output channels per group",
                                    "groups 2, 32 channels and 20 output channels per group");
  int const split_k = GENERATE(1, 3);
  bool const one_sm = GENERATE(false, true);
  ShapeCase const& shape = require_shape(name);
  INFO(describe(shape) << ", split_k " << split_k << (one_sm ? ", planned for one SM" : ""));
  bool ran = false;
  for_each_runnable_table_policy([&](auto policy, std::string const& policy_name) {
    using Launch = Conv2d<decltype(policy), GatherKind::kChannelsLast>;
    if constexpr (decltype(policy)::kWarpSpecialized) {
      Conv2dHarness harness(shape, 515);
      DeviceInfo device = current_device_info();
      if (one_sm) {
        device.sm_count = 1;
      }
      DeviceBuffer<unsigned char> workspace(static_cast<std::int64_t>(Launch::workspace_size(shape.problem, split_k)));
      Launcher const launcher{policy_name + " channels-last split " + std::to_string(split_k),
                              [&](Conv2dArguments const& args, cudaStream_t stream) {
                                Conv2dArguments with_workspace = args;
                                with_workspace.workspace = workspace.data();
                                with_workspace.workspace_bytes = workspace.bytes();
                                return Launch::run(with_workspace, IdentityEpilogue{}, device, stream, nullptr,
                                                   split_k);
                              }};
      check_same_bits_twice(harness, launcher);
      ran = true;
    }
  });
  if (!ran) {
    WARN("no warp-specialized policy runs on this device: the channels-last gather was not run");
  }
}

TEST_CASE("the pointwise gather is right and gives the same bits on every run", "[gpu][conv2d][pointwise]") {
  // The warp-specialized policies copying a 1 x 1 conv's NCHW input in place, in tiles of 32-pixel boxes that span
  // images: planes of 3136 pixels (98 whole boxes), 784 (the last box half past the plane), 36 (2 boxes, the second 4
  // pixels) and 12 (4 images a tile); the last tile's boxes partly past the batch; whole and partial channel tiles (96,
  // 256, 20 and 24 per group); groups. Every run poisons the output first; the second run must reproduce the first
  // one's bits. Planned for the device as it is, and as if it had one SM, so that each persistent block walks several
  // tiles.
  std::string const name =
      GENERATE(as<std::string>{}, "1x1", "ResNet-50 layer1 1x1 expand",
               "1x1 groups 2, 36-pixel planes, 20 output channels per group", "1x1, 12-pixel planes, 5 images");
  bool const one_sm = GENERATE(false, true);
  ShapeCase const& shape = require_shape(name);
  INFO(describe(shape) << (one_sm ? ", planned for one SM" : ""));
  bool ran = false;
  for_each_runnable_table_policy([&](auto policy, std::string const& policy_name) {
    if constexpr (detail::has_plane_box_gathers<decltype(policy)>()) {
      using Launch = Conv2d<decltype(policy), GatherKind::kPointwise>;
      Conv2dHarness harness(shape, 733);
      DeviceInfo device = current_device_info();
      if (one_sm) {
        device.sm_count = 1;
      }
      Launcher const launcher{policy_name + " pointwise, no workspace",
                              [&](Conv2dArguments const& args, cudaStream_t stream) {
                                return Launch::run(args, IdentityEpilogue{}, device, stream);
                              }};
      check_same_bits_twice(harness, launcher);
      ran = true;
    }
  });
  if (!ran) {
    WARN("no policy with the pointwise gather runs on this device: it was not run");
  }
}

TEST_CASE("the tap-shifted gather is right and gives the same bits on every run", "[gpu][conv2d][tap_shifted]") {
  // The warp-specialized policies copying a stride-1 conv's NCHW input in place, boxes shifted by each tap: output
  // rows fewer than the input's (no row padding), border rows that see only padding (pad 3 on a 3-row filter), a
  // 5 x 5 filter on 108-pixel planes with a partial channel tile (K = 33), dilation (1, 3) with pad (1, 3), groups, a
  // deep reduction (72 k tiles), a 1 x 1 filter, and a ResNet-50 3 x 3 layer. The output's first and last columns
  // need the consumers' zeroing of pixels whose shifted column left the row. Every run poisons the output first; the
  // second run must reproduce the first one's bits. Planned for the device as it is, and as if it had one SM.
  std::string const name =
      GENERATE(as<std::string>{}, "3x3 pad (0, 1): output rows fewer than the input's",
               "3x3 pad (3, 1): border rows see only padding", "5x5 pad 2, 108-pixel planes, 3 images, K=33",
               "dilation (1, 3), pad (1, 3)", "groups 2, 128 output channels per group", "deep reduction, C*R*S=2304",
               "1x1", "ResNet-50 layer1 3x3");
  bool const one_sm = GENERATE(false, true);
  ShapeCase const& shape = require_shape(name);
  INFO(describe(shape) << (one_sm ? ", planned for one SM" : ""));
  bool ran = false;
  for_each_runnable_table_policy([&](auto policy, std::string const& policy_name) {
    if constexpr (detail::has_plane_box_gathers<decltype(policy)>()) {
      using Launch = Conv2d<decltype(policy), GatherKind::kTapShifted>;
      Conv2dHarness harness(shape, 757);
      DeviceInfo device = current_device_info();
      if (one_sm) {
        device.sm_count = 1;
      }
      DeviceBuffer<unsigned char> workspace(static_cast<std::int64_t>(Launch::workspace_size(shape.problem, 1)));
      Launcher const launcher{policy_name + " tap-shifted", [&](Conv2dArguments const& args, cudaStream_t stream) {
                                Conv2dArguments with_workspace = args;
                                with_workspace.workspace = workspace.data();
                                with_workspace.workspace_bytes = workspace.bytes();
                                return Launch::run(with_workspace, IdentityEpilogue{}, device, stream);
                              }};
      check_same_bits_twice(harness, launcher);
      ran = true;
    }
  });
  if (!ran) {
    WARN("no policy with the tap-shifted gather runs on this device: it was not run");
  }
}

TEST_CASE("the default launcher runs a 1 x 1 conv whose input is not 16-byte aligned", "[gpu][conv2d][pointwise]") {
  // The pointwise gather's TMA copies need a 16-byte aligned input; the launcher then takes another kernel (with the
  // workspace it is given), and the pointwise launcher itself refuses the call without writing.
  // a copy: gcc 13's -Wdangling-reference (an error here) flags a reference to what a call on a temporary returns
  ShapeCase const shape = require_shape("ResNet-50 layer1 1x1 expand");
  Conv2dHarness harness(shape, 811);
  std::int64_t const elements = shape.problem.input_elements();
  DeviceBuffer<float> shifted(elements + 1);
  float* const input = shifted.data() + 1; // 4 bytes past a 256-byte boundary
  TILECONV_REQUIRE_CUDA(
      cudaMemcpy(input, harness.input().data(), static_cast<std::size_t>(elements) * sizeof(float), cudaMemcpyDefault));
  DeviceBuffer<unsigned char> workspace(static_cast<std::int64_t>(channels_last_workspace_bytes(shape.problem)));
  Launcher const misaligned{"tileconv::conv2d, input 4 bytes past 16-byte alignment",
                            [&](Conv2dArguments const& args, cudaStream_t stream) {
                              Conv2dArguments moved = args;
                              moved.input = input;
                              moved.workspace = workspace.data();
                              moved.workspace_bytes = workspace.bytes();
                              return tileconv::conv2d(moved, stream);
                            }};
  CHECK(check_launch(harness, misaligned));
  for_each_runnable_table_policy([&](auto policy, std::string const& policy_name) {
    if constexpr (detail::has_plane_box_gathers<decltype(policy)>()) {
      INFO(policy_name);
      Conv2dArguments args = harness.arguments();
      args.input = input;
      args.workspace = workspace.data();
      args.workspace_bytes = workspace.bytes();
      harness.output().poison(nullptr);
      TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
      CHECK(Conv2d<decltype(policy), GatherKind::kPointwise>::run(args, current_device_info()) ==
            Status::kErrorMisalignedPointer);
      TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
      CHECK(harness.output().changed_words() == 0);
    }
  });
}

TEST_CASE("conv2d is right on tensors of more than 2^31 elements", "[gpu][conv2d][huge][large]") {
  // 64-bit offsets (issue #6). Each problem's input and output hold more than 2^31 elements (8.6 GB of float each),
  // so image, channel and group offsets pass 2^31 while a plane stays below it; the float64 reference takes another
  // 17 GB. Small reductions keep the device reference quick: 1x1 for the channel-tiled gather, 3x3 with 4 channels
  // and padding for the analytic gather, and a depthwise 3x3 for the direct kernel.
  ShapeCase const shape = GENERATE(values<ShapeCase>({
      {"2^31+ elements: 1x1, 16 -> 16 channels", conv(2, 16, 8200, 8200, 16, 1, 1), true, ShapeKind::kEdge},
      {"2^31+ elements: 3x3 pad 1, 4 -> 32 channels", conv(1, 4, 8200, 8200, 32, 3, 3).pad(1, 1), false,
       ShapeKind::kEdge},
      {"2^31+ elements: depthwise 3x3 pad 1", conv(2, 16, 8200, 8200, 16, 3, 3).pad(1, 1).groups(16), true,
       ShapeKind::kEdge},
  }));
  Conv2dProblem const& problem = shape.problem;
  INFO(describe(shape));
  REQUIRE(problem.output_elements() > (std::int64_t{1} << 31));
  std::size_t const needed = (problem.input_elements() + problem.output_elements()) * sizeof(float) +
                             problem.output_elements() * sizeof(double) + (std::size_t{1} << 30); // + 1 GiB slack
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  TILECONV_REQUIRE_CUDA(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (free_bytes < needed) {
    TILECONV_SKIP("needs " << needed / (1 << 20) << " MiB of free device memory, " << free_bytes / (1 << 20)
                           << " MiB are free");
  }
  Conv2dHarness harness(shape, 4711);
  REQUIRE_FALSE(harness.host_reference());
  for (Launcher const& launcher : shipped_launchers()) {
    check_launch(harness, launcher);
  }
}

TEST_CASE("conv2d launches on the caller's stream", "[gpu][conv2d][stream]") {
  // The stream is non-blocking and busy for 100 ms with a spin kernel when the harness poisons the output on it and
  // then launches. A launcher that honours the stream runs after the poison; one that used the legacy default stream
  // would run at once, before the poison, and leave NaN behind. Only `stream` is synchronized.
  ShapeCase const shape = require_shape("3x3 pad 1 with bias");
  Conv2dHarness harness(shape, 77);
  DeviceInfo const device = current_device_info();

  std::vector<Launcher> launchers = shipped_launchers();
  launchers.push_back(
      {"tileconv::conv2d(args, DeviceInfo, stream)",
       [device](Conv2dArguments const& args, cudaStream_t stream) { return tileconv::conv2d(args, device, stream); }});
  launchers.push_back({"tileconv::conv2d<SmallTilePolicy>(args, DeviceInfo, stream)",
                       [device](Conv2dArguments const& args, cudaStream_t stream) {
                         return tileconv::conv2d<SmallTilePolicy>(args, device, stream);
                       }});
  Stream stream;
  for (Launcher const& launcher : launchers) {
    if (!launcher.applies(harness.arguments())) {
      continue;
    }
    spin_kernel<<<1, 1, 0, stream.get()>>>(100ull * 1000 * 1000);
    TILECONV_REQUIRE_CUDA(cudaGetLastError());
    check_launch(harness, launcher, stream.get());
  }
}

TEST_CASE("a call that fails validation returns its status and writes nothing", "[gpu][conv2d][validation]") {
  ShapeCase const shape = require_shape("groups 2 with bias");
  Conv2dHarness harness(shape, 99);
  std::vector<float> const input_before = harness.input().to_host();

  for (Launcher const& launcher : shipped_launchers()) {
    INFO(launcher.name);
    struct BadCall {
      char const* what;
      Conv2dArguments args;
      Status expected;
    };
    Conv2dArguments const good = harness.arguments();
    std::vector<BadCall> bad_calls;
    {
      Conv2dArguments args = good;
      args.problem.stride_h = 0;
      bad_calls.push_back({"stride 0", args, Status::kErrorInvalidStride});
    }
    {
      Conv2dArguments args = good;
      args.problem.groups = 3;
      bad_calls.push_back({"groups not dividing the channels", args, Status::kErrorInvalidGroups});
    }
    {
      Conv2dArguments args = good;
      args.problem.in_h = 1;
      args.problem.pad_h = 0;
      bad_calls.push_back({"empty output", args, Status::kErrorEmptyOutput});
    }
    {
      Conv2dArguments args = good;
      args.filter = nullptr;
      bad_calls.push_back({"null filter", args, Status::kErrorNullPointer});
    }
    {
      Conv2dArguments args = good;
      args.output = reinterpret_cast<float*>(reinterpret_cast<char*>(good.output) + 2);
      bad_calls.push_back({"misaligned output", args, Status::kErrorMisalignedPointer});
    }
    {
      Conv2dArguments args = good;
      args.output = const_cast<float*>(good.input);
      bad_calls.push_back({"output over the input", args, Status::kErrorOverlappingBuffers});
    }
    for (BadCall const& call : bad_calls) {
      INFO(call.what);
      harness.output().poison(nullptr);
      TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
      Status const status = launcher.launch(call.args, nullptr);
      CHECK(status == call.expected);
      TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
      TILECONV_REQUIRE_CUDA(cudaGetLastError()); // nothing was launched, so nothing failed
      CHECK(harness.output().changed_words() == 0);
      CHECK(harness.input().to_host() == input_before);
    }
  }
}

TEST_CASE("the channel-tiled gather refuses channels that are no multiple of BLOCK_R and writes nothing",
          "[gpu][conv2d][validation]") {
  DeviceInfo const device = current_device_info();
  Conv2dHarness harness(require_shape("groups 4"), 123); // 8 channels per group, BLOCK_R 16
  harness.output().poison(nullptr);
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
  Conv2dArguments const args = harness.arguments();
  CHECK(Conv2d<SmallTilePolicy, GatherKind::kChannelTiled>::run(args, device) == Status::kErrorNotSupported);
  CHECK(Conv2d<NarrowTilePolicy, GatherKind::kChannelTiled>::run(args, device) == Status::kErrorNotSupported);
  CHECK(Conv2d<LargeTilePolicy, GatherKind::kChannelTiled>::run(args, device) == Status::kErrorNotSupported);
  // the warp-specialized policy has the channel-tiled gather alone: its own choice and a forced analytic one refuse
  // too (where the device runs the policy at all)
  Status const refusal = policy_refusal_on_current_device<WgmmaSpecializedPolicy>();
  Status const expected = refusal == Status::kSuccess ? Status::kErrorNotSupported : refusal;
  CHECK(Conv2d<WgmmaSpecializedPolicy>::run(args, device) == expected);
  CHECK(Conv2d<WgmmaSpecializedPolicy, GatherKind::kAnalytic>::run(args, device) == expected);
  CHECK(tileconv::conv2d<WgmmaSpecializedPolicy>(args) == expected);
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
  TILECONV_REQUIRE_CUDA(cudaGetLastError());
  CHECK(harness.output().changed_words() == 0);
}

TEST_CASE("every gather of every shipped policy runs on some shared shape", "[gpu][conv2d]") {
  // The correctness test skips the shapes a fixed gather does not apply to; this makes sure that it skips not all.
  std::vector<Launcher> const launchers = shipped_launchers();
  std::vector<int> runs(launchers.size(), 0);
  for (ShapeCase const& shape : shapes()) {
    Conv2dArguments args; // applies() reads only the problem and the pointers' values
    args.problem = shape.problem;
    args.input = reinterpret_cast<float const*>(std::uintptr_t{1} << 40);
    args.filter = reinterpret_cast<float const*>(std::uintptr_t{2} << 40);
    args.output = reinterpret_cast<float*>(std::uintptr_t{3} << 40);
    for (std::size_t i = 0; i < launchers.size(); ++i) {
      Conv2dArguments offered = args; // with a workspace for the launchers that need one, as the tests give them
      if (launchers[i].needs_workspace) {
        offered.workspace = reinterpret_cast<void*>(std::uintptr_t{4} << 40);
        offered.workspace_bytes = std::size_t{1} << 40;
      }
      runs[i] += launchers[i].applies(offered) ? 1 : 0;
    }
  }
  for (std::size_t i = 0; i < launchers.size(); ++i) {
    INFO(launchers[i].name << " applies to " << runs[i] << " of " << shapes().size() << " shapes");
    CHECK(runs[i] > 0);
  }
}

TEST_CASE("DeviceInfo::query agrees with cudaGetDeviceProperties", "[gpu][plan]") {
  int device = -1;
  TILECONV_REQUIRE_CUDA(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  TILECONV_REQUIRE_CUDA(cudaGetDeviceProperties(&prop, device));
  DeviceInfo info;
  TILECONV_REQUIRE_SUCCESS(DeviceInfo::query(device, &info));
  INFO(prop.name);
  CHECK(info.device == device);
  CHECK(info.sm_count == prop.multiProcessorCount);
  CHECK(info.cc_major == prop.major);
  CHECK(info.cc_minor == prop.minor);
  CHECK(info.smem_per_sm == static_cast<int>(prop.sharedMemPerMultiprocessor));
  CHECK(info.smem_per_block_optin == static_cast<int>(prop.sharedMemPerBlockOptin));
  CHECK(info.smem_reserved_per_block == static_cast<int>(prop.reservedSharedMemPerBlock));
  CHECK(info.max_threads_per_sm == prop.maxThreadsPerMultiProcessor);
  CHECK(info.max_blocks_per_sm == prop.maxBlocksPerMultiProcessor);
  CHECK(info.regs_per_sm == prop.regsPerMultiprocessor);
  CHECK(info.max_grid[0] == prop.maxGridSize[0]);
  CHECK(info.max_grid[1] == prop.maxGridSize[1]);
  CHECK(info.max_grid[2] == prop.maxGridSize[2]);

  SECTION("an ordinal past the last device is kErrorInvalidDevice, with the runtime's error") {
    int count = 0;
    TILECONV_REQUIRE_CUDA(cudaGetDeviceCount(&count));
    cudaError_t raw = cudaSuccess;
    CHECK(DeviceInfo::query(count, &info, &raw) == Status::kErrorInvalidDevice);
    CHECK(raw == cudaErrorInvalidDevice);
    // The failed attribute query may leave its error as the last error; reading it clears it, and it is not sticky.
    cudaError_t const last = cudaGetLastError();
    CHECK((last == cudaSuccess || last == cudaErrorInvalidDevice));
    TILECONV_REQUIRE_CUDA(cudaGetLastError());
  }
}

TEMPLATE_TEST_CASE("Conv2d<Policy>::plan takes blocks per SM from the occupancy API", "[gpu][plan]", LargeTilePolicy,
                   NarrowTilePolicy, SmallTilePolicy, SquareTilePolicy, WgmmaSquarePolicy, WgmmaNarrowPolicy,
                   WgmmaSmallPolicy, WgmmaSpecializedPolicy) {
  DeviceInfo const device = current_device_info();
  Status const refusal = policy_refusal_on_current_device<TestType>();
  if (refusal != Status::kSuccess) {
    LaunchPlan plan;
    CHECK(Conv2d<TestType>::plan(require_shape("ResNet-50 layer3 3x3").problem, device, &plan) == refusal);
    return;
  }
  for (char const* name : {"ResNet-50 layer3 3x3", "ResNet-50 layer2 3x3/2", "7x7 stride 2 pad 3, C=3"}) {
    Conv2dProblem const problem = require_shape(name).problem;
    LaunchPlan measured;
    if (TestType::kWarpSpecialized && Conv2d<TestType>::gather_for(problem) != GatherKind::kChannelTiled) {
      CHECK(Conv2d<TestType>::plan(problem, device, &measured) == Status::kErrorNotSupported);
      continue; // its producers have the channel-tiled gather alone
    }
    TILECONV_REQUIRE_SUCCESS(Conv2d<TestType>::plan(problem, device, &measured));
    INFO(name << ": " << to_string(measured));
    CHECK(measured.occupancy_from_runtime);
    CHECK(measured.gather == Conv2d<TestType>::gather_for(problem)); // resolved: never kAuto
    CHECK(measured.gather != GatherKind::kAuto);
    LaunchPlan estimated;
    TILECONV_REQUIRE_SUCCESS(make_launch_plan<TestType>(problem, device, &estimated, measured.gather));
    CHECK(measured.blocks_per_sm >= 1);
    // registers can only lower the count that shared memory, threads and blocks allow
    CHECK(measured.blocks_per_sm <= estimated.blocks_per_sm);
    CHECK(measured.grid.x == estimated.grid.x);
    CHECK(measured.grid.y == estimated.grid.y);
    CHECK(measured.grid.z == estimated.grid.z);
    CHECK(measured.smem_bytes == estimated.smem_bytes);
  }
}

TEST_CASE("plan_conv2d plans the policy that the default launcher chooses", "[gpu][plan]") {
  DeviceInfo const device = current_device_info();
  for (std::size_t index : quick_shape_indices()) {
    Conv2dProblem const& problem = shapes()[index].problem;
    if (DirectConv2d::takes(problem, device)) {
      continue; // the direct kernel has no tile policy; test_device_direct_conv.cu plans it
    }
    INFO(describe(shapes()[index]));
    LaunchPlan plan;
    TILECONV_REQUIRE_SUCCESS(plan_conv2d(problem, device, &plan));
    LaunchPlan expected;
    KernelChoice const choice = choose_kernel(problem, device, 0);
    with_policy(choice.policy, [&](auto policy) {
      using Policy = decltype(policy);
      // the launcher's own gather, or the choice's (the pointwise one: it needs no workspace)
      expected.gather = choice.gather == GatherKind::kAuto ? Conv2d<Policy>::gather_for(problem) : choice.gather;
      TILECONV_REQUIRE_SUCCESS(make_launch_plan<Policy>(problem, device, &expected, expected.gather));
    });
    CHECK(plan.block_oc == expected.block_oc);
    CHECK(plan.block_ow == expected.block_ow);
    CHECK(plan.stages == expected.stages);
    CHECK(plan.split_k == 1); // no workspace given
    CHECK(plan.gather == expected.gather);
    CHECK(plan.occupancy_from_runtime);
  }
}

} // namespace test
} // namespace tileconv
