// The fuzz generator (support/fuzz_problem.hpp) on its own, without a GPU: its cases are valid and within their
// limits, depend on (seed, index) alone so that a printed case replays, and cover every feature the randomized
// differential test (test_device_fuzz.cu) promises, both in the full run and in the small slices the sanitizers run.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/fuzz_problem.hpp"

#include <tileconv/problem.cuh>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace tileconv {
namespace test {
namespace {

/// Counts of the features of a list of cases, by name.
std::map<std::string, int> count_features(std::vector<FuzzCase> const& cases) {
  std::map<std::string, int> f;
  for (FuzzCase const& c : cases) {
    Conv2dProblem const& p = c.problem;
    f["stride_h " + std::to_string(p.stride_h)]++;
    f["stride_w " + std::to_string(p.stride_w)]++;
    f["dilation_h " + std::to_string(p.dilation_h)]++;
    f["dilation_w " + std::to_string(p.dilation_w)]++;
    f["filter_h " + std::to_string(p.filter_h)]++;
    f["filter_w " + std::to_string(p.filter_w)]++;
    f[std::string("groups ") + to_string(c.group_kind)]++;
    f["depthwise multiplier > 1"] += c.group_kind == GroupKind::kDepthwise && c.multiplier > 1;
    f["depthwise"] += p.groups == p.in_channels && p.groups > 1;
    f[std::string("padding ") + to_string(c.padding_kind)]++;
    f["asymmetric rows"] += p.pad_top() != p.pad_bottom();
    f["asymmetric columns"] += p.pad_left() != p.pad_right();
    f["no padding"] += p.pad_top() + p.pad_bottom() + p.pad_left() + p.pad_right() == 0;
    f["padding = filter extent"] += p.pad_top() == p.filter_h || p.pad_left() == p.filter_w;
    f["stride > 1"] += p.stride_h > 1 || p.stride_w > 1;
    f["dilation > 1"] += p.dilation_h > 1 || p.dilation_w > 1;
    f["batch 1"] += p.batch == 1;
    f["batch > 4"] += p.batch > 4;
    f["bias"] += c.bias;
    f["no bias"] += !c.bias;
    f["input height 1"] += p.in_h == 1;
    f["input width >= 512"] += p.in_w >= 512 || p.in_h >= 512;
    f["1 output pixel"] += p.out_h() == 1 && p.out_w() == 1;
    f["outputs >= 1M"] += p.output_elements() >= (std::int64_t{1} << 20);
    // tile edges of the shipped policies: BLOCK_OW 64 / 256, BLOCK_OC 64 / 128, BLOCK_R 16
    f["pixels <= 64"] += p.gemm_n() <= 64;
    f["pixels in (256, 512), edge tile"] += p.gemm_n() > 256 && p.gemm_n() < 512;
    f["pixels > 1024"] += p.gemm_n() > 1024;
    f["channels per group > 128, edge tile"] += p.gemm_m() > 128 && p.gemm_m() % 64 != 0;
    f["channels per group 1"] += p.gemm_m() == 1;
    f["reduction < 8"] += p.gemm_k() < 8;
    f["reduction > 1000"] += p.gemm_k() > 1000;
    f["channel-tiled applies"] += p.in_channels_per_group() % 16 == 0;
    f["channel-tiled does not apply"] += p.in_channels_per_group() % 16 != 0;
    f["epilogue"] += c.epilogue.present;
    f["epilogue residual"] += c.epilogue.present && c.epilogue.residual;
    f["epilogue affine"] += c.epilogue.present && (c.epilogue.scale != 1.0f || c.epilogue.shift != 0.0f);
    f[std::string("activation ") + to_string(c.epilogue.activation)] += c.epilogue.present;
    f[std::string("workspace ") + to_string(c.workspace)]++;
    // the launchers reorder the filter into such a workspace and copy it 16 bytes at a time (perf-notes v5)
    f["reordered filter"] += p.in_channels_per_group() % 16 == 0 &&
                             (c.workspace == WorkspaceKind::kExact || c.workspace == WorkspaceKind::kGenerous);
    f["split_k " + std::to_string(c.split_k)]++;
  }
  return f;
}

std::vector<FuzzCase> draw(std::uint64_t seed, std::int64_t first, std::int64_t count, FuzzLimits const& limits) {
  std::vector<FuzzCase> cases;
  for (std::int64_t i = first; i < first + count; ++i) {
    cases.push_back(draw_fuzz_case(seed, i, limits));
  }
  return cases;
}

/// Sets an environment variable for the lifetime of the object (POSIX).
class ScopedEnv {
public:
  ScopedEnv(char const* name, char const* value) : name_(name) { setenv(name, value, 1); }
  ScopedEnv(ScopedEnv const&) = delete;
  ScopedEnv& operator=(ScopedEnv const&) = delete;
  ~ScopedEnv() { unsetenv(name_); }

private:
  char const* name_;
};

} // namespace

TEST_CASE("fuzz cases are valid problems within the limits", "[fuzz_generator]") {
  for (std::string const profile : {"full", "sanitizer"}) {
    FuzzLimits const limits = FuzzSettings::limits_of_profile(profile);
    for (std::uint64_t seed : {std::uint64_t{FuzzSettings::kDefaultSeed}, std::uint64_t{1}, std::uint64_t{987654321}}) {
      for (std::int64_t i = 0; i < 5000; ++i) {
        FuzzCase const c = draw_fuzz_case(seed, i, limits);
        Conv2dProblem const& p = c.problem;
        INFO(profile << " seed " << seed << " " << describe(c));
        REQUIRE(p.validate() == Status::kSuccess);
        REQUIRE(p.output_elements() <= limits.max_outputs);
        REQUIRE(double(p.output_elements()) * p.gemm_k() <= limits.max_macs);
        REQUIRE(p.input_elements() <= limits.max_input_elements);
        // what the issue promises of every case
        REQUIRE((p.stride_h >= 1 && p.stride_h <= 4 && p.stride_w >= 1 && p.stride_w <= 4));
        REQUIRE((p.dilation_h >= 1 && p.dilation_h <= 3 && p.dilation_w >= 1 && p.dilation_w <= 3));
        REQUIRE((p.filter_h >= 1 && p.filter_h <= 11 && p.filter_w >= 1 && p.filter_w <= 11));
        if (c.padding_kind != PaddingKind::kSame) {
          REQUIRE((p.pad_top() <= p.filter_h && p.pad_bottom() <= p.filter_h));
          REQUIRE((p.pad_left() <= p.filter_w && p.pad_right() <= p.filter_w));
        } else {
          REQUIRE(p.out_h() == p.in_h); // 'same'
          REQUIRE(p.out_w() == p.in_w);
        }
        if (c.group_kind == GroupKind::kDepthwise) {
          REQUIRE(p.groups == p.in_channels);
          REQUIRE(p.out_channels == c.multiplier * p.in_channels);
        }
        REQUIRE(p.batch * std::int64_t{p.groups} <= 65535); // a grid z every device has
      }
    }
  }
}

TEST_CASE("a fuzz case depends on its seed and index alone, so that it replays", "[fuzz_generator]") {
  FuzzLimits const limits;
  std::set<std::string> distinct;
  for (std::int64_t i = 0; i < 500; ++i) {
    FuzzCase const a = draw_fuzz_case(FuzzSettings::kDefaultSeed, i, limits);
    FuzzCase const b = draw_fuzz_case(FuzzSettings::kDefaultSeed, i, limits);
    REQUIRE(describe(a) == describe(b));
    REQUIRE(describe_cpp(a.problem) == describe_cpp(b.problem));
    REQUIRE(a.data_seed == b.data_seed);
    distinct.insert(describe(a));
    // A case that fits the limits unshrunk is the same under larger limits: only shrinking reads more random numbers.
    if (!a.shrunk) {
      FuzzLimits larger = limits;
      larger.max_outputs *= 4;
      larger.max_macs *= 4;
      larger.max_input_elements *= 4;
      REQUIRE(describe(draw_fuzz_case(FuzzSettings::kDefaultSeed, i, larger)) == describe(a));
    }
  }
  CHECK(distinct.size() == 500);
  // another seed gives other cases
  int same = 0;
  for (std::int64_t i = 0; i < 500; ++i) {
    same += describe(draw_fuzz_case(1, i, limits)) == describe(draw_fuzz_case(2, i, limits)) ? 1 : 0;
  }
  CHECK(same == 0);
  // the stream is fixed: SplitMix64 by hand, so that a seed printed on one machine replays on another
  CHECK(mix64(0) == 0);
  CHECK(FuzzRng(0).next() == 0xE220A8397B1DCDAFull);
}

TEST_CASE("the default fuzz run covers every feature", "[fuzz_generator]") {
  std::vector<FuzzCase> const cases =
      draw(FuzzSettings::kDefaultSeed, 0, FuzzSettings::kDefaultCount, FuzzSettings::limits_of_profile("full"));
  std::map<std::string, int> const f = count_features(cases);
  auto at_least = [&f](std::string const& feature, int minimum) {
    auto const it = f.find(feature);
    int const count = it == f.end() ? 0 : it->second;
    INFO(feature << ": " << count << " of " << FuzzSettings::kDefaultCount << " cases, want >= " << minimum);
    CHECK(count >= minimum);
  };
  for (int v = 1; v <= 4; ++v) {
    at_least("stride_h " + std::to_string(v), 50);
    at_least("stride_w " + std::to_string(v), 50);
  }
  for (int v = 1; v <= 3; ++v) {
    at_least("dilation_h " + std::to_string(v), 50);
    at_least("dilation_w " + std::to_string(v), 50);
  }
  for (int v = 1; v <= 11; ++v) {
    at_least("filter_h " + std::to_string(v), 20);
    at_least("filter_w " + std::to_string(v), 20);
  }
  for (char const* feature : {"groups dense",
                              "groups grouped",
                              "groups depthwise",
                              "depthwise",
                              "depthwise multiplier > 1",
                              "padding symmetric",
                              "padding asymmetric",
                              "padding same",
                              "asymmetric rows",
                              "asymmetric columns",
                              "no padding",
                              "padding = filter extent",
                              "stride > 1",
                              "dilation > 1",
                              "batch 1",
                              "batch > 4",
                              "bias",
                              "no bias",
                              "pixels <= 64",
                              "pixels in (256, 512), edge tile",
                              "pixels > 1024",
                              "channels per group > 128, edge tile",
                              "channels per group 1",
                              "reduction < 8",
                              "reduction > 1000",
                              "channel-tiled applies",
                              "channel-tiled does not apply",
                              "outputs >= 1M",
                              "epilogue",
                              "epilogue residual",
                              "epilogue affine",
                              "activation none",
                              "activation Relu",
                              "activation LeakyRelu",
                              "activation Clamp",
                              "activation Mish",
                              "workspace none",
                              "workspace exact",
                              "workspace 2x",
                              "workspace 4 bytes short",
                              "reordered filter",
                              "split_k 1",
                              "split_k 2",
                              "split_k 3",
                              "split_k 4",
                              "split_k 8",
                              "split_k 16"}) {
    at_least(feature, 20);
  }
  for (char const* feature : {"input height 1", "input width >= 512", "1 output pixel"}) {
    at_least(feature, 5);
  }
}

TEST_CASE(
    "each sanitizer slice of the fuzz covers both gathers, depthwise, grouping, stride, dilation, padding and bias",
    "[fuzz_generator]") {
  // scripts/gpu_check.sh runs TILECONV_FUZZ_PROFILE=sanitizer with TILECONV_FUZZ_FIRST = 0, 16, 32, 48 under memcheck,
  // racecheck, initcheck and synccheck: every tool must see every kernel the default run sees.
  FuzzLimits const limits = FuzzSettings::limits_of_profile("sanitizer");
  std::int64_t const count = FuzzSettings::count_of_profile("sanitizer");
  for (std::int64_t first = 0; first < 4 * count; first += count) {
    std::map<std::string, int> const f = count_features(draw(FuzzSettings::kDefaultSeed, first, count, limits));
    for (char const* feature : {"channel-tiled applies", "channel-tiled does not apply", "depthwise", "groups grouped",
                                "stride > 1", "dilation > 1", "asymmetric rows", "bias", "no bias", "epilogue"}) {
      auto const it = f.find(feature);
      INFO("TILECONV_FUZZ_FIRST=" << first << ": " << feature);
      CHECK((it != f.end() && it->second > 0));
    }
  }
}

TEST_CASE("fuzz settings come from the environment, and a malformed value is refused with its name",
          "[fuzz_generator]") {
  SECTION("defaults") {
    FuzzSettings settings;
    std::string error;
    REQUIRE(fuzz_settings_from_env(&settings, &error));
    CHECK(settings.seed == FuzzSettings::kDefaultSeed);
    CHECK(settings.count == 2000);
    CHECK(settings.first == 0);
    CHECK(settings.profile == "full");
  }
  SECTION("every variable") {
    ScopedEnv seed("TILECONV_FUZZ_SEED", "42");
    ScopedEnv first("TILECONV_FUZZ_FIRST", "17");
    ScopedEnv count("TILECONV_FUZZ_COUNT", "3");
    ScopedEnv profile("TILECONV_FUZZ_PROFILE", "sanitizer");
    ScopedEnv macs("TILECONV_FUZZ_MAX_MACS", "1000000");
    ScopedEnv launcher("TILECONV_FUZZ_LAUNCHER", "SmallTile");
    FuzzSettings settings;
    std::string error;
    REQUIRE(fuzz_settings_from_env(&settings, &error));
    CHECK(settings.seed == 42);
    CHECK(settings.first == 17);
    CHECK(settings.count == 3);
    CHECK(settings.profile == "sanitizer");
    CHECK(settings.limits.max_macs == 1e6);
    CHECK(settings.limits.max_outputs == FuzzSettings::limits_of_profile("sanitizer").max_outputs);
    CHECK(settings.launcher_filter == "SmallTile");
    std::string const replay = settings.replay(18);
    CHECK(replay ==
          "TILECONV_FUZZ_SEED=42 TILECONV_FUZZ_FIRST=18 TILECONV_FUZZ_COUNT=1 TILECONV_FUZZ_PROFILE=sanitizer "
          "TILECONV_FUZZ_MAX_MACS=1000000");
  }
  SECTION("a random seed") {
    ScopedEnv seed("TILECONV_FUZZ_SEED", "random");
    FuzzSettings settings;
    std::string error;
    REQUIRE(fuzz_settings_from_env(&settings, &error));
    CHECK(settings.random_seed);
  }
  SECTION("a seed past INT64_MAX replays as printed") {
    // half the random seeds are; a signed parse saturated them all to INT64_MAX
    ScopedEnv seed("TILECONV_FUZZ_SEED", "17511816145617251424");
    FuzzSettings settings;
    std::string error;
    REQUIRE(fuzz_settings_from_env(&settings, &error));
    CHECK(settings.seed == 17511816145617251424ull);
    CHECK(settings.replay(594).rfind("TILECONV_FUZZ_SEED=17511816145617251424 ", 0) == 0);
    ScopedEnv largest("TILECONV_FUZZ_SEED", "18446744073709551615");
    REQUIRE(fuzz_settings_from_env(&settings, &error));
    CHECK(settings.seed == 18446744073709551615ull);
  }
  SECTION("malformed values") {
    for (auto const& [name, value] :
         std::vector<std::pair<char const*, char const*>>{{"TILECONV_FUZZ_SEED", "12x"},
                                                          {"TILECONV_FUZZ_SEED", "-1"},
                                                          {"TILECONV_FUZZ_SEED", "18446744073709551616"}, // 2^64
                                                          {"TILECONV_FUZZ_SEED", " 7"},
                                                          {"TILECONV_FUZZ_FIRST", "9223372036854775808"}, // 2^63
                                                          {"TILECONV_FUZZ_COUNT", ""},
                                                          {"TILECONV_FUZZ_FIRST", "-3"},
                                                          {"TILECONV_FUZZ_MAX_MACS", "0"},
                                                          {"TILECONV_FUZZ_PROFILE", "big"}}) {
      ScopedEnv env(name, value);
      FuzzSettings settings;
      std::string error;
      INFO(name << "=" << value);
      CHECK_FALSE(fuzz_settings_from_env(&settings, &error));
      CHECK(error.find(name) != std::string::npos);
    }
  }
}

TEST_CASE("a fuzz case prints as C++ that sets every field, and as PyTorch", "[fuzz_generator]") {
  FuzzCase const c = draw_fuzz_case(FuzzSettings::kDefaultSeed, 3, FuzzLimits{});
  std::string const cpp = describe_cpp(c.problem);
  for (char const* field :
       {"batch", "in_channels", "in_h", "in_w", "out_channels", "filter_h", "filter_w", "pad_h", "pad_w", "pad_h_end",
        "pad_w_end", "stride_h", "stride_w", "dilation_h", "dilation_w", "groups"}) {
    INFO(cpp);
    CHECK(cpp.find(std::string("problem.") + field + " = ") != std::string::npos);
  }
  Conv2dProblem asymmetric = conv(1, 2, 5, 6, 4, 3, 3);
  asymmetric.pad_h = 1;
  asymmetric.pad_h_end = 2;
  CHECK(describe_cpp(asymmetric)
            .find("problem.pad_h_end = 2; problem.pad_w_end = tileconv::Conv2dProblem::kSymmetric;") !=
        std::string::npos);
  CHECK(describe_pytorch(asymmetric, true).find("F.pad(x, (0, 0, 1, 2))") != std::string::npos);
}

} // namespace test
} // namespace tileconv
