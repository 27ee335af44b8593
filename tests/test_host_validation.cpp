// Every class of bad input gets its own Status, from check_arguments (problem and buffers) and from
// Conv2d<Policy>::can_implement (that, plus architecture, shared memory and grid limits of a DeviceInfo). Pointers are
// addresses inside a host array: check_arguments compares addresses and never dereferences them or calls CUDA.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/fake_buffers.hpp"
#include "support/fake_devices.hpp"
#include "support/shapes.hpp"

#include <tileconv/tileconv.cuh>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace tileconv {
namespace test {
namespace {

/// A valid problem that every policy can run on every fake device.
Conv2dProblem base_problem() { return conv(2, 8, 16, 16, 16, 3, 3).pad(1, 1); }

/// The status of the buffers-and-problem check, and of every default policy's can_implement on an H100.
void check_all_report(Conv2dArguments const& args, Status expected) {
  CHECK(check_arguments(args) == expected);
  CHECK(Conv2d<LargeTilePolicy>::can_implement(args, h100()) == expected);
  CHECK(Conv2d<NarrowTilePolicy>::can_implement(args, h100()) == expected);
  CHECK(Conv2d<SmallTilePolicy>::can_implement(args, h100()) == expected);
}

/// A problem error: reported by validate(), check_arguments and can_implement alike.
void check_problem_reports(Conv2dProblem const& problem, Status expected) {
  INFO(describe(problem));
  CHECK(problem.validate() == expected);
  check_all_report(fake_arguments(problem), expected);
}

/// A problem with one field changed.
Conv2dProblem with(int Conv2dProblem::*field, int value) {
  Conv2dProblem problem = base_problem();
  problem.*field = value;
  return problem;
}

} // namespace

TEST_CASE("a valid problem with valid buffers is accepted", "[validation]") {
  Conv2dProblem const problem = base_problem();
  Conv2dArguments args = fake_arguments(problem);
  check_all_report(args, Status::kSuccess);
  args.bias = nullptr; // bias is optional
  check_all_report(args, Status::kSuccess);
}

TEST_CASE("zero or negative sizes are kErrorInvalidSize", "[validation]") {
  struct Field {
    char const* name;
    int Conv2dProblem::*member;
  };
  Field const fields[] = {
      {"batch", &Conv2dProblem::batch},
      {"in_channels", &Conv2dProblem::in_channels},
      {"in_h", &Conv2dProblem::in_h},
      {"in_w", &Conv2dProblem::in_w},
      {"out_channels", &Conv2dProblem::out_channels},
      {"filter_h", &Conv2dProblem::filter_h},
      {"filter_w", &Conv2dProblem::filter_w},
  };
  for (Field const& field : fields) {
    for (int value : {0, -1, -1000000}) {
      INFO(field.name << " = " << value);
      check_problem_reports(with(field.member, value), Status::kErrorInvalidSize);
    }
  }
}

TEST_CASE("bad stride, dilation, padding and groups each have their own status", "[validation]") {
  for (int value : {0, -1, -2}) {
    INFO("value " << value);
    check_problem_reports(with(&Conv2dProblem::stride_h, value), Status::kErrorInvalidStride);
    check_problem_reports(with(&Conv2dProblem::stride_w, value), Status::kErrorInvalidStride);
    check_problem_reports(with(&Conv2dProblem::dilation_h, value), Status::kErrorInvalidDilation);
    check_problem_reports(with(&Conv2dProblem::dilation_w, value), Status::kErrorInvalidDilation);
    check_problem_reports(with(&Conv2dProblem::groups, value), Status::kErrorInvalidGroups);
  }
  for (int value : {-1, -3}) {
    check_problem_reports(with(&Conv2dProblem::pad_h, value), Status::kErrorInvalidPadding);
    check_problem_reports(with(&Conv2dProblem::pad_w, value), Status::kErrorInvalidPadding);
  }
  SECTION("groups must divide both channel counts") {
    check_problem_reports(conv(1, 8, 8, 8, 16, 3, 3).groups(3), Status::kErrorInvalidGroups); // divides neither
    check_problem_reports(conv(1, 8, 8, 8, 12, 3, 3).groups(8), Status::kErrorInvalidGroups); // divides C only
    check_problem_reports(conv(1, 6, 8, 8, 8, 3, 3).groups(4), Status::kErrorInvalidGroups);  // divides K only
    check_problem_reports(conv(1, 8, 8, 8, 12, 3, 3).groups(4), Status::kSuccess);            // divides both
    check_problem_reports(conv(1, 8, 8, 8, 8, 3, 3).groups(8), Status::kSuccess);             // depthwise
  }
  SECTION("zero padding and a stride larger than the filter are fine") {
    check_problem_reports(conv(1, 4, 9, 9, 4, 2, 2).stride(3, 3), Status::kSuccess);
  }
}

TEST_CASE("the first thing that is wrong is the one reported", "[validation]") {
  Conv2dProblem problem = base_problem();
  problem.batch = 0;
  problem.stride_h = 0;
  problem.pad_w = -1;
  check_problem_reports(problem, Status::kErrorInvalidSize);
  problem.batch = 1;
  check_problem_reports(problem, Status::kErrorInvalidStride);
  problem.stride_h = 1;
  check_problem_reports(problem, Status::kErrorInvalidPadding);
}

TEST_CASE("an empty output is kErrorEmptyOutput", "[validation]") {
  check_problem_reports(conv(1, 4, 2, 16, 4, 3, 3), Status::kErrorEmptyOutput);                // out_h 0
  check_problem_reports(conv(1, 4, 16, 2, 4, 3, 3).dilation(1, 2), Status::kErrorEmptyOutput); // out_w -2
  check_problem_reports(conv(1, 4, 1, 1, 4, 3, 3).stride(5, 5), Status::kErrorEmptyOutput);    // floor, not trunc
  // A filter reach that overflows 32 bits must still be caught, not wrap around into a positive size.
  check_problem_reports(conv(1, 1, 8, 8, 1, 3, 3).dilation(1 << 30, 1), Status::kErrorEmptyOutput);
}

TEST_CASE("planes and the filter of 2^31 elements or more are kErrorProblemTooLarge, whole images are not",
          "[validation]") {
  // validate() alone: fake buffers of these sizes would overlap one another
  SECTION("input image: 64-bit offsets") {
    CHECK(Conv2dProblem(conv(1, 2048, 1024, 1024, 1, 1, 1)).validate() == Status::kSuccess);             // 2^31
    CHECK(Conv2dProblem(conv(1, 65536, 1024, 1024, 1, 1, 1)).validate() == Status::kSuccess);            // 2^36
    CHECK(Conv2dProblem(conv(1, 1, 46341, 46341, 1, 1, 1)).validate() == Status::kErrorProblemTooLarge); // plane > 2^31
  }
  SECTION("output image: 64-bit offsets") {
    CHECK(Conv2dProblem(conv(1, 1, 32768, 32768, 2, 1, 1)).validate() == Status::kSuccess); // 2^31
    CHECK(Conv2dProblem(conv(1, 1, 46340, 46340, 1, 1, 1).pad(1, 1)).validate() ==
          Status::kErrorProblemTooLarge); // padded plane
  }
  SECTION("whole tensors are capped at 2^48 elements") {
    CHECK(Conv2dProblem(conv(65536, 65536, 256, 256, 1, 1, 1)).validate() == Status::kErrorProblemTooLarge); // 2^48
    CHECK(Conv2dProblem(conv(65535, 65536, 256, 256, 1, 1, 1)).validate() == Status::kSuccess);
  }
  SECTION("filter") {
    check_problem_reports(conv(1, 32768, 1, 1, 65535, 1, 1), Status::kSuccess);
    check_problem_reports(conv(1, 32768, 1, 1, 65536, 1, 1), Status::kErrorProblemTooLarge); // 2^31
  }
  SECTION("padded input, which the gather indexes") {
    // 65537^2 padded positions, but a 2x2 output and a 1-element input: only the padded extent is too large.
    check_problem_reports(conv(1, 1, 1, 1, 1, 1, 1).pad(32768, 32768).stride(65536, 65536),
                          Status::kErrorProblemTooLarge);
    check_problem_reports(conv(1, 1, 1, 1, 1, 1, 1).pad(16384, 16384).stride(32768, 32768), Status::kSuccess);
  }
  SECTION("a padding of 2^30 is counted in 64 bits too") {
    // padded height 2^31 + 1 with a 3 x 1 output: only the padded extent is too large. The kernel would form
    // p * stride_h = 2^31 in an int.
    check_problem_reports(conv(1, 1, 1, 1, 1, 1, 1).pad(1 << 30, 0).stride(1 << 30, 1), Status::kErrorProblemTooLarge);
    check_problem_reports(conv(1, 1, 1, 1, 1, 1, 1).pad(0, 1 << 30).stride(1, 1 << 30), Status::kErrorProblemTooLarge);
  }
  SECTION("the batch is addressed in 64 bits, so it may make the totals exceed 2^31") {
    Conv2dProblem const problem = conv(4096, 4, 512, 512, 4, 1, 1); // 2^32 input elements in all
    REQUIRE(problem.input_elements() == (std::int64_t{1} << 32));
    CHECK(problem.validate() == Status::kSuccess);
  }
}

TEST_CASE("null input, filter or output is kErrorNullPointer", "[validation]") {
  Conv2dProblem const problem = base_problem();
  Conv2dArguments args = fake_arguments(problem);
  SECTION("input") {
    args.input = nullptr;
    check_all_report(args, Status::kErrorNullPointer);
  }
  SECTION("filter") {
    args.filter = nullptr;
    check_all_report(args, Status::kErrorNullPointer);
  }
  SECTION("output") {
    args.output = nullptr;
    check_all_report(args, Status::kErrorNullPointer);
  }
  SECTION("all three, bias null too") {
    args = Conv2dArguments{};
    args.problem = problem;
    check_all_report(args, Status::kErrorNullPointer);
  }
}

TEST_CASE("a pointer not aligned to a float is kErrorMisalignedPointer", "[validation]") {
  Conv2dProblem const problem = base_problem();
  Conv2dArguments const good = fake_arguments(problem);
  auto shifted = [](float const* p, int bytes) {
    return reinterpret_cast<float*>(reinterpret_cast<std::uintptr_t>(p) + static_cast<std::uintptr_t>(bytes));
  };
  for (int bytes : {1, 2, 3}) {
    INFO("shifted by " << bytes << " bytes");
    Conv2dArguments args = good;
    args.input = shifted(good.input, bytes);
    check_all_report(args, Status::kErrorMisalignedPointer);
    args = good;
    args.filter = shifted(good.filter, bytes);
    check_all_report(args, Status::kErrorMisalignedPointer);
    args = good;
    args.bias = shifted(good.bias, bytes);
    check_all_report(args, Status::kErrorMisalignedPointer);
    args = good;
    args.output = shifted(good.output, bytes);
    check_all_report(args, Status::kErrorMisalignedPointer);
  }
  // The kernels copy single floats, so 4-byte alignment is enough: a view starting one float in is accepted.
  Conv2dArguments args = good;
  args.input = shifted(good.input, 4);
  args.output = shifted(good.output, 4);
  check_all_report(args, Status::kSuccess);
}

TEST_CASE("an output that overlaps an operand is kErrorOverlappingBuffers", "[validation]") {
  // Element offsets on one number line: input at 0, filter at kFakeBufferSpacing, bias at 2 kFakeBufferSpacing (see
  // fake_arguments).
  Conv2dProblem const problem = base_problem();
  std::int64_t const in = problem.input_elements();
  std::int64_t const fil = problem.filter_elements();
  std::int64_t const out = problem.output_elements();
  std::int64_t const bias = problem.out_channels;
  struct Case {
    char const* what;
    std::int64_t output_at;
    Status expected;
  };
  Case const cases[] = {
      {"in place over the input", 0, Status::kErrorOverlappingBuffers},
      {"last output element on the first input element", -(out - 1), Status::kErrorOverlappingBuffers},
      {"right before the input", -out, Status::kSuccess},
      {"first output element on the last input element", in - 1, Status::kErrorOverlappingBuffers},
      {"right after the input", in, Status::kSuccess},
      {"last output element on the first filter element", kFakeBufferSpacing - (out - 1),
       Status::kErrorOverlappingBuffers},
      {"right before the filter", kFakeBufferSpacing - out, Status::kSuccess},
      {"first output element on the last filter element", kFakeBufferSpacing + fil - 1,
       Status::kErrorOverlappingBuffers},
      {"right after the filter", kFakeBufferSpacing + fil, Status::kSuccess},
      {"first output element on the last bias element", 2 * kFakeBufferSpacing + bias - 1,
       Status::kErrorOverlappingBuffers},
      {"right after the bias", 2 * kFakeBufferSpacing + bias, Status::kSuccess},
      {"last output element on the first bias element", 2 * kFakeBufferSpacing - (out - 1),
       Status::kErrorOverlappingBuffers},
  };
  for (Case const& c : cases) {
    INFO(c.what << ": output at element " << c.output_at);
    Conv2dArguments args = fake_arguments(problem);
    args.output = fake_address(c.output_at);
    check_all_report(args, c.expected);
  }
  SECTION("where the bias would be, with no bias") {
    Conv2dArguments args = fake_arguments(problem);
    args.bias = nullptr;
    args.output = fake_address(2 * kFakeBufferSpacing);
    check_all_report(args, Status::kSuccess);
  }
  SECTION("input and filter may overlap: both are only read") {
    Conv2dArguments args = fake_arguments(problem);
    args.filter = args.input;
    check_all_report(args, Status::kSuccess);
  }
}

TEST_CASE("grid limits give kErrorGridTooLarge", "[validation]") {
  SECTION("batch * groups above 65535 (grid z)") {
    Conv2dProblem at_limit = conv(65535, 1, 1, 1, 1, 1, 1);
    check_all_report(fake_arguments(at_limit), Status::kSuccess);

    Conv2dProblem over = conv(65536, 1, 1, 1, 1, 1, 1);
    Conv2dArguments const args = fake_arguments(over);
    CHECK(check_arguments(args) == Status::kSuccess); // the problem itself is fine
    CHECK(Conv2d<LargeTilePolicy>::can_implement(args, h100()) == Status::kErrorGridTooLarge);
    CHECK(Conv2d<SmallTilePolicy>::can_implement(args, h100()) == Status::kErrorGridTooLarge);

    Conv2dProblem grouped = conv(16384, 4, 1, 1, 4, 1, 1).groups(4); // 16384 x 4 = 65536
    CHECK(Conv2d<SmallTilePolicy>::can_implement(fake_arguments(grouped), h100()) == Status::kErrorGridTooLarge);
  }
  SECTION("pixel tiles above a small grid x") {
    DeviceInfo device = h100();
    device.max_grid[0] = 4;
    Conv2dProblem four_tiles = conv(1, 1, 16, 16, 1, 1, 1); // 256 pixels = 4 tiles of 64
    CHECK(Conv2d<SmallTilePolicy>::can_implement(fake_arguments(four_tiles), device) == Status::kSuccess);
    Conv2dProblem five_tiles = conv(1, 1, 16, 17, 1, 1, 1); // 272 pixels = 5 tiles
    CHECK(Conv2d<SmallTilePolicy>::can_implement(fake_arguments(five_tiles), device) == Status::kErrorGridTooLarge);
    CHECK(Conv2d<LargeTilePolicy>::can_implement(fake_arguments(five_tiles), device) == Status::kSuccess); // 3
  }
  SECTION("channel tiles above a small grid y") {
    DeviceInfo device = h100();
    device.max_grid[1] = 3;
    Conv2dProblem problem = conv(1, 1, 8, 8, 200, 1, 1); // 4 tiles of 64 channels, 2 of 128
    CHECK(Conv2d<SmallTilePolicy>::can_implement(fake_arguments(problem), device) == Status::kErrorGridTooLarge);
    CHECK(Conv2d<LargeTilePolicy>::can_implement(fake_arguments(problem), device) == Status::kSuccess);
  }
}

TEST_CASE("a policy needing more shared memory than the device allows is kErrorSharedMemoryExceeded", "[validation]") {
  Conv2dProblem const problem = base_problem();
  Conv2dArguments const args = fake_arguments(problem);
  DeviceInfo device = h100();
  device.smem_per_block_optin = LargeTilePolicy::kSmemBytes - 1;
  CHECK(Conv2d<LargeTilePolicy>::can_implement(args, device) == Status::kErrorSharedMemoryExceeded);
  CHECK(Conv2d<SmallTilePolicy>::can_implement(args, device) == Status::kSuccess);
  device.smem_per_block_optin = LargeTilePolicy::kSmemBytes; // exactly enough
  CHECK(Conv2d<LargeTilePolicy>::can_implement(args, device) == Status::kSuccess);

  using Huge = TilePolicy<64, 64, 16, 2, 2, 32>; // 32 stages: 304 KiB, more than any GPU has
  CHECK(Conv2d<Huge>::can_implement(args, h100()) == Status::kErrorSharedMemoryExceeded);
}

TEST_CASE("a device older than sm_80 is kErrorArchNotSupported", "[validation]") {
  Conv2dProblem const problem = base_problem();
  Conv2dArguments const args = fake_arguments(problem);
  struct Arch {
    int major;
    int minor;
    Status expected;
  };
  Arch const archs[] = {{6, 0, Status::kErrorArchNotSupported},
                        {7, 0, Status::kErrorArchNotSupported},
                        {7, 5, Status::kErrorArchNotSupported},
                        {8, 0, Status::kSuccess},
                        {8, 6, Status::kSuccess},
                        {8, 9, Status::kSuccess},
                        {9, 0, Status::kSuccess},
                        {10, 0, Status::kSuccess},
                        {12, 0, Status::kSuccess}};
  for (Arch const& arch : archs) {
    INFO("sm_" << arch.major << arch.minor);
    DeviceInfo device = h100();
    device.cc_major = arch.major;
    device.cc_minor = arch.minor;
    CHECK(Conv2d<LargeTilePolicy>::can_implement(args, device) == arch.expected);
    CHECK(Conv2d<SmallTilePolicy>::can_implement(args, device) == arch.expected);
  }
  SECTION("buffer errors come before device errors") {
    DeviceInfo device = h100();
    device.cc_major = 7;
    Conv2dArguments null_input = args;
    null_input.input = nullptr;
    CHECK(Conv2d<SmallTilePolicy>::can_implement(null_input, device) == Status::kErrorNullPointer);
  }
}

TEST_CASE("a fixed gather on a problem it does not apply to is kErrorNotSupported", "[validation]") {
  using ChannelTiled = Conv2d<SmallTilePolicy, GatherKind::kChannelTiled>; // BLOCK_R 16
  using Analytic = Conv2d<SmallTilePolicy, GatherKind::kAnalytic>;
  using Auto = Conv2d<SmallTilePolicy>;
  struct Case {
    Conv2dProblem problem;
    Status channel_tiled;
  };
  Case const cases[] = {
      {conv(1, 16, 8, 8, 8, 3, 3), Status::kSuccess},
      {conv(1, 48, 8, 8, 8, 3, 3), Status::kSuccess},
      {conv(1, 3, 16, 16, 8, 7, 7), Status::kErrorNotSupported},
      {conv(1, 24, 8, 8, 8, 3, 3), Status::kErrorNotSupported},
      {conv(1, 32, 8, 8, 32, 3, 3).groups(2), Status::kSuccess},           // 16 per group
      {conv(1, 32, 8, 8, 32, 3, 3).groups(4), Status::kErrorNotSupported}, // 8 per group
  };
  for (Case const& c : cases) {
    INFO(describe(c.problem));
    Conv2dArguments const args = fake_arguments(c.problem);
    CHECK(ChannelTiled::can_implement(args, h100()) == c.channel_tiled);
    CHECK(Analytic::can_implement(args, h100()) == Status::kSuccess); // the reference path runs everything
    CHECK(Auto::can_implement(args, h100()) == Status::kSuccess);     // and kAuto falls back to it
  }
  SECTION("problem errors still come first") {
    Conv2dProblem problem = conv(1, 3, 16, 16, 8, 7, 7);
    problem.stride_w = 0;
    CHECK(ChannelTiled::can_implement(fake_arguments(problem), h100()) == Status::kErrorInvalidStride);
  }
}

TEST_CASE("make_launch_plan and DeviceInfo::query reject a null result pointer without a CUDA call", "[validation]") {
  CHECK(make_launch_plan<SmallTilePolicy>(base_problem(), h100(), nullptr) == Status::kErrorNullPointer);
  CHECK(DeviceInfo::query(0, nullptr) == Status::kErrorNullPointer);
}

TEST_CASE("CUDA errors map to the most specific status and keep the raw error", "[validation]") {
  struct Mapping {
    cudaError_t error;
    Status expected;
  };
  Mapping const mappings[] = {
      {cudaSuccess, Status::kSuccess},
      {cudaErrorNoKernelImageForDevice, Status::kErrorNoKernelImage},
      {cudaErrorInvalidDeviceFunction, Status::kErrorNoKernelImage},
      {cudaErrorNoDevice, Status::kErrorInvalidDevice},
      {cudaErrorInvalidDevice, Status::kErrorInvalidDevice},
      {cudaErrorInsufficientDriver, Status::kErrorInvalidDevice},
      {cudaErrorMemoryAllocation, Status::kErrorCudaRuntime},
      {cudaErrorLaunchFailure, Status::kErrorCudaRuntime},
  };
  for (Mapping const& mapping : mappings) {
    INFO("cudaError_t " << static_cast<int>(mapping.error));
    cudaError_t raw = cudaErrorUnknown;
    CHECK(detail::status_from_cuda(mapping.error, &raw) == mapping.expected);
    CHECK(raw == mapping.error);
    CHECK(detail::status_from_cuda(mapping.error, nullptr) == mapping.expected);
  }
}

TEST_CASE("to_string(Status) is non-empty and distinct for every enumerator", "[validation]") {
  Status const all[] = {Status::kSuccess,
                        Status::kErrorInvalidSize,
                        Status::kErrorInvalidStride,
                        Status::kErrorInvalidDilation,
                        Status::kErrorInvalidPadding,
                        Status::kErrorInvalidGroups,
                        Status::kErrorEmptyOutput,
                        Status::kErrorProblemTooLarge,
                        Status::kErrorNullPointer,
                        Status::kErrorMisalignedPointer,
                        Status::kErrorOverlappingBuffers,
                        Status::kErrorGridTooLarge,
                        Status::kErrorSharedMemoryExceeded,
                        Status::kErrorArchNotSupported,
                        Status::kErrorNotSupported,
                        Status::kErrorNoKernelImage,
                        Status::kErrorInvalidDevice,
                        Status::kErrorCudaRuntime,
                        Status::kErrorInvalidSplitK,
                        Status::kErrorWorkspaceTooSmall};
  std::string const unknown = to_string(static_cast<Status>(-1));
  CHECK(unknown == "unknown status");
  std::set<std::string> seen;
  for (Status status : all) {
    std::string const text = to_string(status);
    INFO("Status " << static_cast<int>(status) << ": \"" << text << "\"");
    CHECK_FALSE(text.empty());
    CHECK(text != unknown);
    CHECK(seen.insert(text).second);
  }
  // The enumerators are consecutive from 0: one past the last one must be unknown, so none was left out above.
  CHECK(to_string(static_cast<Status>(static_cast<int>(Status::kErrorWorkspaceTooSmall) + 1)) == unknown);
  CHECK(seen.size() == sizeof(all) / sizeof(all[0]));
}

} // namespace test
} // namespace tileconv
