// The epilogue functors on the host: each against its own float64 formula over a grid from denormals to +-inf, the
// NaN policy (NaN in, NaN out; never NaN from anything else), the chain's order and nesting, the buffer checks of
// the tensor ops, and the is_epilogue_v trait that keeps conv2d(args, stream) from taking a stream as an epilogue.
// No CUDA call: tensor pointers are host arrays (formulas) or fake addresses (checks, which only compare them).
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/fake_buffers.hpp"

#include <tileconv/device_info.cuh>
#include <tileconv/epilogue/epilogue_chain.cuh>
#include <tileconv/epilogue/epilogue_traits.cuh>
#include <tileconv/epilogue/output_coord.cuh>
#include <tileconv/epilogue/piecewise_ops.cuh>
#include <tileconv/epilogue/smooth_activations.cuh>
#include <tileconv/epilogue/tensor_ops.cuh>
#include <tileconv/problem.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace tileconv {
namespace test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr OutputCoord kAnywhere{0, 0};

// ---------------------------------------------------------------------------------------------------------------------
// The float64 formulas: PyTorch's definitions, evaluated in double. Two are rewritten in an equal form because the
// textbook one cancels in double too, which would make the reference wrong, not the functor: 1 + erf(t) has no
// correct digit left for t < -5.9 (erfc(5.9) = 1e-16), nor 1 + tanh(u) for u < -19.
// ---------------------------------------------------------------------------------------------------------------------

double relu_ref(double x) { return x < 0.0 ? 0.0 : x; }
double relu6_ref(double x) { return std::min(std::max(x, 0.0), 6.0); }
double hardsigmoid_ref(double x) { return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }
double hardswish_ref(double x) { return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }
double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double silu_ref(double x) { return x / (1.0 + std::exp(-x)); }
double mish_ref(double x) { return x * std::tanh(std::log1p(std::exp(x))); }
double gelu_erf_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double gelu_tanh_ref(double x) {
  double const u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return x / (1.0 + std::exp(-2.0 * u)); // 0.5 x (1 + tanh(u))
}
double softplus_ref(double x, double beta, double threshold) {
  double const z = beta * x;
  if (z > threshold) {
    return x;
  }
  // exp overflows double at z = 709; log1p(exp(z)) is z to double precision from z = 37 on
  return z > 700.0 ? x : std::log1p(std::exp(z)) / beta;
}

// ---------------------------------------------------------------------------------------------------------------------
// The inputs and the error bound
// ---------------------------------------------------------------------------------------------------------------------

/// Zeros, denormals, the breakpoints of the piecewise ops, where exp over- and underflows (+-88, +-104), large and
/// huge magnitudes, +-FLT_MAX and +-inf, then a dense grid over [-50, 50] and every power of ten in float range.
std::vector<float> special_inputs() {
  std::vector<float> const magnitudes = {0.0f,  1e-40f, 1e-30f, 1e-7f, 0.25f, 0.5f,  1.0f,    2.5f,   2.999f,
                                         3.0f,  3.001f, 5.0f,   6.0f,  6.5f,  8.0f,  15.0f,   19.99f, 20.0f,
                                         20.5f, 30.0f,  50.0f,  87.5f, 88.0f, 89.0f, 103.0f,  104.0f, 110.0f,
                                         1e3f,  1e4f,   1e13f,  1e20f, 1e30f, 1e38f, FLT_MAX, kInf};
  std::vector<float> inputs;
  for (float m : magnitudes) {
    inputs.push_back(m);
    inputs.push_back(-m);
  }
  for (int i = -50 * 128; i <= 50 * 128; ++i) {
    inputs.push_back(float(i) / 128.0f);
  }
  for (int e = -38; e <= 38; ++e) {
    inputs.push_back(std::pow(10.0f, float(e)));
    inputs.push_back(-std::pow(10.0f, float(e)));
  }
  return inputs;
}

// The bound every functor meets on every finite input:
//   |actual - expected| <= FLT_EPSILON * (kUlps + kUlpsPerCondition * cond(x)) * |expected| + kAbsoluteFloor,
// cond(x) = |x f'(x) / f(x)|, the condition number, from the float64 formula by central differences. A float
// function of a float argument cannot beat that: the argument of exp/erfc is itself rounded (x / sqrt 2, the gelu
// polynomial), and cond(x) turns that rounding into relative error of the result (cond ~ x^2 in the Gaussian tail).
// kUlps covers a composition of up to four correctly rounded or 1-2 ulp libm calls. kAbsoluteFloor admits results
// below 1e-30, which float holds only as denormals or after an intermediate did (exp(-100) = 3.7e-44): far below any
// value a conv output can resolve.
constexpr double kUlps = 8.0;
constexpr double kUlpsPerCondition = 4.0;
constexpr double kAbsoluteFloor = 1e-30;

double condition_number(std::function<double(double)> const& f, double x) {
  double const fx = f(x);
  if (x == 0.0 || fx == 0.0 || !std::isfinite(fx)) {
    return 0.0; // the bound is then the floor (fx == 0) or an exact match (non-finite)
  }
  double const h = std::fabs(x) * 1e-7;
  double const derivative = (f(x + h) - f(x - h)) / (2.0 * h);
  return std::isfinite(derivative) ? std::fabs(x * derivative / fx) : 0.0;
}

/// One unary functor: how to call it, its float64 formula for finite x, and its limits at -inf and +inf.
struct UnaryCase {
  std::string name;
  std::function<float(float)> actual;
  std::function<double(double)> expected;
  double at_minus_inf;
  double at_plus_inf;
};

template <class Op> std::function<float(float)> call(Op op) {
  return [op](float x) { return op(x, kAnywhere); };
}

std::vector<UnaryCase> unary_cases() {
  return {
      {"Relu", call(Relu{}), relu_ref, 0.0, INFINITY},
      {"Relu6", call(Relu6{}), relu6_ref, 0.0, 6.0},
      {"LeakyRelu{0.01}", call(LeakyRelu{}), [](double x) { return x > 0.0 ? x : double(0.01f) * x; }, -INFINITY,
       INFINITY},
      {"LeakyRelu{-0.5}", call(LeakyRelu{-0.5f}), [](double x) { return x > 0.0 ? x : -0.5 * x; }, INFINITY, INFINITY},
      {"Clamp{-1.5, 2.25}", call(Clamp{-1.5f, 2.25f}), [](double x) { return std::min(std::max(x, -1.5), 2.25); }, -1.5,
       2.25},
      {"Clamp{0, inf}", call(Clamp{0.0f, kInf}), relu_ref, 0.0, INFINITY},
      {"Clamp{2, 1} (lo > hi: hi everywhere)", call(Clamp{2.0f, 1.0f}), [](double) { return 1.0; }, 1.0, 1.0},
      {"ScaleShift{0.5, -1.25}", call(ScaleShift{0.5f, -1.25f}), [](double x) { return 0.5 * x - 1.25; }, -INFINITY,
       INFINITY},
      {"ScaleShift{1, -0.3} (subtract 0.3)", call(ScaleShift{1.0f, -0.3f}), [](double x) { return x - double(0.3f); },
       -INFINITY, INFINITY},
      {"HardSigmoid", call(HardSigmoid{}), hardsigmoid_ref, 0.0, 1.0},
      {"HardSwish", call(HardSwish{}), hardswish_ref, 0.0, INFINITY},
      {"Sigmoid", call(Sigmoid{}), sigmoid_ref, 0.0, 1.0},
      {"Tanh", call(Tanh{}), [](double x) { return std::tanh(x); }, -1.0, 1.0},
      {"GeluErf", call(GeluErf{}), gelu_erf_ref, 0.0, INFINITY},
      {"GeluTanh", call(GeluTanh{}), gelu_tanh_ref, 0.0, INFINITY},
      {"Silu", call(Silu{}), silu_ref, 0.0, INFINITY},
      {"Mish", call(Mish{}), mish_ref, 0.0, INFINITY},
      {"Softplus{1, 20}", call(Softplus{}), [](double x) { return softplus_ref(x, 1.0, 20.0); }, 0.0, INFINITY},
      // Powers of two for beta, so that beta * x is exact in float and the reference sees the same argument.
      {"Softplus{2, 20}", call(Softplus{2.0f, 20.0f}), [](double x) { return softplus_ref(x, 2.0, 20.0); }, 0.0,
       INFINITY},
      {"Softplus{0.5, 3}", call(Softplus{0.5f, 3.0f}), [](double x) { return softplus_ref(x, 0.5, 3.0); }, 0.0,
       INFINITY},
      // A threshold past exp's overflow at 88: PyTorch's float formula gives inf there, tileconv's stays finite.
      {"Softplus{1, 1e4}", call(Softplus{1.0f, 1e4f}), [](double x) { return softplus_ref(x, 1.0, 1e4); }, 0.0,
       INFINITY},
  };
}

/// Whether `actual` meets the bound for input `x`; `*allowed` receives the bound.
bool within_bound(UnaryCase const& c, float x, float actual, double* expected_out, double* allowed) {
  if (std::isinf(x)) {
    double const limit = x < 0.0f ? c.at_minus_inf : c.at_plus_inf;
    *expected_out = limit;
    *allowed = 0.0;
    return double(actual) == limit;
  }
  double const expected = c.expected(double(x));
  *expected_out = expected;
  if (std::fabs(expected) > double(FLT_MAX)) {
    *allowed = 0.0;
    return std::isinf(actual) && (actual > 0.0f) == (expected > 0.0); // overflow is the only float answer
  }
  double const cond = condition_number(c.expected, double(x));
  *allowed = double(FLT_EPSILON) * (kUlps + kUlpsPerCondition * cond) * std::fabs(expected) + kAbsoluteFloor;
  return std::fabs(double(actual) - expected) <= *allowed;
}

} // namespace

TEST_CASE("each pointwise epilogue matches its float64 formula from denormals to infinities", "[epilogue]") {
  std::vector<float> const inputs = special_inputs();
  for (UnaryCase const& c : unary_cases()) {
    INFO(c.name);
    std::int64_t failures = 0;
    float first_x = 0.0f;
    float first_actual = 0.0f;
    double first_expected = 0.0;
    double first_allowed = 0.0;
    double worst_ratio = 0.0; // max |error| / bound over the grid, for the message
    for (float x : inputs) {
      float const actual = c.actual(x);
      double expected = 0.0;
      double allowed = 0.0;
      bool const ok = within_bound(c, x, actual, &expected, &allowed);
      if (allowed > 0.0 && std::isfinite(actual)) {
        worst_ratio = std::max(worst_ratio, std::fabs(double(actual) - expected) / allowed);
      }
      if (!ok && failures++ == 0) {
        first_x = x;
        first_actual = actual;
        first_expected = expected;
        first_allowed = allowed;
      }
    }
    INFO(failures << " of " << inputs.size() << " inputs out of bound; first: x = " << first_x << " gave "
                  << first_actual << ", expected " << first_expected << " +- " << first_allowed
                  << "; worst error / bound elsewhere " << worst_ratio);
    CHECK(failures == 0);
  }
}

TEST_CASE("the float64 formulas agree with known values", "[epilogue]") {
  // Printed by Python's math module from the textbook definitions (0.5 x (1 + erf(x / sqrt 2)), 1 + tanh, ...), so
  // independent of the functors and of the rewritten float64 formulas above; checks the constants (sqrt(2/pi),
  // 0.044715, 1/sqrt 2) of both.
  struct Known {
    char const* name;
    float actual_at_1;
    double expected_at_1;
    float actual_at_minus_2;
    double expected_at_minus_2;
  };
  Known const known[] = {
      {"GeluErf", GeluErf{}(1.0f, kAnywhere), 0.8413447460685429, GeluErf{}(-2.0f, kAnywhere), -0.04550026389635842},
      {"GeluTanh", GeluTanh{}(1.0f, kAnywhere), 0.8411919906082768, GeluTanh{}(-2.0f, kAnywhere), -0.04540230591222494},
      {"Mish", Mish{}(1.0f, kAnywhere), 0.8650983882673103, Mish{}(-2.0f, kAnywhere), -0.2525014826957089},
      {"Silu", Silu{}(1.0f, kAnywhere), 0.7310585786300049, Silu{}(-2.0f, kAnywhere), -0.2384058440442351},
      {"Softplus", Softplus{}(1.0f, kAnywhere), 1.3132616875182228, Softplus{}(-2.0f, kAnywhere), 0.1269280110429725},
      {"Sigmoid", Sigmoid{}(1.0f, kAnywhere), 0.7310585786300049, Sigmoid{}(-2.0f, kAnywhere), 0.11920292202211755},
      {"HardSwish", HardSwish{}(1.0f, kAnywhere), 2.0 / 3.0, HardSwish{}(-2.0f, kAnywhere), -1.0 / 3.0},
      {"HardSigmoid", HardSigmoid{}(1.0f, kAnywhere), 2.0 / 3.0, HardSigmoid{}(-2.0f, kAnywhere), 1.0 / 6.0},
  };
  for (Known const& k : known) {
    INFO(k.name);
    CHECK(std::fabs(double(k.actual_at_1) - k.expected_at_1) <= 4e-7 * std::fabs(k.expected_at_1));
    CHECK(std::fabs(double(k.actual_at_minus_2) - k.expected_at_minus_2) <= 4e-7 * std::fabs(k.expected_at_minus_2));
  }
  CHECK(std::fabs(gelu_erf_ref(1.0) - 0.8413447460685429) <= 1e-15);
  CHECK(std::fabs(gelu_tanh_ref(1.0) - 0.8411919906082768) <= 1e-15);
  CHECK(std::fabs(mish_ref(-2.0) - -0.2525014826957089) <= 1e-15);
}

TEST_CASE("no epilogue turns a number or an infinity into NaN, and NaN stays NaN", "[epilogue]") {
  // Huge finite inputs give the function's limit: silu(-1e30) = -0, mish(1e30) = 1e30, gelu(-FLT_MAX) = -0.
  // At -inf, PyTorch's silu, mish, gelu and hardswish give NaN (-inf * 0); tileconv gives the limit 0.
  std::vector<float> const inputs = special_inputs();
  float const nan = std::numeric_limits<float>::quiet_NaN();
  for (UnaryCase const& c : unary_cases()) {
    INFO(c.name);
    std::int64_t nans = 0;
    float first = 0.0f;
    for (float x : inputs) {
      if (std::isnan(c.actual(x)) && nans++ == 0) {
        first = x;
      }
    }
    INFO(nans << " NaN results, the first for x = " << first);
    CHECK(nans == 0);
    CHECK(std::isnan(c.actual(nan)));
    CHECK(std::isnan(c.actual(-nan)));
  }
  CHECK(Silu{}(-1e30f, kAnywhere) == 0.0f);
  CHECK(std::signbit(Silu{}(-1e30f, kAnywhere)));
  CHECK(Mish{}(1e30f, kAnywhere) == 1e30f);
  CHECK(Mish{}(-kInf, kAnywhere) == 0.0f);
  CHECK(GeluErf{}(-FLT_MAX, kAnywhere) == 0.0f);
  CHECK(GeluTanh{}(1e30f, kAnywhere) == 1e30f);
  CHECK(Softplus{}(1e30f, kAnywhere) == 1e30f);
  CHECK(Softplus{1.0f, kInf}(1e30f, kAnywhere) == 1e30f); // no threshold at all: still no overflow
}

TEST_CASE("the tensor epilogues read the element the coordinate names", "[epilogue]") {
  std::vector<float> const per_channel = {0.5f, -2.0f, 3.25f};
  std::vector<float> z(24);
  for (std::size_t i = 0; i < z.size(); ++i) {
    z[i] = 0.125f * float(i) - 1.0f;
  }
  for (int channel = 0; channel < 3; ++channel) {
    for (std::int64_t offset : {std::int64_t{0}, std::int64_t{7}, std::int64_t{23}}) {
      OutputCoord const at{channel, offset};
      INFO("channel " << channel << ", offset " << offset);
      // values whose float64 residual is exact, so that float(residual) is the correctly rounded result that fmaf
      // gives (at x = 1e30, 1.5 x is a float tie that float64 would round twice)
      for (float x : {0.0f, 1.5f, -7.0f, 12345.5f}) {
        INFO("x = " << x);
        CHECK(ChannelBias{per_channel.data()}(x, at) == x + per_channel[channel]);
        CHECK(ChannelScale{per_channel.data()}(x, at) == x * per_channel[channel]);
        double const residual = 1.5 * double(x) + -0.75 * double(z[offset]);
        CHECK(Residual{1.5f, -0.75f, z.data()}(x, at) == float(residual));
      }
    }
  }
}

TEST_CASE("a chain applies its ops left to right, at the same coordinate", "[epilogue]") {
  OutputCoord const at{1, 5};
  std::vector<float> const scale = {10.0f, -2.0f};

  // relu then scale by -2 differs from scale by -2 then relu for every x != 0
  auto const relu_then_scale = make_epilogue_chain(Relu{}, ChannelScale{scale.data()});
  auto const scale_then_relu = make_epilogue_chain(ChannelScale{scale.data()}, Relu{});
  CHECK(relu_then_scale(3.0f, at) == -6.0f);
  CHECK(scale_then_relu(3.0f, at) == 0.0f);
  CHECK(relu_then_scale(-3.0f, at) == 0.0f);
  CHECK(scale_then_relu(-3.0f, at) == 6.0f);

  // conv -> subtract -> subtract -> mish is the composition, step by step
  auto const subtract_mish = make_epilogue_chain(ScaleShift{1.0f, -0.5f}, ScaleShift{1.0f, -0.25f}, Mish{});
  for (float x : {-3.0f, 0.0f, 0.75f, 4.0f}) {
    CHECK(subtract_mish(x, at) == Mish{}((x - 0.5f) - 0.25f, at));
  }

  // chains nest, and a nested chain is the flat one
  EpilogueChain<EpilogueChain<ScaleShift, LeakyRelu>, GeluTanh> const nested(
      make_epilogue_chain(ScaleShift{2.0f, 0.0f}, LeakyRelu{0.1f}), GeluTanh{});
  auto const flat = make_epilogue_chain(ScaleShift{2.0f, 0.0f}, LeakyRelu{0.1f}, GeluTanh{});
  for (float x : {-5.0f, -0.5f, 0.0f, 0.5f, 5.0f}) {
    CHECK(nested(x, at) == flat(x, at));
    CHECK(flat(x, at) == GeluTanh{}(LeakyRelu{0.1f}(2.0f * x, at), at));
  }

  // the identity leaves every bit as it is, NaN payload and -0 included
  for (float x : {0.0f, -0.0f, 1.0f, -kInf, kInf, std::numeric_limits<float>::quiet_NaN(), 1e-40f}) {
    float const y = IdentityEpilogue{}(x, at);
    CHECK(std::memcmp(&x, &y, sizeof(float)) == 0);
  }
  CHECK(make_epilogue_chain()(2.5f, at) == 2.5f);
}

TEST_CASE("epilogues and chains are trivially copyable kernel parameters", "[epilogue]") {
  STATIC_REQUIRE(std::is_trivially_copyable_v<Relu>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<Softplus>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<Residual>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<IdentityEpilogue>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<EpilogueChain<ChannelScale, LeakyRelu, GeluErf>>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<EpilogueChain<EpilogueChain<Relu>, Residual, Mish>>);
  STATIC_REQUIRE(std::is_same_v<decltype(make_epilogue_chain(Relu{}, Tanh{})), EpilogueChain<Relu, Tanh>>);
  STATIC_REQUIRE(std::is_default_constructible_v<EpilogueChain<Relu, Clamp>>);
}

namespace {

/// `pointer` moved by `elements` floats, computed on the integer so that fake addresses stay free of undefined
/// behavior.
float* shifted(float const* pointer, std::int64_t elements) {
  return reinterpret_cast<float*>(reinterpret_cast<std::uintptr_t>(pointer) +
                                  static_cast<std::uintptr_t>(elements * std::int64_t{sizeof(float)}));
}
float* misaligned(float const* pointer) {
  return reinterpret_cast<float*>(reinterpret_cast<std::uintptr_t>(pointer) + 2);
}

constexpr std::int64_t kSpacing = std::int64_t{1} << 30; // further apart than any tensor below is large

/// A 2 x 8 x 10 x 12 -> 16 channels 3x3 pad 1 problem with input, filter, bias, output and workspace apart, and an
/// unused address (`free_slot`) for the epilogue's tensor.
Conv2dArguments fake_arguments() {
  Conv2dArguments args;
  args.problem.batch = 2;
  args.problem.in_channels = 8;
  args.problem.in_h = 10;
  args.problem.in_w = 12;
  args.problem.out_channels = 16;
  args.problem.filter_h = 3;
  args.problem.filter_w = 3;
  args.problem.pad_h = 1;
  args.problem.pad_w = 1;
  args.input = fake_address(0);
  args.filter = fake_address(kSpacing);
  args.bias = fake_address(2 * kSpacing);
  args.output = fake_address(3 * kSpacing);
  args.workspace = fake_address(4 * kSpacing);
  args.workspace_bytes = 1 << 20;
  return args;
}
float* free_slot() { return fake_address(5 * kSpacing); }

} // namespace

TEST_CASE("the per-channel tensors refuse null, misaligned and overlapping pointers", "[epilogue]") {
  Conv2dArguments const args = fake_arguments();
  REQUIRE(args.problem.validate() == Status::kSuccess);
  std::int64_t const outputs = args.problem.output_elements();
  int const channels = args.problem.out_channels;
  struct Case {
    char const* what;
    float const* tensor;
    Status expected;
  };
  Case const cases[] = {
      {"its own buffer", free_slot(), Status::kSuccess},
      {"the conv's bias (both only read)", args.bias, Status::kSuccess},
      {"right after the output", shifted(args.output, outputs), Status::kSuccess},
      {"right before the output", shifted(args.output, -channels), Status::kSuccess},
      {"null", nullptr, Status::kErrorNullPointer},
      {"misaligned", misaligned(free_slot()), Status::kErrorMisalignedPointer},
      {"inside the input", shifted(args.input, 100), Status::kErrorOverlappingBuffers},
      {"the filter's last floats", shifted(args.filter, args.problem.filter_elements() - 1),
       Status::kErrorOverlappingBuffers},
      {"the output itself", args.output, Status::kErrorOverlappingBuffers},
      {"straddling the output's start", shifted(args.output, 1 - channels), Status::kErrorOverlappingBuffers},
      {"inside the workspace", shifted(static_cast<float const*>(args.workspace), 8), Status::kErrorOverlappingBuffers},
  };
  for (Case const& c : cases) {
    INFO(c.what);
    CHECK(ChannelScale{c.tensor}.check(args) == c.expected);
    CHECK(ChannelBias{c.tensor}.check(args) == c.expected);
  }
  Conv2dArguments without_workspace = args;
  without_workspace.workspace = nullptr;
  without_workspace.workspace_bytes = 0;
  CHECK(ChannelScale{static_cast<float const*>(args.workspace)}.check(without_workspace) == Status::kSuccess);
}

TEST_CASE("a residual may be the output exactly, but overlap nothing else", "[epilogue]") {
  Conv2dArguments const args = fake_arguments();
  std::int64_t const outputs = args.problem.output_elements();
  struct Case {
    char const* what;
    float const* z;
    Status expected;
  };
  Case const cases[] = {
      {"its own buffer", free_slot(), Status::kSuccess},
      {"the output itself (read, then written by the same thread)", args.output, Status::kSuccess},
      {"right after the output", shifted(args.output, outputs), Status::kSuccess},
      {"null", nullptr, Status::kErrorNullPointer},
      {"misaligned", misaligned(free_slot()), Status::kErrorMisalignedPointer},
      {"misaligned over the output", misaligned(args.output), Status::kErrorMisalignedPointer},
      {"the output shifted by one float", shifted(args.output, 1), Status::kErrorOverlappingBuffers},
      {"ending inside the output", shifted(args.output, 1 - outputs), Status::kErrorOverlappingBuffers},
      {"over the input", args.input, Status::kErrorOverlappingBuffers},
      {"ending in the filter", shifted(args.filter, 1 - outputs), Status::kErrorOverlappingBuffers},
      {"over the workspace", shifted(static_cast<float const*>(args.workspace), -4), Status::kErrorOverlappingBuffers},
  };
  for (Case const& c : cases) {
    INFO(c.what);
    CHECK(Residual{1.0f, 1.0f, c.z}.check(args) == c.expected);
  }
}

TEST_CASE("a chain's check is its ops' first failure, in order", "[epilogue]") {
  Conv2dArguments const args = fake_arguments();
  float const* const good = free_slot();
  float const* const bad_alignment = misaligned(free_slot());

  CHECK(IdentityEpilogue{}.check(args) == Status::kSuccess);
  CHECK(make_epilogue_chain(Relu{}, Mish{}).check(args) == Status::kSuccess);
  CHECK(make_epilogue_chain(ChannelScale{good}, Relu{}, Residual{1.0f, 1.0f, args.output}).check(args) ==
        Status::kSuccess);
  CHECK(make_epilogue_chain(Relu{}, ChannelScale{nullptr}, Residual{1.0f, 1.0f, bad_alignment}).check(args) ==
        Status::kErrorNullPointer);
  CHECK(make_epilogue_chain(Relu{}, Residual{1.0f, 1.0f, bad_alignment}, ChannelScale{nullptr}).check(args) ==
        Status::kErrorMisalignedPointer);
  // nested chains are checked too
  CHECK(make_epilogue_chain(make_epilogue_chain(Tanh{}, ChannelBias{args.input})).check(args) ==
        Status::kErrorOverlappingBuffers);
  // check_epilogue: the launcher's one entry, for chains and bare functors alike
  CHECK(check_epilogue(Relu{}, args) == Status::kSuccess);
  CHECK(check_epilogue(ChannelBias{nullptr}, args) == Status::kErrorNullPointer);
  CHECK(check_epilogue(make_epilogue_chain(ChannelBias{args.output}), args) == Status::kErrorOverlappingBuffers);
}

// Candidates for the trait. A named namespace: nvcc reports functions of an unnamed one that only an unevaluated
// context (the trait) uses as never referenced.
namespace trait_probes {

/// A user's functor: nothing in it is tileconv's but the signature.
struct SubtractThenClampMin {
  float subtract;
  float min;
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const {
    float const y = x - subtract;
    return y < min ? min : y;
  }
};
struct TakesValueCoord {
  float operator()(float x, OutputCoord) const { return x; }
};
struct UnaryOnly {
  float operator()(float x) const { return x; }
};
struct TakesIntCoord {
  float operator()(float x, int) const { return x; }
};
struct NonConstCall {
  float operator()(float x, OutputCoord const&) { return x; }
};
struct ReturnsPointer {
  float* operator()(float, OutputCoord const&) const { return nullptr; }
};
/// A user's functor with its own check, which a chain must call.
struct RefusesEveryCall {
  TILECONV_HOST_DEVICE float operator()(float x, OutputCoord const&) const { return x; }
  Status check(Conv2dArguments const&) const { return Status::kErrorNotSupported; }
};

} // namespace trait_probes

TEST_CASE("is_epilogue_v accepts functors and rejects streams, devices and numbers", "[epilogue]") {
  STATIC_REQUIRE(is_epilogue_v<Relu>);
  STATIC_REQUIRE(is_epilogue_v<Softplus>);
  STATIC_REQUIRE(is_epilogue_v<Residual>);
  STATIC_REQUIRE(is_epilogue_v<IdentityEpilogue>);
  STATIC_REQUIRE(is_epilogue_v<EpilogueChain<ChannelScale, Mish>>);
  STATIC_REQUIRE(is_epilogue_v<trait_probes::SubtractThenClampMin>);
  STATIC_REQUIRE(is_epilogue_v<trait_probes::TakesValueCoord>);

  // the overloads conv2d(args, stream) and conv2d(args, device, stream) must never see these as epilogues
  STATIC_REQUIRE_FALSE(is_epilogue_v<cudaStream_t>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<std::nullptr_t>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<int>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<float>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<DeviceInfo>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<cudaError_t*>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<Conv2dArguments>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<trait_probes::UnaryOnly>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<trait_probes::TakesIntCoord>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<trait_probes::NonConstCall>);
  STATIC_REQUIRE_FALSE(is_epilogue_v<trait_probes::ReturnsPointer>);

  // which ops have a check for the launcher to call
  STATIC_REQUIRE(detail::has_check<ChannelScale>::value);
  STATIC_REQUIRE(detail::has_check<Residual>::value);
  STATIC_REQUIRE(detail::has_check<EpilogueChain<Relu>>::value);
  STATIC_REQUIRE_FALSE(detail::has_check<Relu>::value);
  STATIC_REQUIRE_FALSE(detail::has_check<trait_probes::SubtractThenClampMin>::value);
  STATIC_REQUIRE(detail::has_check<trait_probes::RefusesEveryCall>::value);
  Conv2dArguments const args = fake_arguments();
  CHECK(check_epilogue(trait_probes::RefusesEveryCall{}, args) == Status::kErrorNotSupported);
  CHECK(make_epilogue_chain(Relu{}, ChannelScale{free_slot()}, trait_probes::RefusesEveryCall{}).check(args) ==
        Status::kErrorNotSupported);

  // a user's functor chains with the built-in ones
  auto const chain = make_epilogue_chain(trait_probes::SubtractThenClampMin{1.0f, -0.5f}, ScaleShift{2.0f, 0.0f});
  CHECK(chain(3.0f, kAnywhere) == 4.0f);
  CHECK(chain(0.0f, kAnywhere) == -1.0f);
}

} // namespace test
} // namespace tileconv
