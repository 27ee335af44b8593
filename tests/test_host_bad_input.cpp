// The bad-input matrix of issue #7: every class of bad input (problem, buffers, device, workspace) against every
// launcher variant (each shipped policy with each gather), each expecting its own Status from can_implement, which
// makes no CUDA call, so the launcher that runs it launches nothing. test_host_validation.cpp probes each check's
// boundaries one at a time; this file checks that no variant lets a class through or reports it differently, then
// attacks Conv2dProblem::validate() with hostile values (INT_MAX, INT_MIN, 2^30 paddings), by hand and a million at
// random against a 128-bit recomputation, since validate() is what keeps the kernels' 32-bit index math in range. GPU
// side of the same matrix (run(), captured into a graph that must stay empty): test_device_errors.cu.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/fake_buffers.hpp"
#include "support/fake_devices.hpp"
#include "support/feature_switches.hpp"
#include "support/fuzz_problem.hpp"
#include "support/shapes.hpp"

#include <tileconv/tileconv.cuh>

#include <climits>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tileconv {
namespace test {
namespace {

/// `pointer` moved by `bytes`.
template <class T> T* shifted(T* pointer, std::int64_t bytes) {
  return reinterpret_cast<T*>(reinterpret_cast<std::uintptr_t>(pointer) + static_cast<std::uintptr_t>(bytes));
}

/// 32 input channels (a multiple of every shipped BLOCK_R, so that the channel-tiled gather applies), 48 output
/// channels, batch 2, bias: every variant accepts it on every fake device.
Conv2dProblem base_problem() { return conv(2, 32, 20, 20, 48, 3, 3).pad(1, 1); }

Conv2dArguments base_arguments(Conv2dProblem const& problem = base_problem()) { return fake_arguments(problem); }

/// `base_arguments(problem)` with `bytes` of workspace at `workspace`.
Conv2dArguments with_workspace(void* workspace, std::size_t bytes, Conv2dProblem const& problem = base_problem()) {
  Conv2dArguments args = base_arguments(problem);
  args.workspace = workspace;
  args.workspace_bytes = bytes;
  return args;
}

/// One launcher variant: Conv2d<Policy, kGather>::can_implement.
struct Variant {
  std::string name;
  GatherKind gather;
  std::function<Status(Conv2dArguments const&, DeviceInfo const&)> can_implement;
};

template <class Policy, GatherKind kGather> Variant variant(std::string const& policy) {
  return {"Conv2d<" + policy + ", " + to_string(kGather) + ">", kGather,
          [](Conv2dArguments const& args, DeviceInfo const& device) {
            return Conv2d<Policy, kGather>::can_implement(args, device);
          }};
}

template <class Policy> void add_variants(std::vector<Variant>& variants, std::string const& policy) {
  variants.push_back(variant<Policy, GatherKind::kAuto>(policy));
  variants.push_back(variant<Policy, GatherKind::kAnalytic>(policy));
  variants.push_back(variant<Policy, GatherKind::kChannelTiled>(policy));
}

std::vector<Variant> all_variants() {
  std::vector<Variant> variants;
  add_variants<LargeTilePolicy>(variants, "LargeTilePolicy");
  add_variants<NarrowTilePolicy>(variants, "NarrowTilePolicy");
  add_variants<SmallTilePolicy>(variants, "SmallTilePolicy");
  return variants;
}

/// One row of the matrix: what is wrong, how to make it so, and the status every variant must return. `problem_only`:
/// a problem error, which validate() and check_arguments report as well.
struct BadInput {
  std::string what;
  std::function<void(Conv2dArguments&, DeviceInfo&)> make_bad;
  Status expected;
  enum Scope { kProblem, kBuffers, kDevice } scope;
};

template <class Member> std::function<void(Conv2dArguments&, DeviceInfo&)> set_field(Member member, int value) {
  return [member, value](Conv2dArguments& args, DeviceInfo&) { args.problem.*member = value; };
}

std::vector<BadInput> bad_inputs() {
  using P = Conv2dProblem;
  std::vector<BadInput> rows;
  // --- zero or negative sizes
  for (auto const& [name, member] : std::vector<std::pair<char const*, int P::*>>{{"batch", &P::batch},
                                                                                  {"in_channels", &P::in_channels},
                                                                                  {"in_h", &P::in_h},
                                                                                  {"in_w", &P::in_w},
                                                                                  {"out_channels", &P::out_channels},
                                                                                  {"filter_h", &P::filter_h},
                                                                                  {"filter_w", &P::filter_w}}) {
    for (int value : {0, -1, INT_MIN}) {
      rows.push_back({std::string(name) + " = " + std::to_string(value), set_field(member, value),
                      Status::kErrorInvalidSize, BadInput::kProblem});
    }
  }
  // --- stride, dilation, padding where invalid
  for (int value : {0, -1, INT_MIN}) {
    rows.push_back({"stride_h = " + std::to_string(value), set_field(&P::stride_h, value), Status::kErrorInvalidStride,
                    BadInput::kProblem});
    rows.push_back({"stride_w = " + std::to_string(value), set_field(&P::stride_w, value), Status::kErrorInvalidStride,
                    BadInput::kProblem});
    rows.push_back({"dilation_h = " + std::to_string(value), set_field(&P::dilation_h, value),
                    Status::kErrorInvalidDilation, BadInput::kProblem});
    rows.push_back({"dilation_w = " + std::to_string(value), set_field(&P::dilation_w, value),
                    Status::kErrorInvalidDilation, BadInput::kProblem});
  }
  for (int value : {-1, -2, INT_MIN}) {
    rows.push_back({"pad_h = " + std::to_string(value), set_field(&P::pad_h, value), Status::kErrorInvalidPadding,
                    BadInput::kProblem});
    rows.push_back({"pad_w = " + std::to_string(value), set_field(&P::pad_w, value), Status::kErrorInvalidPadding,
                    BadInput::kProblem});
  }
  for (int value : {-2, -3, INT_MIN}) { // -1 is Conv2dProblem::kSymmetric
    rows.push_back({"pad_h_end = " + std::to_string(value), set_field(&P::pad_h_end, value),
                    Status::kErrorInvalidPadding, BadInput::kProblem});
    rows.push_back({"pad_w_end = " + std::to_string(value), set_field(&P::pad_w_end, value),
                    Status::kErrorInvalidPadding, BadInput::kProblem});
  }
  // --- groups
  for (int value : {0, -1, 5, 64}) { // 5 divides neither 32 nor 48; 64 divides neither
    rows.push_back({"groups = " + std::to_string(value), set_field(&P::groups, value), Status::kErrorInvalidGroups,
                    BadInput::kProblem});
  }
  rows.push_back(
      {"groups dividing in_channels only", set_field(&P::groups, 32), Status::kErrorInvalidGroups, BadInput::kProblem});
  rows.push_back(
      {"groups dividing out_channels only", set_field(&P::groups, 3), Status::kErrorInvalidGroups, BadInput::kProblem});
  // --- output size <= 0
  rows.push_back({"filter taller than the padded input",
                  [](Conv2dArguments& a, DeviceInfo&) { a.problem.filter_h = 23; }, Status::kErrorEmptyOutput,
                  BadInput::kProblem});
  rows.push_back({"dilated reach beyond the padded input",
                  [](Conv2dArguments& a, DeviceInfo&) { a.problem.dilation_w = 11; }, Status::kErrorEmptyOutput,
                  BadInput::kProblem});
  rows.push_back({"asymmetric padding: the end padding too small for the filter",
                  [](Conv2dArguments& a, DeviceInfo&) {
                    a.problem.in_h = 2;
                    a.problem.filter_h = 4;
                    a.problem.pad_h = 1;
                    a.problem.pad_h_end = 0; // 2 + 1 + 0 < 4; symmetric (1 + 1) would give one row
                  },
                  Status::kErrorEmptyOutput, BadInput::kProblem});
  rows.push_back({"reach overflowing 32 bits", [](Conv2dArguments& a, DeviceInfo&) { a.problem.dilation_h = INT_MAX; },
                  Status::kErrorEmptyOutput, BadInput::kProblem});
  // --- too large
  rows.push_back({"input plane of 2^31 elements",
                  [](Conv2dArguments& a, DeviceInfo&) {
                    a.problem.in_h = 1 << 16;
                    a.problem.in_w = 1 << 15;
                  },
                  Status::kErrorProblemTooLarge, BadInput::kProblem});
  // --- buffers
  rows.push_back({"null input", [](Conv2dArguments& a, DeviceInfo&) { a.input = nullptr; }, Status::kErrorNullPointer,
                  BadInput::kBuffers});
  rows.push_back({"null filter", [](Conv2dArguments& a, DeviceInfo&) { a.filter = nullptr; }, Status::kErrorNullPointer,
                  BadInput::kBuffers});
  rows.push_back({"null output", [](Conv2dArguments& a, DeviceInfo&) { a.output = nullptr; }, Status::kErrorNullPointer,
                  BadInput::kBuffers});
  for (int bytes : {1, 2, 3}) {
    std::string const by = " by " + std::to_string(bytes) + " bytes";
    rows.push_back({"input misaligned" + by,
                    [bytes](Conv2dArguments& a, DeviceInfo&) { a.input = shifted(a.input, bytes); },
                    Status::kErrorMisalignedPointer, BadInput::kBuffers});
    rows.push_back({"filter misaligned" + by,
                    [bytes](Conv2dArguments& a, DeviceInfo&) { a.filter = shifted(a.filter, bytes); },
                    Status::kErrorMisalignedPointer, BadInput::kBuffers});
    rows.push_back({"bias misaligned" + by,
                    [bytes](Conv2dArguments& a, DeviceInfo&) { a.bias = shifted(a.bias, bytes); },
                    Status::kErrorMisalignedPointer, BadInput::kBuffers});
    rows.push_back({"output misaligned" + by,
                    [bytes](Conv2dArguments& a, DeviceInfo&) { a.output = shifted(a.output, bytes); },
                    Status::kErrorMisalignedPointer, BadInput::kBuffers});
  }
  rows.push_back({"output is the input (in place)",
                  [](Conv2dArguments& a, DeviceInfo&) { a.output = const_cast<float*>(a.input); },
                  Status::kErrorOverlappingBuffers, BadInput::kBuffers});
  rows.push_back({"output ends on the input's first element",
                  [](Conv2dArguments& a, DeviceInfo&) {
                    a.output = const_cast<float*>(a.input) - (a.problem.output_elements() - 1);
                  },
                  Status::kErrorOverlappingBuffers, BadInput::kBuffers});
  rows.push_back({"output starts on the filter's last element",
                  [](Conv2dArguments& a, DeviceInfo&) {
                    a.output = const_cast<float*>(a.filter) + (a.problem.filter_elements() - 1);
                  },
                  Status::kErrorOverlappingBuffers, BadInput::kBuffers});
  rows.push_back({"output over the bias",
                  [](Conv2dArguments& a, DeviceInfo&) { a.output = const_cast<float*>(a.bias) - 5; },
                  Status::kErrorOverlappingBuffers, BadInput::kBuffers});
  // --- the device
  rows.push_back({"grid beyond the device's limits (x, y and z of 1)",
                  [](Conv2dArguments&, DeviceInfo& d) {
                    d.max_grid = {1, 1, 1};
                  },
                  Status::kErrorGridTooLarge, BadInput::kDevice});
  rows.push_back({"batch * groups beyond grid z",
                  [](Conv2dArguments& a, DeviceInfo& d) {
                    a.problem.batch = 40000;
                    a.problem.groups = 2;
                    (void)d;
                  },
                  Status::kErrorGridTooLarge, BadInput::kDevice});
  rows.push_back({"shared memory beyond the device (none per block)",
                  [](Conv2dArguments&, DeviceInfo& d) { d.smem_per_block_optin = 0; },
                  Status::kErrorSharedMemoryExceeded, BadInput::kDevice});
  rows.push_back(
      {"shared memory one byte short of the smallest shipped policy",
       [](Conv2dArguments&, DeviceInfo& d) {
         d.smem_per_block_optin =
             std::min({LargeTilePolicy::kSmemBytes, NarrowTilePolicy::kSmemBytes, SmallTilePolicy::kSmemBytes}) - 1;
       },
       Status::kErrorSharedMemoryExceeded, BadInput::kDevice});
  rows.push_back({"a Turing device (sm_75)",
                  [](Conv2dArguments&, DeviceInfo& d) {
                    d.cc_major = 7;
                    d.cc_minor = 5;
                  },
                  Status::kErrorArchNotSupported, BadInput::kDevice});
  rows.push_back({"a DeviceInfo never queried (all zero)", [](Conv2dArguments&, DeviceInfo& d) { d = DeviceInfo{}; },
                  Status::kErrorArchNotSupported, BadInput::kDevice});
  return rows;
}

/// The devices every row is tried on.
std::vector<std::pair<char const*, DeviceInfo>> devices() {
  return {{"H100", h100()}, {"A100", a100()}, {"RTX 4090", rtx4090()}};
}

// ---------------------------------------------------------------------------------------------------------------------
// An independent recomputation of validate(), in 128-bit integers that no int field can overflow.
// ---------------------------------------------------------------------------------------------------------------------

using Int128 = __int128;

Int128 floor_div(Int128 a, Int128 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

Int128 extent(Int128 in, Int128 pads, Int128 dilation, Int128 filter, Int128 stride) {
  return floor_div(in + pads - dilation * (filter - 1) - 1, stride) + 1;
}

/// The exact sizes of a problem whose fields passed the rules before the size limits.
struct ExactSizes {
  Int128 out_h, out_w, padded_plane, out_plane, reduction, filter, input, output;
};

ExactSizes exact_sizes(Conv2dProblem const& p) {
  Int128 const pads_h = Int128{p.pad_h} + (p.pad_h_end == Conv2dProblem::kSymmetric ? p.pad_h : p.pad_h_end);
  Int128 const pads_w = Int128{p.pad_w} + (p.pad_w_end == Conv2dProblem::kSymmetric ? p.pad_w : p.pad_w_end);
  ExactSizes s;
  s.out_h = extent(p.in_h, pads_h, p.dilation_h, p.filter_h, p.stride_h);
  s.out_w = extent(p.in_w, pads_w, p.dilation_w, p.filter_w, p.stride_w);
  s.padded_plane = (p.in_h + pads_h) * (p.in_w + pads_w);
  s.out_plane = s.out_h * s.out_w;
  s.reduction = Int128{p.in_channels / p.groups} * p.filter_h * p.filter_w;
  s.filter = s.reduction * p.out_channels;
  s.input = Int128{p.batch} * p.in_channels * p.in_h * p.in_w;
  s.output = Int128{p.batch} * p.out_channels * s.out_plane;
  return s;
}

/// The status of the rules that do not depend on the size limits: the first failing one, in the order docs/errors.md
/// gives, or kSuccess when they all pass (the problem may still be too large).
Status expected_rule_status(Conv2dProblem const& p) {
  if (p.batch <= 0 || p.in_channels <= 0 || p.in_h <= 0 || p.in_w <= 0 || p.out_channels <= 0 || p.filter_h <= 0 ||
      p.filter_w <= 0) {
    return Status::kErrorInvalidSize;
  }
  if (p.stride_h <= 0 || p.stride_w <= 0) {
    return Status::kErrorInvalidStride;
  }
  if (p.dilation_h <= 0 || p.dilation_w <= 0) {
    return Status::kErrorInvalidDilation;
  }
  auto valid_end = [](int pad) { return pad >= 0 || pad == Conv2dProblem::kSymmetric; };
  if (p.pad_h < 0 || p.pad_w < 0 || !valid_end(p.pad_h_end) || !valid_end(p.pad_w_end)) {
    return Status::kErrorInvalidPadding;
  }
  if (p.groups <= 0 || p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) {
    return Status::kErrorInvalidGroups;
  }
  ExactSizes const s = exact_sizes(p);
  if (s.out_h <= 0 || s.out_w <= 0) {
    return Status::kErrorEmptyOutput;
  }
  return Status::kSuccess;
}

constexpr Int128 kInt32Limit = Int128{1} << 31;
/// Rounding the reduction up to whole steps of any tile policy (BLOCK_R <= 64) must fit an int: the kernels'
/// parameters compute ceil(gemm_k / BLOCK_R) = (gemm_k + BLOCK_R - 1) / BLOCK_R in int. So gemm_k <= 2^31 - 64.
constexpr Int128 kReductionHeadroom = 64;

/// What the kernels need of an accepted problem: the 32-bit coordinate math of one padded input plane, one output
/// plane and the reduction index (plus a tile of headroom) fits an int, and every size accessor is exact. Returns what
/// is wrong, or an empty string.
std::string unsafe_acceptance(Conv2dProblem const& p) {
  ExactSizes const s = exact_sizes(p);
  if (s.padded_plane >= kInt32Limit) {
    return "padded input plane of 2^31 elements or more (ih * in_w + iw overflows int)";
  }
  if (s.out_plane >= kInt32Limit) {
    return "output plane of 2^31 elements or more";
  }
  if (s.reduction + kReductionHeadroom - 1 >= kInt32Limit) {
    return "reduction index C/groups * R * S within a tile of 2^31 (ceil(gemm_k / BLOCK_R) overflows int)";
  }
  if (s.filter >= (Int128{1} << 62) || s.input >= (Int128{1} << 62) || s.output >= (Int128{1} << 62)) {
    return "a tensor whose element count does not fit 64-bit offsets";
  }
  if (p.out_h() != s.out_h || p.out_w() != s.out_w || p.gemm_n() != s.out_plane || p.gemm_k() != s.reduction ||
      p.gemm_m() != p.out_channels / p.groups || p.filter_elements() != s.filter || p.input_elements() != s.input ||
      p.output_elements() != s.output) {
    return "a size accessor (out_h, out_w, gemm_n, gemm_k, gemm_m, *_elements) is not exact";
  }
  return "";
}

/// Whether every size of the problem is far below any limit: then it must be accepted.
bool obviously_small(Conv2dProblem const& p) {
  ExactSizes const s = exact_sizes(p);
  constexpr Int128 kSmall = Int128{1} << 24;
  return s.padded_plane < kSmall && s.reduction < kSmall && s.filter < kSmall && s.input < kSmall && s.output < kSmall;
}

/// A field value from a hostile mix: typical small values, 0 and negatives, powers of two around 2^15..2^30, INT_MAX,
/// INT_MIN and arbitrary 32-bit values.
int hostile(FuzzRng& rng, int typical) {
  double const u = rng.unit();
  if (u < 0.40) {
    return rng.uniform(1, typical);
  }
  if (u < 0.47) {
    return 1;
  }
  if (u < 0.52) {
    return 0;
  }
  if (u < 0.56) {
    return rng.uniform(-3, -1);
  }
  if (u < 0.60) {
    return INT_MIN;
  }
  if (u < 0.70) {
    return INT_MAX - rng.uniform(0, 2);
  }
  if (u < 0.88) {
    return (1 << rng.uniform(15, 30)) + rng.uniform(-1, 1);
  }
  return static_cast<int>(static_cast<std::uint32_t>(rng.next()));
}

/// A padding from the hostile mix, shifted down by one so that 0 is as common as 1 (and -1, kSymmetric, appears).
int hostile_pad(FuzzRng& rng) {
  int const value = hostile(rng, 4);
  return value == INT_MIN ? value : value - 1;
}

/// One row of a bad-input matrix: what it tries, the arguments and split count, and what `can_implement` must say.
struct CanImplementRow {
  char const* what;
  Conv2dArguments args;
  int split_k;
  Status expected;
};

/// Checks every row with each of `Launchers::can_implement` (`Conv2d` instantiations) on an H100.
template <class... Launchers, std::size_t kRows> void check_rows(CanImplementRow const (&rows)[kRows]) {
  for (CanImplementRow const& row : rows) {
    INFO(row.what);
    ([&] { CHECK(Launchers::can_implement(row.args, h100(), row.split_k) == row.expected); }(), ...);
  }
}

} // namespace

TEST_CASE("bad-input matrix: every class is refused with its own status by every launcher variant on every device",
          "[validation][bad_input]") {
  std::vector<Variant> const variants = all_variants();
  for (auto const& [device_name, good_device] : devices()) {
    // the row's baseline: everything accepts the good call
    for (Variant const& v : variants) {
      INFO(device_name << ", " << v.name << ": the good call");
      REQUIRE(v.can_implement(base_arguments(), good_device) == Status::kSuccess);
    }
    for (BadInput const& row : bad_inputs()) {
      Conv2dArguments args = base_arguments();
      DeviceInfo device = good_device;
      row.make_bad(args, device);
      INFO(device_name << ": " << row.what << "\n  " << describe_cpp(args.problem));
      if (row.scope == BadInput::kProblem) {
        CHECK(args.problem.validate() == row.expected);
      }
      if (row.scope != BadInput::kDevice) {
        CHECK(check_arguments(args) == row.expected);
      } else {
        CHECK(check_arguments(args) == Status::kSuccess); // the call itself is fine; the device is not
      }
      for (Variant const& v : variants) {
        INFO(v.name);
        CHECK(v.can_implement(args, device) == row.expected);
      }
    }
  }
}

TEST_CASE("bad-input matrix: a forced channel-tiled gather on channels it cannot tile is kErrorNotSupported, and only "
          "for that gather",
          "[validation][bad_input]") {
  for (int channels_per_group : {1, 3, 8, 24, 40}) {
    Conv2dArguments const args = base_arguments(conv(2, 2 * channels_per_group, 20, 20, 48, 3, 3).pad(1, 1).groups(2));
    INFO(describe(args.problem));
    for (Variant const& v : all_variants()) {
      INFO(v.name);
      CHECK(v.can_implement(args, h100()) ==
            (v.gather == GatherKind::kChannelTiled ? Status::kErrorNotSupported : Status::kSuccess));
    }
  }
}

TEST_CASE("bad-input matrix: problem errors come before buffer errors, buffer errors before device errors",
          "[validation][bad_input]") {
  DeviceInfo turing = h100();
  turing.cc_major = 7;
  turing.cc_minor = 5;
  Conv2dArguments args = base_arguments();
  args.input = nullptr;
  args.problem.stride_w = 0;
  for (Variant const& v : all_variants()) {
    INFO(v.name);
    CHECK(v.can_implement(args, turing) == Status::kErrorInvalidStride);
  }
  args.problem.stride_w = 1;
  for (Variant const& v : all_variants()) {
    INFO(v.name);
    CHECK(v.can_implement(args, turing) == Status::kErrorNullPointer);
  }
  args.input = fake_address(0);
  for (Variant const& v : all_variants()) {
    INFO(v.name);
    CHECK(v.can_implement(args, turing) == Status::kErrorArchNotSupported);
  }
}

TEST_CASE("hostile values: validate() never accepts a problem whose sizes overflow the kernels' arithmetic",
          "[validation][bad_input]") {
  struct Case {
    char const* what;
    Conv2dProblem problem;
    Status expected;
  };
  auto padded = [](int pad) {
    Conv2dProblem p; // 1 x 1 x 1 x 1, 1 x 1 filter
    p.pad_h = pad;
    p.pad_w = pad;
    return p;
  };
  Conv2dProblem huge_filter = conv(1, INT_MAX, 1, 1, INT_MAX, 40000, 40000);
  huge_filter.pad_h = 19999;
  huge_filter.pad_h_end = 20000;
  huge_filter.pad_w = 19999;
  huge_filter.pad_w_end = 20000;
  Case const cases[] = {
      // (2^32 - 1)^2 padded positions: 64-bit products of the padded extents wrap around
      {"1 x 1 input padded by INT_MAX on every side", padded(INT_MAX), Status::kErrorProblemTooLarge},
      {"1 x 1 input padded by 2^30 on every side", padded(1 << 30), Status::kErrorProblemTooLarge},
      // 46339^2 < 2^31 <= 46341^2 padded positions (and as many outputs)
      {"1 x 1 input padded by 23169 on every side", padded(23169), Status::kSuccess},
      {"1 x 1 input padded by 23170 on every side", padded(23170), Status::kErrorProblemTooLarge},
      // filter elements K * C * R * S = (2^31 - 1)^2 * 1.6e9, beyond 64 bits, for a 1 x 1 output
      {"filter of 7e27 elements", huge_filter, Status::kErrorProblemTooLarge},
      {"INT_MAX x INT_MAX input", conv(1, 1, INT_MAX, INT_MAX, 1, 1, 1), Status::kErrorProblemTooLarge},
      // a reduction of 2^31 - 2 channels: ceil(gemm_k / BLOCK_R) = (gemm_k + BLOCK_R - 1) / BLOCK_R overflows int
      {"2^31 - 2 input channels, 1 x 1", conv(1, INT_MAX - 1, 1, 1, 1, 1, 1), Status::kErrorProblemTooLarge},
      {"stride INT_MAX: one output pixel", conv(1, 1, 5, 5, 1, 3, 3).stride(INT_MAX, INT_MAX), Status::kSuccess},
      {"dilation INT_MAX with a 2-tap filter", conv(1, 1, 5, 5, 1, 2, 2).dilation(INT_MAX, INT_MAX),
       Status::kErrorEmptyOutput},
      {"filter INT_MAX on a 5 x 5 input", conv(1, 1, 5, 5, 1, INT_MAX, 1), Status::kErrorEmptyOutput},
  };
  for (Case const& c : cases) {
    INFO(c.what << "\n  " << describe_cpp(c.problem));
    CHECK(c.problem.validate() == c.expected);
    CHECK(check_arguments(base_arguments(c.problem)) == c.expected);
    for (Variant const& v : all_variants()) {
      INFO(v.name);
      Status const status = v.can_implement(base_arguments(c.problem), h100());
      if (c.expected != Status::kSuccess) {
        CHECK(status == c.expected);
      }
    }
  }
}

TEST_CASE("hostile values: validate() on a million random problems: the right rule, and only safe acceptances",
          "[validation][bad_input]") {
  // 30% of the problems draw every field from a hostile mix (see hostile()); the others draw typical values with one
  // field in twelve hostile, so that valid problems, and problems near the 2^31 limits, are common too. End paddings
  // are kSymmetric half of the time. Recomputed in 128-bit integers, which no int field can overflow:
  // - a problem that breaks a rule before the size limits gets that rule's status, the first one in docs/errors.md's
  //   order;
  // - an accepted problem is safe for the kernels (unsafe_acceptance): this is what the limits are for, whatever they
  //   are exactly;
  // - a problem far below every limit is accepted.
  FuzzRng rng(20240607);
  int accepted = 0;
  int mismatches = 0;
  constexpr int kProblems = 1000000;
  for (int i = 0; i < kProblems; ++i) {
    bool const all_hostile = rng.chance(0.3);
    auto field = [&](int typical) {
      return all_hostile || rng.chance(1.0 / 12) ? hostile(rng, typical) : rng.uniform(1, typical);
    };
    auto pad = [&] { return all_hostile || rng.chance(1.0 / 12) ? hostile_pad(rng) : rng.uniform(0, 3); };
    Conv2dProblem p;
    p.batch = field(8);
    p.in_channels = field(64);
    p.in_h = field(64);
    p.in_w = field(64);
    p.out_channels = field(64);
    p.filter_h = field(7);
    p.filter_w = field(7);
    p.pad_h = pad();
    p.pad_w = pad();
    p.pad_h_end = rng.chance(0.5) ? Conv2dProblem::kSymmetric : pad();
    p.pad_w_end = rng.chance(0.5) ? Conv2dProblem::kSymmetric : pad();
    p.stride_h = field(4);
    p.stride_w = field(4);
    p.dilation_h = field(3);
    p.dilation_w = field(3);
    p.groups = rng.chance(0.7) ? 1 : field(4);
    Status const expected = expected_rule_status(p);
    Status const actual = p.validate();
    std::string wrong;
    if (expected != Status::kSuccess) {
      if (actual != expected) {
        wrong = std::string("validate() ") + to_string(actual) + ", the first failing rule " + to_string(expected);
      }
    } else if (actual == Status::kSuccess) {
      ++accepted;
      wrong = unsafe_acceptance(p);
    } else if (actual != Status::kErrorProblemTooLarge) {
      wrong = std::string("validate() ") + to_string(actual) + " for a problem that passes every rule but the limits";
    } else if (obviously_small(p)) {
      wrong = "kErrorProblemTooLarge for a problem far below every limit";
    }
    if (!wrong.empty() && ++mismatches <= 10) { // the first ten, with their C++
      UNSCOPED_INFO("problem " << i << ": " << wrong << "\n  " << describe_cpp(p));
    }
  }
  INFO(mismatches << " of " << kProblems << " random problems judged wrongly (the first ten above); " << accepted
                  << " were valid");
  CHECK(mismatches == 0);
  CHECK(accepted > 50000); // the mix reaches valid problems too, not only the first failing rule
}

TEST_CASE("hostile values: same_padding gives the input's size whenever the problem it makes is valid",
          "[validation][bad_input]") {
  FuzzRng rng(7);
  int valid = 0;
  for (int i = 0; i < 200000; ++i) {
    Conv2dProblem p = conv(1, 1, hostile(rng, 64), hostile(rng, 64), 1, hostile(rng, 9), hostile(rng, 9));
    p.dilation_h = hostile(rng, 3);
    p.dilation_w = hostile(rng, 3);
    if (same_padding(p) != Status::kSuccess || p.validate() != Status::kSuccess) {
      continue;
    }
    ++valid;
    INFO(describe_cpp(p));
    REQUIRE(p.out_h() == p.in_h);
    REQUIRE(p.out_w() == p.in_w);
  }
  CHECK(valid > 1000);

  // a reach dilation * (filter - 1) past INT_MAX has no int padding
  Conv2dProblem far_reach = conv(1, 1, 8, 8, 1, 3, 3);
  far_reach.dilation_w = INT_MAX;
  CHECK(same_padding(far_reach) == Status::kErrorProblemTooLarge);
}

TEST_CASE("bad-input matrix: the channels-last gather's workspace, missing, short, unaligned to 16 bytes or "
          "overlapping",
          "[validation][bad_input]") {
  // Conv2d<WgmmaSpecializedPolicy, kChannelsLast> cannot run without its workspace: the filter's tile image and the
  // input's channels-last copy. A 4-byte aligned start is enough (the launcher moves both to a 16-byte boundary,
  // within the 12 bytes workspace_size adds). The plan's own refusal comes last: the architecture in a build without
  // sm_90a, the gather on channels that are no multiple of 32 or on a conv its im2col TMA map cannot describe.
  using ChannelsLast = Conv2d<WgmmaSpecializedPolicy, GatherKind::kChannelsLast>;
  Conv2dProblem const problem = conv(2, 64, 12, 12, 64, 3, 3).pad(1, 1);
  std::size_t const needed = ChannelsLast::workspace_size(problem, 1);
  CHECK(needed ==
        ::tileconv::detail::filter_copy_bytes(problem) + ::tileconv::detail::channels_last_copy_bytes(problem));
  CHECK(ChannelsLast::workspace_size(problem, 2) == needed + split_k_workspace_bytes(problem, 2));
  Status const planned = kBuiltForSm90a ? Status::kSuccess : Status::kErrorArchNotSupported;
  void* const good = fake_address(4 * kFakeBufferSpacing);
  CanImplementRow const rows[] = {
      {"enough workspace", with_workspace(good, needed, problem), 1, planned},
      {"enough workspace, 4 bytes past a 16-byte boundary", with_workspace(shifted(good, 4), needed, problem), 1,
       planned},
      {"no workspace", with_workspace(nullptr, 0, problem), 1, Status::kErrorWorkspaceTooSmall},
      {"one byte short", with_workspace(good, needed - 1, problem), 1, Status::kErrorWorkspaceTooSmall},
      {"misaligned workspace", with_workspace(shifted(good, 2), needed, problem), 1, Status::kErrorMisalignedPointer},
      {"workspace over the input", with_workspace(fake_address(0), needed, problem), 1,
       Status::kErrorOverlappingBuffers},
      {"48 channels: no multiple of 32",
       with_workspace(good, ChannelsLast::workspace_size(conv(2, 48, 12, 12, 64, 3, 3), 1),
                      conv(2, 48, 12, 12, 64, 3, 3)),
       1, kBuiltForSm90a ? Status::kErrorNotSupported : Status::kErrorArchNotSupported},
      {"stride 9: past the im2col map's traversal strides",
       with_workspace(good, needed, conv(2, 64, 12, 12, 64, 3, 3).pad(1, 1).stride(9, 9)), 1,
       kBuiltForSm90a ? Status::kErrorNotSupported : Status::kErrorArchNotSupported},
      {"a filter reaching 256 rows: past the im2col map's offsets",
       with_workspace(good, ChannelsLast::workspace_size(conv(1, 32, 260, 4, 32, 3, 1).dilation(128, 1), 1),
                      conv(1, 32, 260, 4, 32, 3, 1).dilation(128, 1)),
       1, kBuiltForSm90a ? Status::kErrorNotSupported : Status::kErrorArchNotSupported},
  };
  check_rows<ChannelsLast>(rows);
}

TEST_CASE("bad-input matrix: the pointwise gather's tensors unaligned to 16 bytes, and its problems",
          "[validation][bad_input]") {
  // Conv2d<WgmmaSpecializedNarrowPolicy, kPointwise> reads the input and the filter by TMA (16-byte aligned) and
  // stores the output 16 bytes at a time; it needs no workspace. The plan refuses what is not a 1 x 1 conv at stride 1
  // without padding on 4-pixel planes, and split-K.
  using Pointwise = Conv2d<WgmmaSpecializedNarrowPolicy, GatherKind::kPointwise>;
  Conv2dProblem const problem = conv(2, 64, 12, 12, 96, 1, 1);
  CHECK(Pointwise::workspace_size(problem, 1) == 0);
  Status const planned = kBuiltForSm90a ? Status::kSuccess : Status::kErrorArchNotSupported;
  Status const refused = kBuiltForSm90a ? Status::kErrorNotSupported : Status::kErrorArchNotSupported;
  // fake_arguments' tensors lie kFakeBufferSpacing floats apart from fake_address(0): input, filter, bias, output
  Conv2dArguments input_off_16 = fake_arguments(problem);
  input_off_16.input = fake_address(1);
  Conv2dArguments filter_off_16 = fake_arguments(problem);
  filter_off_16.filter = fake_address(kFakeBufferSpacing + 3);
  Conv2dArguments output_off_16 = fake_arguments(problem);
  output_off_16.output = fake_address(3 * kFakeBufferSpacing + 2);
  CanImplementRow const rows[] = {
      {"no workspace", fake_arguments(problem), 1, planned},
      {"input 1 float past a 16-byte boundary", input_off_16, 1, Status::kErrorMisalignedPointer},
      {"filter 3 floats past a 16-byte boundary", filter_off_16, 1, Status::kErrorMisalignedPointer},
      {"output 2 floats past a 16-byte boundary", output_off_16, 1, Status::kErrorMisalignedPointer},
      {"split 2", with_workspace(fake_address(4 * kFakeBufferSpacing), split_k_workspace_bytes(problem, 2), problem), 2,
       refused},
      {"3 x 3", fake_arguments(conv(2, 64, 12, 12, 96, 3, 3).pad(1, 1)), 1, refused},
      {"stride 2", fake_arguments(conv(2, 64, 12, 12, 96, 1, 1).stride(2, 2)), 1, refused},
      {"49-pixel planes", fake_arguments(conv(2, 64, 7, 7, 96, 1, 1)), 1, refused},
      {"48 channels: no multiple of 32", fake_arguments(conv(2, 48, 12, 12, 96, 1, 1)), 1, refused},
  };
  check_rows<Pointwise>(rows);
}

TEST_CASE("bad-input matrix: the tap-shifted gather's workspace and tensors unaligned to 16 bytes, and its problems",
          "[validation][bad_input]") {
  // Conv2d<WgmmaSpecializedThinPolicy, kTapShifted> reads the input by TMA and the filter's tile image from the
  // workspace's start by bulk copies (both 16-byte aligned), and asks the output aligned as the pointwise gather does
  // (tap_shifted_aligned); it cannot run without the tile image. The plan refuses what is not at stride 1 with output
  // rows as wide as the input's on 4-pixel planes, and split-K.
  using TapShifted = Conv2d<WgmmaSpecializedThinPolicy, GatherKind::kTapShifted>;
  Conv2dProblem const problem = conv(2, 64, 12, 12, 96, 3, 3).pad(1, 1);
  std::size_t const needed = TapShifted::workspace_size(problem, 1);
  CHECK(needed == ::tileconv::detail::filter_copy_bytes(problem));
  Status const planned = kBuiltForSm90a ? Status::kSuccess : Status::kErrorArchNotSupported;
  Status const refused = kBuiltForSm90a ? Status::kErrorNotSupported : Status::kErrorArchNotSupported;
  void* const good = fake_address(4 * kFakeBufferSpacing);
  Conv2dArguments input_off_16 = with_workspace(good, needed, problem);
  input_off_16.input = fake_address(1);
  Conv2dArguments output_off_16 = with_workspace(good, needed, problem);
  output_off_16.output = fake_address(3 * kFakeBufferSpacing + 2);
  Conv2dArguments filter_off_16 = with_workspace(good, needed, problem); // the tile image is read, not the filter
  filter_off_16.filter = fake_address(kFakeBufferSpacing + 3);
  auto const needing = [&](Conv2dProblem const& other) {
    return with_workspace(good, TapShifted::workspace_size(other, 1), other);
  };
  CanImplementRow const rows[] = {
      {"enough workspace", with_workspace(good, needed, problem), 1, planned},
      {"filter 3 floats past a 16-byte boundary", filter_off_16, 1, planned},
      {"no workspace", with_workspace(nullptr, 0, problem), 1, Status::kErrorWorkspaceTooSmall},
      {"one byte short", with_workspace(good, needed - 1, problem), 1, Status::kErrorWorkspaceTooSmall},
      {"workspace 4 bytes past a 16-byte boundary", with_workspace(shifted(good, 4), needed, problem), 1,
       Status::kErrorMisalignedPointer},
      {"input 1 float past a 16-byte boundary", input_off_16, 1, Status::kErrorMisalignedPointer},
      {"output 2 floats past a 16-byte boundary", output_off_16, 1, Status::kErrorMisalignedPointer},
      {"split 2", with_workspace(good, TapShifted::workspace_size(problem, 2), problem), 2, refused},
      {"no padding: 10-pixel output rows", needing(conv(2, 64, 12, 12, 96, 3, 3)), 1, refused},
      {"stride 2", needing(conv(2, 64, 12, 12, 96, 3, 3).pad(1, 1).stride(2, 2)), 1, refused},
      {"49-pixel planes", needing(conv(2, 64, 7, 7, 96, 3, 3).pad(1, 1)), 1, refused},
      {"48 channels: no multiple of 32", needing(conv(2, 48, 12, 12, 96, 3, 3).pad(1, 1)), 1, refused},
  };
  check_rows<TapShifted>(rows);
}

#if TILECONV_TEST_SPLIT_K
TEST_CASE("bad-input matrix: a missing, short, misaligned or overlapping split-K workspace",
          "[validation][bad_input]") {
  // HOOK (TILECONV_TEST_SPLIT_K): Conv2d<Policy>::can_implement(args, device, split_k), split_k_workspace_bytes (what
  // split-K cannot run without: its partial sums; Conv2d<Policy>::workspace_size may ask for more, to reorder the
  // filter, and runs without that part) and Status::kErrorWorkspaceTooSmall.
  constexpr int kSplit = 2;
  Conv2dProblem const problem = base_problem();
  std::size_t const needed = split_k_workspace_bytes(problem, kSplit);
  REQUIRE(needed > 0);
  void* const good = fake_address(4 * kFakeBufferSpacing);
  CanImplementRow const rows[] = {
      {"enough workspace", with_workspace(good, needed), kSplit, Status::kSuccess},
      {"no split asked: no workspace needed", with_workspace(nullptr, 0), 1, Status::kSuccess},
      {"workspace null", with_workspace(nullptr, needed), kSplit, Status::kErrorWorkspaceTooSmall},
      {"workspace_bytes 0", with_workspace(good, 0), kSplit, Status::kErrorWorkspaceTooSmall},
      {"one byte short", with_workspace(good, needed - 1), kSplit, Status::kErrorWorkspaceTooSmall},
      {"misaligned workspace", with_workspace(shifted(good, 2), needed), kSplit, Status::kErrorMisalignedPointer},
      {"workspace over the output", with_workspace(fake_address(3 * kFakeBufferSpacing), needed), kSplit,
       Status::kErrorOverlappingBuffers},
      {"workspace over the input", with_workspace(fake_address(0), needed), kSplit, Status::kErrorOverlappingBuffers},
      {"split count 0", with_workspace(good, needed), 0, Status::kErrorInvalidSplitK},
  };
  check_rows<Conv2d<LargeTilePolicy>, Conv2d<NarrowTilePolicy>, Conv2d<SmallTilePolicy>,
             Conv2d<SmallTilePolicy, GatherKind::kAnalytic>>(rows);
}
#endif

} // namespace test
} // namespace tileconv
