// The direct path (depthwise, and groups of few channels) on the host: which problems it takes, its tiles and plans
// on hand-written DeviceInfos, its refusals, and an emulation of the kernel (every block, then every thread's staging,
// then every thread's compute: the order __syncthreads gives) that runs the device functor's own staging and compute
// code against the float64 reference, with bounds-checked copies, NaN-guarded shared memory and a count of the stores
// of every output.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/direct_conv_shapes.hpp"
#include "support/fake_devices.hpp"
#include "support/shapes.hpp"

#include <tileconv/device/direct_conv2d.cuh>
#include <tileconv/epilogue/epilogue_chain.cuh>
#include <tileconv/host/direct_conv2d.cuh>
#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/error_stats.cuh>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace tileconv {
namespace test {
namespace {

using Policy = detail::DirectConvPolicy;

std::vector<float> random_floats(std::int64_t count, std::uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& value : values) {
    value = uniform(generator);
  }
  return values;
}

/// The host's cp.async: checks that every copy reads inside its tensor and writes inside the block's shared memory
/// (16-byte aligned for 4-float copies), then copies or writes zeros.
struct CheckedCopy {
  float const* input_begin;
  float const* input_end;
  float const* filter_begin;
  float const* filter_end;
  float const* smem_begin;
  float const* smem_end;
  std::int64_t* violations;

  TILECONV_HOST_DEVICE void scalar(float* dst, float const* src, bool valid) const { copy(dst, src, valid, 1); }
  TILECONV_HOST_DEVICE void vector(float* dst, float const* src, bool valid) const {
    if ((dst - smem_begin) % 4 != 0 || (valid && (src - input_begin) % 4 != 0)) {
      ++*violations;
    }
    copy(dst, src, valid, 4);
  }

private:
  TILECONV_HOST_DEVICE void copy(float* dst, float const* src, bool valid, int count) const {
    bool const in_input = src >= input_begin && src + count <= input_end;
    bool const in_filter = src >= filter_begin && src + count <= filter_end;
    if (dst < smem_begin || dst + count > smem_end || (valid && !in_input && !in_filter)) {
      ++*violations;
      return;
    }
    for (int i = 0; i < count; ++i) {
      dst[i] = valid ? src[i] : 0.0f;
    }
  }
};

/// The emulation's shared memory: NaN in front (a read there poisons the output), an inaccessible page right after
/// the end (a read there, such as rows past the staged tile, stops the test with SIGSEGV, which Catch2 reports).
class GuardedSharedMemory {
public:
  explicit GuardedSharedMemory(std::int64_t floats) : floats_(floats) {
    std::size_t const page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    std::size_t const bytes = static_cast<std::size_t>(floats + kFrontGuardFloats) * sizeof(float);
    accessible_ = (bytes + page - 1) / page * page;
    mapping_ = mmap(nullptr, accessible_ + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mapping_ != MAP_FAILED);
    REQUIRE(mprotect(static_cast<char*>(mapping_) + accessible_, page, PROT_NONE) == 0);
    // accessible_ and the page are multiples of 16 bytes, so data() keeps the 16-byte alignment of __shared__
    data_ = reinterpret_cast<float*>(static_cast<char*>(mapping_) + accessible_) - floats;
  }
  GuardedSharedMemory(GuardedSharedMemory const&) = delete;
  GuardedSharedMemory& operator=(GuardedSharedMemory const&) = delete;
  ~GuardedSharedMemory() { munmap(mapping_, accessible_ + static_cast<std::size_t>(sysconf(_SC_PAGESIZE))); }

  float* data() const { return data_; }

  /// NaN everywhere, front guard included, as on a fresh block.
  void poison() { std::fill(static_cast<float*>(mapping_), data_ + floats_, std::numeric_limits<float>::quiet_NaN()); }

private:
  static constexpr std::int64_t kFrontGuardFloats = 1024;
  std::int64_t floats_;
  std::size_t accessible_ = 0;
  void* mapping_ = nullptr;
  float* data_ = nullptr;
};

/// Identity that also counts the stores of every output and checks the coordinate it is given.
struct CountingEpilogue {
  int out_channels;
  std::int64_t out_plane;
  int* stores;
  std::int64_t* wrong_coords;

  TILECONV_HOST_DEVICE float operator()(float value, OutputCoord const& coord) const {
    ++stores[coord.offset];
    if ((coord.offset / out_plane) % out_channels != coord.channel) {
      ++*wrong_coords;
    }
    return value;
  }
};

struct EmulationResult {
  reference::ErrorStats stats;
  std::int64_t copy_violations = 0;
  std::int64_t wrong_coords = 0;
  std::int64_t not_stored_once = 0;
  std::int64_t guard_writes = 0;
};

/// Runs every block of the launch `choose_tiling` picks on `device`, with `DirectConv2d<kR, kS, kChannels>`'s own
/// code (kChannels: the tiling's channels a thread). `input_offset` floats in front of the input misalign it (no
/// 16-byte copies then).
template <int kR, int kS, int kChannels>
EmulationResult emulate(ShapeCase const& shape, DeviceInfo const& device, int input_offset, bool allow_vector) {
  using Functor = detail::DirectConv2d<kR, kS, kChannels, CountingEpilogue>;
  Conv2dProblem const& problem = shape.problem;
  std::vector<float> input_storage = random_floats(problem.input_elements() + input_offset, 11);
  std::vector<float> const filter = random_floats(problem.filter_elements(), 12);
  std::vector<float> const bias = random_floats(problem.out_channels, 13);
  float const* input = input_storage.data() + input_offset;

  constexpr std::int64_t kGuard = 1024;
  float const nan = std::numeric_limits<float>::quiet_NaN();
  std::int64_t const outputs = problem.output_elements();
  std::vector<float> output_storage(static_cast<std::size_t>(outputs + 2 * kGuard), nan);
  float* output = output_storage.data() + kGuard;

  Conv2dArguments args;
  args.problem = problem;
  args.input = input;
  args.filter = filter.data();
  args.bias = shape.bias ? bias.data() : nullptr;
  args.output = output;

  detail::DirectTiling tiling;
  REQUIRE(DirectConv2d::choose_tiling(problem, device, &tiling) == Status::kSuccess);
  REQUIRE(tiling.channels == kChannels);
  bool const vectorized = allow_vector && detail::DirectConv2dParams::can_vectorize(args);
  detail::DirectConv2dParams const params =
      detail::DirectConv2dParams::make(args, tiling.tile, tiling.channels, vectorized);

  EmulationResult result;
  std::vector<int> stores(static_cast<std::size_t>(outputs), 0);
  CountingEpilogue const epilogue{problem.out_channels, std::int64_t{problem.out_h()} * problem.out_w(), stores.data(),
                                  &result.wrong_coords};
  std::int64_t const smem_floats = tiling.smem_bytes / std::int64_t{sizeof(float)};
  GuardedSharedMemory smem_storage(smem_floats);
  float* smem = smem_storage.data();
  CheckedCopy const copy{input,
                         input + problem.input_elements(),
                         filter.data(),
                         filter.data() + filter.size(),
                         smem,
                         smem + smem_floats,
                         &result.copy_violations};
  for (std::int64_t b = 0; b < tiling.blocks(); ++b) {
    smem_storage.poison();
    detail::DirectBlock const block = Functor::block_of(params, static_cast<int>(b));
    for (int thread = 0; thread < Functor::kThreads; ++thread) {
      Functor::stage(params, block, thread, smem, copy);
    }
    for (int thread = 0; thread < Functor::kThreads; ++thread) {
      Functor::compute(params, block, thread, smem, epilogue);
    }
  }

  for (int count : stores) {
    result.not_stored_once += count != 1 ? 1 : 0;
  }
  for (std::int64_t i = 0; i < kGuard; ++i) {
    result.guard_writes += std::isnan(output_storage[static_cast<std::size_t>(i)]) ? 0 : 1;
    result.guard_writes += std::isnan(output[outputs + i]) ? 0 : 1;
  }
  std::vector<double> expected(static_cast<std::size_t>(outputs));
  reference::conv2d_host(problem, input, filter.data(), args.bias, expected.data());
  result.stats = reference::error_stats_host(output, expected.data(), outputs);
  return result;
}

/// Shared memory of the dilation-80 shape's smallest tile (see the refusal test), the most any listed shape needs.
constexpr int kLargestSmallestTileBytes = (12 + 168 * 184) * 4;

// Exact FP32 FMA over at most C/g * R * S = 16 * 25 terms (depthwise: R * S = 121)
constexpr double kMaxRelativeError = 1e-5;

void check(EmulationResult const& result) {
  INFO("relative_l2=" << result.stats.relative_l2() << " relative_max=" << result.stats.relative_max()
                      << " non_finite=" << result.stats.non_finite);
  CHECK(result.copy_violations == 0);
  CHECK(result.wrong_coords == 0);
  CHECK(result.not_stored_once == 0);
  CHECK(result.guard_writes == 0);
  CHECK(result.stats.non_finite == 0);
  CHECK(result.stats.relative_l2() <= kMaxRelativeError);
  CHECK(result.stats.relative_max() <= kMaxRelativeError);
}

/// `emulate<kR, kS, channels>` with the tiling's channels a thread for `shape` on `device`.
template <int kR, int kS>
EmulationResult emulate_channels(ShapeCase const& shape, DeviceInfo const& device, int input_offset,
                                 bool allow_vector) {
  detail::DirectTiling tiling;
  REQUIRE(DirectConv2d::choose_tiling(shape.problem, device, &tiling) == Status::kSuccess);
  switch (tiling.channels) {
  case 1:
    return emulate<kR, kS, 1>(shape, device, input_offset, allow_vector);
  case 4:
    return emulate<kR, kS, 4>(shape, device, input_offset, allow_vector);
  default:
    return emulate<kR, kS, 8>(shape, device, input_offset, allow_vector);
  }
}

/// Emulates the FP32 kernel `DirectConv2d::run` launches for `shape` on `device`: the fixed-size one where it picks
/// it, else the any-size one. Where it launches the tensor-core kernel instead (`uses_tensor_cores`), the FP32 kernel
/// of the same staging and tiles: mma.sync is a warp's collective instruction, which this per-thread emulation cannot
/// run, so the tensor-core kernel's own compute is tested on the GPU only (test_device_direct_conv.cu).
EmulationResult emulate_launched(ShapeCase const& shape, DeviceInfo const& device, int input_offset,
                                 bool allow_vector) {
  switch (DirectConv2d::fixed_filter_size(shape.problem)) {
  case 3:
    return emulate_channels<3, 3>(shape, device, input_offset, allow_vector);
  case 5:
    return emulate<5, 5, 1>(shape, device, input_offset, allow_vector);
  case 7:
    return emulate<7, 7, 1>(shape, device, input_offset, allow_vector);
  default:
    return emulate_channels<0, 0>(shape, device, input_offset, allow_vector);
  }
}

DeviceInfo with_max_grid_x(DeviceInfo device, int max_grid_x) {
  device.max_grid[0] = max_grid_x;
  return device;
}

} // namespace

TEST_CASE("DirectConv2d applies to depthwise problems and to groups of at most 16 channels", "[direct]") {
  CHECK(DirectConv2d::applies(depthwise(2, 8, 10, 10, 1, 3, 3)));
  CHECK(DirectConv2d::applies(depthwise(2, 8, 10, 10, 2, 3, 3)));
  CHECK(DirectConv2d::applies(depthwise(2, 8, 10, 10, 3, 5, 5)));
  CHECK(DirectConv2d::applies(depthwise(2, 8, 10, 10, 32, 3, 3)));             // any multiplier
  CHECK(DirectConv2d::applies(conv(1, 1, 10, 10, 4, 3, 3)));                   // one channel, one group: m = 4
  CHECK(DirectConv2d::applies(conv(1, 8, 10, 10, 8, 3, 3).groups(4)));         // two channels a group
  CHECK(DirectConv2d::applies(conv(1, 8, 10, 10, 4, 3, 3).groups(4)));         // fewer outputs than inputs
  CHECK(DirectConv2d::applies(conv(1, 256, 28, 28, 256, 3, 3).groups(32)));    // ResNeXt: 8 -> 8
  CHECK(DirectConv2d::applies(conv(1, 32, 10, 10, 32, 3, 3).groups(2)));       // 16 -> 16
  CHECK_FALSE(DirectConv2d::applies(conv(1, 8, 10, 10, 8, 3, 3)));             // dense
  CHECK_FALSE(DirectConv2d::applies(conv(1, 3, 10, 10, 16, 3, 3)));            // dense, however narrow
  CHECK_FALSE(DirectConv2d::applies(conv(1, 34, 10, 10, 32, 3, 3).groups(2))); // 17 input channels a group
  CHECK_FALSE(DirectConv2d::applies(conv(1, 32, 10, 10, 34, 3, 3).groups(2))); // 17 output channels a group
  CHECK_FALSE(DirectConv2d::applies(conv(1, 8, 10, 10, 12, 3, 3).groups(8)));  // 12 % 8 != 0: invalid anyway
  CHECK_FALSE(DirectConv2d::applies(conv(1, 8, 10, 10, 8, 3, 3).groups(0)));   // invalid
  CHECK_FALSE(DirectConv2d::applies(conv(1, 0, 10, 10, 8, 3, 3).groups(1)));   // invalid

  DeviceInfo const device = h100();
  LaunchPlan plan;
  CHECK(DirectConv2d::plan(conv(1, 8, 10, 10, 8, 3, 3), device, &plan) == Status::kErrorNotSupported);
  CHECK(DirectConv2d::plan(depthwise(1, 8, 10, 10, 1, 3, 3).stride(0, 1), device, &plan) ==
        Status::kErrorInvalidStride);
  CHECK(DirectConv2d::plan(depthwise(1, 8, 10, 10, 1, 3, 3), device, nullptr) == Status::kErrorNullPointer);
}

TEST_CASE("DirectConv2d takes 1, 4 or 8 output channels a thread", "[direct][plan]") {
  CHECK(Policy::channels_per_thread(1, 1) == 1);
  CHECK(Policy::channels_per_thread(1, 16) == 1); // depthwise, whatever the multiplier
  CHECK(Policy::channels_per_thread(2, 1) == 4);
  CHECK(Policy::channels_per_thread(16, 4) == 4);
  CHECK(Policy::channels_per_thread(4, 5) == 8);
  CHECK(Policy::channels_per_thread(8, 8) == 8);
  CHECK(Policy::channels_per_thread(16, 16) == 8);
}

TEST_CASE("DirectConv2d runs 3x3 groups of 8 -> 8 channels at unit steps on tensor cores, the others in FP32",
          "[direct][plan]") {
  CHECK(DirectConv2d::uses_tensor_cores(conv(1, 256, 28, 28, 256, 3, 3).groups(32)));        // ResNeXt: 8 -> 8
  CHECK(DirectConv2d::uses_tensor_cores(conv(1, 16, 10, 10, 16, 3, 3).pad(1, 0).groups(2))); // any padding
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(conv(1, 16, 10, 10, 16, 3, 3).stride(1, 2).groups(2)));
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(conv(1, 16, 10, 10, 16, 3, 3).stride(2, 1).groups(2)));
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(conv(1, 16, 10, 10, 16, 3, 3).dilation(1, 2).groups(2)));
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(conv(1, 16, 10, 10, 16, 3, 3).dilation(2, 1).groups(2)));
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(conv(1, 16, 10, 10, 16, 5, 5).groups(2))); // not 3x3
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(conv(1, 16, 10, 10, 8, 3, 3).groups(2)));  // 8 -> 4
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(conv(1, 8, 10, 10, 16, 3, 3).groups(2)));  // 4 -> 8
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(conv(1, 32, 10, 10, 32, 3, 3).groups(2))); // 16 -> 16
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(depthwise(2, 8, 10, 10, 8, 3, 3)));        // depthwise, 1 -> 8
  CHECK_FALSE(DirectConv2d::uses_tensor_cores(conv(1, 8, 10, 10, 8, 3, 3)));             // dense: not direct
  LaunchPlan plan;
  REQUIRE(DirectConv2d::plan(conv(32, 256, 28, 28, 256, 3, 3).pad(1, 1).groups(32), h100(), &plan) == Status::kSuccess);
  CHECK(std::string(plan.policy_name) == "direct-tf32");
  REQUIRE(DirectConv2d::plan(conv(32, 128, 28, 28, 128, 3, 3).pad(1, 1).groups(32), h100(), &plan) == Status::kSuccess);
  CHECK(std::string(plan.policy_name) == "direct");
}

TEST_CASE("DirectConv2d stages by TMA on sm_90 only, with aligned rows", "[direct][plan]") {
  // fake addresses: nothing is dereferenced; 0x1000 is 16-byte aligned, 0x1004 is not
  float* const aligned = reinterpret_cast<float*>(std::uintptr_t{0x1000});
  float* const misaligned = reinterpret_cast<float*>(std::uintptr_t{0x1004});
  auto const stages_by_tma = [](Conv2dProblem const& problem, float* input, float* filter, DeviceInfo const& device) {
    Conv2dArguments args;
    args.problem = problem;
    args.input = input;
    args.filter = filter;
    args.output = input;
    detail::DirectTiling tiling;
    REQUIRE(DirectConv2d::choose_tiling(problem, device, &tiling) == Status::kSuccess);
    detail::DirectConv2dParams const params = detail::DirectConv2dParams::make(
        args, tiling.tile, tiling.channels, detail::DirectConv2dParams::can_vectorize(args));
    return DirectConv2d::uses_tensor_maps<IdentityEpilogue>(args, params, tiling, device);
  };
  Conv2dProblem const resnext = conv(32, 256, 28, 28, 256, 3, 3).pad(1, 1).groups(32);
  CHECK(stages_by_tma(resnext, aligned, aligned, h100()) == kBuiltForSm90a);
  CHECK_FALSE(stages_by_tma(resnext, aligned, aligned, rtx4090()));
  CHECK_FALSE(stages_by_tma(resnext, aligned, aligned, a100()));
  CHECK_FALSE(stages_by_tma(resnext, misaligned, aligned, h100())); // rows not 16-byte aligned
  CHECK_FALSE(stages_by_tma(resnext, aligned, misaligned, h100())); // the filter's box
  CHECK_FALSE(stages_by_tma(conv(2, 16, 13, 30, 16, 3, 3).pad(1, 1).groups(2), aligned, aligned, h100())); // in_w
  // depthwise: the input alone, so the filter's alignment does not matter
  Conv2dProblem const mobilenet = depthwise(32, 144, 56, 56, 1, 3, 3).pad(1, 1);
  CHECK(stages_by_tma(mobilenet, aligned, misaligned, h100()) == kBuiltForSm90a);
  CHECK_FALSE(stages_by_tma(mobilenet, aligned, aligned, rtx4090()));
  CHECK_FALSE(stages_by_tma(mobilenet, misaligned, aligned, h100()));
  CHECK(stages_by_tma(depthwise(8, 32, 40, 40, 1, 7, 7).pad(3, 3), aligned, aligned, h100()) == kBuiltForSm90a);
  // kernels without the form: the any-size one (a stride, a 9x9 filter) and several output channels a thread
  CHECK_FALSE(stages_by_tma(depthwise(32, 144, 56, 56, 1, 3, 3).pad(1, 1).stride(2, 2), aligned, aligned, h100()));
  CHECK_FALSE(stages_by_tma(depthwise(8, 32, 40, 40, 1, 9, 9).pad(4, 4), aligned, aligned, h100()));
  CHECK_FALSE(stages_by_tma(conv(8, 64, 28, 28, 64, 3, 3).pad(1, 1).groups(16), aligned, aligned, h100()));
}

TEST_CASE("DirectConv2d plans the MobileNet layer as worked out by hand", "[direct][plan]") {
  // N=32, C=K=144, 56x56, 3x3, stride 1, pad 1. 56 columns: 256 / 56 = 4 row groups of 8 rows = 32 rows a tile,
  // ceil(7 / 4) = 2 row tiles (32 and 24 rows). Staged: 9 -> 12 taps, 34 rows x 64 floats
  // (3 + 55 + 2 + 1 = 61 -> 64): 8752 bytes. 32 * 144 * 2 = 9216 blocks; 8 blocks/SM by threads.
  Conv2dProblem const problem = depthwise(32, 144, 56, 56, 1, 3, 3).pad(1, 1);
  detail::DirectTiling tiling;
  REQUIRE(DirectConv2d::choose_tiling(problem, h100(), &tiling) == Status::kSuccess);
  CHECK(tiling.channels == 1);
  CHECK(tiling.tile.slices == 1);
  CHECK(tiling.tile.rows == 32);
  CHECK(tiling.tile.columns == 56);
  CHECK(tiling.row_tiles == 2);
  CHECK(tiling.column_tiles == 1);
  CHECK(tiling.slice_tiles == 32 * 144);
  CHECK(tiling.smem_bytes == (12 + 34 * 64) * 4);

  LaunchPlan plan;
  REQUIRE(DirectConv2d::plan(problem, h100(), &plan) == Status::kSuccess);
  CHECK(plan.grid.x == 9216u);
  CHECK(plan.grid.y == 1u);
  CHECK(plan.grid.z == 1u);
  CHECK(plan.threads == 256);
  CHECK(plan.smem_bytes == 8752);
  CHECK(plan.sm_count == 132);
  CHECK(plan.blocks_per_sm == 8);
  CHECK_FALSE(plan.occupancy_from_runtime);
  CHECK(plan.useful_fraction == Catch::Approx(56.0 / 64.0));
  CHECK(std::string(plan.policy_name) == "direct");
  CHECK(plan.block_oc == 0); // the implicit-GEMM policy fields do not apply
}

TEST_CASE("DirectConv2d plans the ResNeXt layer as worked out by hand", "[direct][plan]") {
  // N=32, C=K=256, 32 groups of 8 -> 8, 28x28, 3x3, pad 1: 8 channels a thread, one chunk. 28 columns:
  // min(256 / 28, 7) = 7 row groups, one row tile of 28 rows, one slice a block (256 / 196 = 1). Staged per input
  // plane 30 rows x 36 floats (3 + 27 + 2 + 1 = 33 -> 36), 8 planes: 8640 floats, after the filter's 8 x 9 x 8 =
  // 576: 36864 bytes, within the 48 KiB budget of 4 blocks a SM. 32 x 32 = 1024 blocks; 4 blocks/SM by registers.
  Conv2dProblem const problem = conv(32, 256, 28, 28, 256, 3, 3).pad(1, 1).groups(32);
  detail::DirectTiling tiling;
  REQUIRE(DirectConv2d::choose_tiling(problem, h100(), &tiling) == Status::kSuccess);
  CHECK(tiling.channels == 8);
  CHECK(tiling.tile.slices == 1);
  CHECK(tiling.tile.rows == 28);
  CHECK(tiling.tile.columns == 28);
  CHECK(tiling.slice_tiles == 1024);
  CHECK(tiling.row_tiles == 1);
  CHECK(tiling.column_tiles == 1);
  CHECK(tiling.smem_bytes == (576 + 8 * 30 * 36) * 4);
  LaunchPlan plan;
  REQUIRE(DirectConv2d::plan(problem, h100(), &plan) == Status::kSuccess);
  CHECK(plan.grid.x == 1024u);
  CHECK(plan.blocks_per_sm == 4);
  CHECK(plan.useful_fraction == Catch::Approx(1.0));
}

TEST_CASE("DirectConv2d picks the fixed-size kernels at a unit row step only", "[direct][plan]") {
  CHECK(DirectConv2d::fixed_filter_size(depthwise(1, 8, 20, 20, 1, 3, 3).pad(1, 1)) == 3);
  CHECK(DirectConv2d::fixed_filter_size(depthwise(1, 8, 20, 20, 1, 5, 5).stride(1, 2)) == 5);
  CHECK(DirectConv2d::fixed_filter_size(depthwise(1, 8, 20, 20, 1, 7, 7).dilation(1, 2)) == 7);
  CHECK(DirectConv2d::fixed_filter_size(depthwise(1, 8, 20, 20, 1, 3, 3).stride(2, 2)) == 0);
  CHECK(DirectConv2d::fixed_filter_size(depthwise(1, 8, 20, 20, 1, 3, 3).dilation(2, 1)) == 0);
  CHECK(DirectConv2d::fixed_filter_size(depthwise(1, 8, 20, 20, 1, 3, 5)) == 0);
  CHECK(DirectConv2d::fixed_filter_size(depthwise(1, 8, 20, 20, 1, 1, 1)) == 0);
  CHECK(DirectConv2d::fixed_filter_size(depthwise(1, 8, 20, 20, 1, 11, 11)) == 0);
  // several input channels a group: 3x3 only
  CHECK(DirectConv2d::fixed_filter_size(conv(1, 16, 20, 20, 16, 3, 3).pad(1, 1).groups(8)) == 3);
  CHECK(DirectConv2d::fixed_filter_size(conv(1, 16, 20, 20, 16, 3, 3).pad(1, 1).groups(8).stride(1, 2)) == 3);
  CHECK(DirectConv2d::fixed_filter_size(conv(1, 16, 20, 20, 16, 3, 3).pad(1, 1).groups(8).stride(2, 1)) == 0);
  CHECK(DirectConv2d::fixed_filter_size(conv(1, 16, 20, 20, 16, 3, 3).pad(1, 2).groups(8).dilation(1, 2)) == 3);
  CHECK(DirectConv2d::fixed_filter_size(conv(1, 16, 20, 20, 16, 5, 5).pad(2, 2).groups(8)) == 0);
  CHECK(DirectConv2d::fixed_filter_size(conv(1, 16, 20, 20, 16, 1, 1).groups(8)) == 0);

  // The launch bounds' register budget shows in the estimated occupancy: 8, 4 and 3 blocks a SM for one channel a
  // thread, 5 and 4 for 4 and 8.
  LaunchPlan plan;
  REQUIRE(DirectConv2d::plan(depthwise(8, 32, 56, 56, 1, 3, 3).pad(1, 1), h100(), &plan) == Status::kSuccess);
  CHECK(plan.blocks_per_sm == 8);
  REQUIRE(DirectConv2d::plan(depthwise(8, 32, 56, 56, 1, 5, 5).pad(2, 2), h100(), &plan) == Status::kSuccess);
  CHECK(plan.blocks_per_sm == 4);
  REQUIRE(DirectConv2d::plan(depthwise(8, 32, 56, 56, 1, 7, 7).pad(3, 3), h100(), &plan) == Status::kSuccess);
  CHECK(plan.blocks_per_sm == 3);
  REQUIRE(DirectConv2d::plan(depthwise(8, 32, 56, 56, 1, 7, 7).pad(3, 3).stride(2, 2), h100(), &plan) ==
          Status::kSuccess);
  CHECK(plan.blocks_per_sm == 8); // the any-size kernel
  REQUIRE(DirectConv2d::plan(conv(8, 32, 56, 56, 16, 3, 3).pad(1, 1).groups(8), h100(), &plan) == Status::kSuccess);
  CHECK(plan.blocks_per_sm == 5); // 4 -> 2 a group: 4 channels a thread
  REQUIRE(DirectConv2d::plan(conv(8, 32, 56, 56, 32, 3, 3).pad(1, 1).groups(4), h100(), &plan) == Status::kSuccess);
  CHECK(plan.blocks_per_sm == 4); // 8 -> 8 a group: 8 channels a thread
}

TEST_CASE("DirectConv2d puts several small planes in a block", "[direct][plan]") {
  // 7x7 outputs: one tile of 1 row group (8 rows) x 7 columns = 7 items a plane, 256 / 7 = 36 planes a block.
  // Staged: 36 x 9 = 324 taps, and per plane (8 - 1) + 2 + 1 = 10 rows x 12 floats (3 + 6 + 2 + 1 = 12).
  Conv2dProblem const problem = depthwise(32, 960, 7, 7, 1, 3, 3).pad(1, 1);
  detail::DirectTiling tiling;
  REQUIRE(DirectConv2d::choose_tiling(problem, h100(), &tiling) == Status::kSuccess);
  CHECK(tiling.tile.slices == 36);
  CHECK(tiling.tile.rows == 8);
  CHECK(tiling.tile.columns == 7);
  CHECK(tiling.slice_tiles == (32 * 960 + 35) / 36);
  CHECK(tiling.smem_bytes == (324 + 36 * 10 * 12) * 4);

  // Grouped, 8 -> 8: 2 row groups of 4 rows, 14 items a slice, 256 / 14 = 18 slices of 8 staged planes (73 KB) are past
  // the 48 KiB budget: halved to 9 slices, 9 x (576 + 8 x 120) = 13824 floats, 55 KB: still past; 4 slices, 24576
  // bytes.
  Conv2dProblem const grouped = conv(32, 256, 7, 7, 256, 3, 3).pad(1, 1).groups(32);
  REQUIRE(DirectConv2d::choose_tiling(grouped, h100(), &tiling) == Status::kSuccess);
  CHECK(tiling.tile.slices == 4);
  CHECK(tiling.smem_bytes == 4 * (576 + 8 * 10 * 12) * 4);
}

TEST_CASE("DirectConv2d plans cover every output and stay within every fake device's limits", "[direct][plan]") {
  DeviceInfo const devices[] = {h100(), rtx4090(), a100()};
  for (DeviceInfo const& device : devices) {
    for (ShapeCase const& shape : direct_shapes()) {
      INFO(describe(shape) << " on a device with " << device.sm_count << " SMs");
      Conv2dProblem const& problem = shape.problem;
      REQUIRE(DirectConv2d::applies(problem));
      detail::DirectTiling tiling;
      Status const status = DirectConv2d::choose_tiling(problem, device, &tiling);
      if (status == Status::kErrorSharedMemoryExceeded) {
        CHECK(device.smem_per_block_optin < kLargestSmallestTileBytes); // the dilation-80 shape on an RTX 4090
        continue;
      }
      REQUIRE(status == Status::kSuccess);
      detail::DirectTileShape const& tile = tiling.tile;
      std::int64_t const chunks = (problem.out_channels_per_group() + tiling.channels - 1) / tiling.channels;
      int const rows_per_thread = Policy::rows_per_thread(tiling.channels);
      CHECK(tile.rows % rows_per_thread == 0);
      CHECK(tile.columns <= Policy::kMaxTileColumns);
      CHECK(tile.columns <= problem.out_w());
      CHECK(tile.rows < problem.out_h() + rows_per_thread);
      CHECK(std::int64_t{tile.slices} * chunks * (tile.rows / rows_per_thread) * tile.columns <=
            2 * Policy::kThreads); // about one item a thread
      CHECK((tile.slices == 1 || (tiling.row_tiles == 1 && tiling.column_tiles == 1)));
      // the tiles reach the end of each axis, and the last one starts inside it
      std::int64_t const slices = std::int64_t{problem.batch} * problem.groups;
      CHECK(tiling.slice_tiles * tile.slices >= slices);
      CHECK((tiling.slice_tiles - 1) * tile.slices < slices);
      CHECK(tiling.row_tiles * tile.rows >= problem.out_h());
      CHECK((tiling.row_tiles - 1) * tile.rows < problem.out_h());
      CHECK(tiling.column_tiles * tile.columns >= problem.out_w());
      CHECK((tiling.column_tiles - 1) * tile.columns < problem.out_w());
      CHECK(tiling.smem_bytes == detail::DirectSmemLayout::bytes(problem, tile, tiling.channels));
      CHECK(tiling.smem_bytes <= device.smem_per_block_optin);
      CHECK(tiling.blocks() <= device.max_grid[0]);
    }
  }
}

TEST_CASE("DirectConv2d refuses what it cannot launch", "[direct][plan]") {
  LaunchPlan plan;
  SECTION("more blocks than the device's grid.x holds") {
    Conv2dProblem const problem = depthwise(32, 144, 56, 56, 1, 3, 3).pad(1, 1); // 9216 blocks
    CHECK(DirectConv2d::plan(problem, with_max_grid_x(h100(), 9216), &plan) == Status::kSuccess);
    CHECK(DirectConv2d::plan(problem, with_max_grid_x(h100(), 9215), &plan) == Status::kErrorGridTooLarge);
    Conv2dArguments args;
    args.problem = problem;
    args.input = reinterpret_cast<float const*>(std::uintptr_t{0x100000});
    args.filter = reinterpret_cast<float const*>(std::uintptr_t{0x10000000});
    args.output = reinterpret_cast<float*>(std::uintptr_t{0x20000000});
    CHECK(DirectConv2d::can_implement(args, with_max_grid_x(h100(), 9215)) == Status::kErrorGridTooLarge);
    CHECK(DirectConv2d::can_implement(args, h100()) == Status::kSuccess);
  }
  SECTION("a batch * channels that overflows the 32-bit plane index") {
    CHECK(DirectConv2d::plan(depthwise(65536, 32768, 1, 1, 1, 1, 1), h100(), &plan) == Status::kErrorProblemTooLarge);
    // the input planes: 65536 x 32768 of them, 16 a group, 8 output channels a group
    CHECK(DirectConv2d::plan(conv(65536, 32768, 1, 1, 16384, 1, 1).groups(2048), h100(), &plan) ==
          Status::kErrorProblemTooLarge);
  }
  SECTION("a column of almost INT_MAX rows: block coordinates would overflow int") {
    // refused by validate() where it bounds the padded plane, else by the direct launcher's own check
    Conv2dProblem const problem = depthwise(1, 1, INT_MAX - 100, 1, 1, 3, 3).pad(1, 1);
    CHECK(DirectConv2d::plan(problem, h100(), &plan) == Status::kErrorProblemTooLarge);
  }
  SECTION("a tile larger than the device's shared memory") {
    // dilation 4000 with a 3x3 filter: even a 1-row-group, 1-column tile stages over 8000 rows
    Conv2dProblem const problem = depthwise(1, 4, 8100, 8100, 1, 3, 3).dilation(4000, 4000);
    CHECK(DirectConv2d::plan(problem, h100(), &plan) == Status::kErrorSharedMemoryExceeded);
  }
  SECTION("a large dilation that fits with the opt-in only") {
    // 3x3, dilation 80, pad 80, 40x40 output. The smallest tile, 8 rows x 20 columns, stages 7 + 160 + 1 rows of
    // 3 + 19 + 160 + 1 -> 184 floats, + 12 taps: 123696 bytes, past 48 KiB and the RTX 4090's 99 KiB, within the H100's
    // 227 KiB.
    Conv2dProblem const problem = depthwise(1, 2, 40, 40, 1, 3, 3).dilation(80, 80).pad(80, 80);
    detail::DirectTiling tiling;
    REQUIRE(DirectConv2d::choose_tiling(problem, h100(), &tiling) == Status::kSuccess);
    CHECK(tiling.smem_bytes == kLargestSmallestTileBytes);
    CHECK(DirectConv2d::plan(problem, rtx4090(), &plan) == Status::kErrorSharedMemoryExceeded);
  }
  SECTION("a device older than sm_80") {
    DeviceInfo device = h100();
    device.cc_major = 7;
    CHECK(DirectConv2d::plan(depthwise(1, 8, 10, 10, 1, 3, 3), device, &plan) == Status::kErrorArchNotSupported);
  }
  SECTION("invalid arguments, before any plan") {
    Conv2dArguments args;
    args.problem = depthwise(1, 8, 10, 10, 1, 3, 3);
    CHECK(DirectConv2d::can_implement(args, h100()) == Status::kErrorNullPointer);
  }
}

TEST_CASE("the direct kernel's code, emulated on the host, matches the float64 reference", "[direct][emulation]") {
  DeviceInfo const device = h100();
  for (ShapeCase const& shape : direct_shapes()) {
    INFO(describe(shape));
    for (bool const allow_vector : {true, false}) {
      INFO((allow_vector ? "16-byte copies where aligned" : "4-byte copies"));
      // the kernel the launcher picks, and where that is a fixed-size one also the any-size one
      check(emulate_launched(shape, device, 0, allow_vector));
      if (DirectConv2d::fixed_filter_size(shape.problem) != 0) {
        check(emulate_channels<0, 0>(shape, device, 0, allow_vector));
      }
    }
    // an input starting one float past a 16-byte boundary: 4-byte copies whatever in_w is
    check(emulate_launched(shape, device, 1, true));
  }
}

TEST_CASE("the direct kernel's code, emulated, matches the reference on the tiles of a small GPU",
          "[direct][emulation]") {
  // A100 and RTX 4090 budgets differ from the H100's; tiles only shrink where shared memory forces it, so these are
  // mostly the same tiles, but the shapes of large reach take other branches of choose_tiling.
  for (ShapeCase const& shape : direct_shapes()) {
    INFO(describe(shape));
    detail::DirectTiling tiling;
    if (DirectConv2d::choose_tiling(shape.problem, rtx4090(), &tiling) == Status::kErrorSharedMemoryExceeded) {
      continue; // the dilation-80 shape; see the plan test
    }
    check(emulate_launched(shape, rtx4090(), 0, true));
  }
}

} // namespace test
} // namespace tileconv
