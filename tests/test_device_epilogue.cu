// The fused epilogue on the GPU: conv + bias followed by each built-in functor alone and by chains (subtract,
// subtract, mish; per-channel scale, leaky relu, gelu; a folded batch norm; a residual, also with z aliasing the
// output; magnitudes that saturate exp), through the default launcher, each shipped policy, the direct kernel and
// split-K, against the float64 conv + bias followed by the chain's float64 formula.
//
// Pass criterion. The conv alone passes the harness's test: relative L2 <= 1e-3 and max error <= 1e-2 max|v| against
// the float64 conv + bias v (TF32 operands). An epilogue f with |f'| <= L (its Lipschitz bound, given per case) maps
// an error dv of v to at most L dv, and rounds its own float result (a few ulps, tests/test_host_epilogue.cpp),
// so an element passes when
//     |actual - expected| <= 1e-2 * L * max|v| + 1e-5 * |expected|
// and the tensor when ||actual - expected||_2 <= 1e-3 * L * ||v||_2 + 1e-5 * ||expected||_2, with no non-finite value.
// The bound is absolute in units of the conv's own scale, so outputs near zero (a relu's, a sigmoid's tail) are not
// held to a relative error they cannot have, and an epilogue that is skipped, applied twice, applied before the bias,
// or reads the wrong channel or offset misses it by orders of magnitude.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/gpu_harness.hpp"
#include "support/shapes.hpp"

#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/random_fill.cuh>
#include <tileconv/tileconv.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace tileconv {
namespace test {
namespace {

// ---------------------------------------------------------------------------------------------------------------------
// float64 formulas: PyTorch's definitions (the same as tests/test_host_epilogue.cpp, which tests them against known
// values); gelu as erfc and gelu-tanh as a sigmoid, because 1 + erf / 1 + tanh cancel in float64 too.
// ---------------------------------------------------------------------------------------------------------------------

double relu_ref(double x) { return x < 0.0 ? 0.0 : x; }
double relu6_ref(double x) { return std::min(std::max(x, 0.0), 6.0); }
double leaky_relu_ref(double x, double slope) { return x > 0.0 ? x : slope * x; }
double hardsigmoid_ref(double x) { return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }
double hardswish_ref(double x) { return x * hardsigmoid_ref(x); }
double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double silu_ref(double x) { return x * sigmoid_ref(x); }
double softplus_ref(double x, double beta, double threshold) {
  double const z = beta * x;
  return z > threshold || z > 700.0 ? x : std::log1p(std::exp(z)) / beta; // exp overflows double past 709
}
double mish_ref(double x) { return x * std::tanh(softplus_ref(x, 1.0, 700.0)); }
double gelu_erf_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double gelu_tanh_ref(double x) {
  double const u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return x * sigmoid_ref(2.0 * u);
}

/// An upper bound of |f'| for the smooth activations (gelu 1.13, silu 1.10, mish 1.09, the others <= 1).
constexpr double kSmoothLipschitz = 1.2;

/// The float64 value one output element must have: from v (conv + bias), its output channel and its offset.
using ExpectedFn = std::function<double(double v, int channel, std::int64_t offset)>;

// ---------------------------------------------------------------------------------------------------------------------
// Buffers: one shared shape with everything an epilogue may read, and its float64 conv + bias
// ---------------------------------------------------------------------------------------------------------------------

class EpilogueHarness {
public:
  /// Random input, filter, bias (if the shape has one), per-channel scale and shift and a residual z, all uniform
  /// in [-1, 1); the float64 conv + bias on the host from the same values.
  EpilogueHarness(ShapeCase const& shape, std::uint64_t seed)
      : shape_(shape), problem_(shape.problem), input_(problem_.input_elements()), filter_(problem_.filter_elements()),
        bias_(shape.bias ? problem_.out_channels : 0), scale_(problem_.out_channels), shift_(problem_.out_channels),
        z_(problem_.output_elements()), output_(problem_.output_elements()) {
    INFO(describe(shape_));
    REQUIRE(problem_.validate() == Status::kSuccess);
    REQUIRE(use_host_reference(problem_));
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(input_.data(), input_.size(), seed));
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(filter_.data(), filter_.size(), seed + 1));
    if (shape.bias) {
      TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(bias_.data(), bias_.size(), seed + 2));
    }
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(scale_.data(), scale_.size(), seed + 3));
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(shift_.data(), shift_.size(), seed + 4));
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(z_.data(), z_.size(), seed + 5));
    TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
    std::vector<float> const input = input_.to_host();
    std::vector<float> const filter = filter_.to_host();
    std::vector<float> const bias = bias_.to_host();
    conv_.resize(static_cast<std::size_t>(problem_.output_elements()));
    reference::conv2d_host(problem_, input.data(), filter.data(), shape.bias ? bias.data() : nullptr, conv_.data());
    scale_host_ = scale_.to_host();
    shift_host_ = shift_.to_host();
    z_host_ = z_.to_host();
  }

  ShapeCase const& shape() const { return shape_; }
  Conv2dProblem const& problem() const { return problem_; }
  GuardedOutput& output() { return output_; }

  float const* scale() const { return scale_.data(); }
  float const* shift() const { return shift_.data(); }
  float const* z() const { return z_.data(); }
  double scale_at(int channel) const { return scale_host_[static_cast<std::size_t>(channel)]; }
  double shift_at(int channel) const { return shift_host_[static_cast<std::size_t>(channel)]; }
  double z_at(std::int64_t offset) const { return z_host_[static_cast<std::size_t>(offset)]; }

  Conv2dArguments arguments() const {
    Conv2dArguments args;
    args.problem = problem_;
    args.input = input_.data();
    args.filter = filter_.data();
    args.bias = shape_.bias ? bias_.data() : nullptr;
    args.output = output_.data();
    return args;
  }

  /// Fills the output with z's values, for a residual that reads the output in place; the guards stay poisoned.
  void output_holds_z(cudaStream_t stream) {
    TILECONV_REQUIRE_CUDA(cudaMemcpyAsync(output_.data(), z_.data(), z_.bytes(), cudaMemcpyDeviceToDevice, stream));
  }

  /// The output (synchronous copy) against `expected` applied to the float64 conv, with the criterion at the top of
  /// this file for an epilogue whose |f'| <= `lipschitz`. CHECKs, with `what` in the messages.
  void compare(std::string const& what, ExpectedFn const& expected, double lipschitz) const {
    std::vector<float> const actual = output_.output_to_host();
    std::int64_t const plane = std::int64_t{problem_.out_h()} * problem_.out_w();
    double max_v = 0.0;
    double sum_sq_v = 0.0;
    for (double v : conv_) {
      max_v = std::max(max_v, std::fabs(v));
      sum_sq_v += v * v;
    }
    double const element_floor = 1e-2 * lipschitz * max_v;
    std::int64_t non_finite = 0;
    std::int64_t over_bound = 0;
    std::int64_t first_bad = -1;
    double sum_sq_error = 0.0;
    double sum_sq_expected = 0.0;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(conv_.size()); ++i) {
      int const channel = static_cast<int>(i / plane % problem_.out_channels);
      double const e = expected(conv_[static_cast<std::size_t>(i)], channel, i);
      double const a = double(actual[static_cast<std::size_t>(i)]);
      sum_sq_expected += e * e;
      if (!std::isfinite(a)) {
        non_finite += 1;
        first_bad = first_bad < 0 ? i : first_bad;
        continue;
      }
      double const error = std::fabs(a - e);
      sum_sq_error += error * error;
      if (!(error <= element_floor + 1e-5 * std::fabs(e))) {
        over_bound += 1;
        first_bad = first_bad < 0 ? i : first_bad;
      }
    }
    double const l2_error = std::sqrt(sum_sq_error);
    double const l2_bound = 1e-3 * lipschitz * std::sqrt(sum_sq_v) + 1e-5 * std::sqrt(sum_sq_expected);
    std::ostringstream message;
    message << what << " on " << describe(shape_) << ": " << non_finite << " non-finite, " << over_bound << " of "
            << conv_.size() << " elements over " << element_floor << " + 1e-5 |expected|; L2 error " << l2_error
            << " (bound " << l2_bound << ")";
    if (first_bad >= 0) {
      int const channel = static_cast<int>(first_bad / plane % problem_.out_channels);
      message << "; first bad element " << first_bad << ": conv + bias " << conv_[static_cast<std::size_t>(first_bad)]
              << ", actual " << actual[static_cast<std::size_t>(first_bad)] << ", expected "
              << expected(conv_[static_cast<std::size_t>(first_bad)], channel, first_bad);
    }
    INFO(message.str());
    CHECK(non_finite == 0);
    CHECK(over_bound == 0);
    CHECK(l2_error <= l2_bound);
  }

private:
  ShapeCase shape_;
  Conv2dProblem problem_;
  DeviceBuffer<float> input_;
  DeviceBuffer<float> filter_;
  DeviceBuffer<float> bias_;
  DeviceBuffer<float> scale_;
  DeviceBuffer<float> shift_;
  DeviceBuffer<float> z_;
  GuardedOutput output_;
  std::vector<double> conv_;
  std::vector<float> scale_host_;
  std::vector<float> shift_host_;
  std::vector<float> z_host_;
};

// ---------------------------------------------------------------------------------------------------------------------
// Launchers with an epilogue
// ---------------------------------------------------------------------------------------------------------------------

/// One way of calling tileconv with an epilogue, named for failure messages.
template <class Epilogue> struct EpilogueLauncher {
  std::string name;
  std::function<Status(Conv2dArguments const&, Epilogue const&, cudaStream_t)> launch;
};

/// Which launchers an epilogue case runs through, as a tag type so that only those are compiled: each launcher
/// compiles its kernels once per epilogue type, and the default launcher every kernel it can choose. The functors
/// alone (where the question is the formula, which every kernel applies through the same code) run one policy,
/// the chains all launchers.
struct OnePolicy {};    ///< Conv2d<SmallTilePolicy>::run
struct AllLaunchers {}; ///< tileconv::conv2d and Conv2d<Policy>::run with each shipped policy

template <class Epilogue> EpilogueLauncher<Epilogue> small_tile_launcher(DeviceInfo const& device) {
  return {"Conv2d<SmallTilePolicy>::run(args, epilogue, device, stream)",
          [device](Conv2dArguments const& args, Epilogue const& epilogue, cudaStream_t stream) {
            return Conv2d<SmallTilePolicy>::run(args, epilogue, device, stream);
          }};
}

template <class Epilogue>
std::vector<EpilogueLauncher<Epilogue>> epilogue_launchers(DeviceInfo const& device, OnePolicy) {
  return {small_tile_launcher<Epilogue>(device)};
}

template <class Epilogue>
std::vector<EpilogueLauncher<Epilogue>> epilogue_launchers(DeviceInfo const& device, AllLaunchers) {
  using Launch = EpilogueLauncher<Epilogue>;
  return {
      Launch{"tileconv::conv2d(args, epilogue, stream)",
             [](Conv2dArguments const& args, Epilogue const& epilogue, cudaStream_t stream) {
               return tileconv::conv2d(args, epilogue, stream);
             }},
      Launch{"Conv2d<LargeTilePolicy>::run(args, epilogue, device, stream)",
             [device](Conv2dArguments const& args, Epilogue const& epilogue, cudaStream_t stream) {
               return Conv2d<LargeTilePolicy>::run(args, epilogue, device, stream);
             }},
      Launch{"Conv2d<NarrowTilePolicy>::run(args, epilogue, device, stream)",
             [device](Conv2dArguments const& args, Epilogue const& epilogue, cudaStream_t stream) {
               return Conv2d<NarrowTilePolicy>::run(args, epilogue, device, stream);
             }},
      small_tile_launcher<Epilogue>(device),
  };
}

/// How an epilogue case treats the output before the launch.
enum class OutputStart {
  kPoisoned, ///< NaN everywhere: an element the kernel does not write is caught as non-finite
  kHoldsZ,   ///< z's values, for a residual that reads the output in place
};

/// Runs `epilogue` through the launchers `which` names on the harness's shape (output poisoned or holding z, guards
/// poisoned, launch on a non-blocking stream) and compares each result with `expected`.
template <class Epilogue, class Which>
void check_epilogue_case(EpilogueHarness& harness, std::string const& what, Epilogue const& epilogue,
                         ExpectedFn const& expected, double lipschitz, Which which,
                         OutputStart start = OutputStart::kPoisoned) {
  static_assert(is_epilogue_v<Epilogue> && std::is_trivially_copyable_v<Epilogue>, "an epilogue functor");
  Stream stream;
  DeviceInfo const device = current_device_info();
  for (EpilogueLauncher<Epilogue> const& launcher : epilogue_launchers<Epilogue>(device, which)) {
    INFO(launcher.name << " with " << what << " on " << describe(harness.shape()));
    harness.output().poison(stream.get());
    if (start == OutputStart::kHoldsZ) {
      harness.output_holds_z(stream.get());
    }
    TILECONV_REQUIRE_SUCCESS(launcher.launch(harness.arguments(), epilogue, stream.get()));
    TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
    TILECONV_REQUIRE_CUDA(cudaGetLastError());
    REQUIRE(harness.output().changed_guard_words() == 0);
    harness.compare(launcher.name + " with " + what, expected, lipschitz);
  }
}

/// A different random seed for every shape.
std::uint64_t seed_for(std::string const& name) { return 5000 + 16 * (std::hash<std::string>{}(name) % 1000); }

} // namespace

TEST_CASE("each epilogue functor alone matches its float64 formula after conv + bias", "[gpu][epilogue]") {
  ShapeCase const shape = require_shape("3x3 pad 1 with bias");
  EpilogueHarness h(shape, seed_for(shape.name));
  auto const unary = [](double (*f)(double)) { return [f](double v, int, std::int64_t) { return f(v); }; };

  check_epilogue_case(h, "IdentityEpilogue", IdentityEpilogue{}, unary([](double v) { return v; }), 1.0, OnePolicy{});
  check_epilogue_case(h, "Relu", Relu{}, unary(relu_ref), 1.0, OnePolicy{});
  check_epilogue_case(h, "Relu6", Relu6{}, unary(relu6_ref), 1.0, OnePolicy{});
  check_epilogue_case(
      h, "LeakyRelu{0.1}", LeakyRelu{0.1f}, [](double v, int, std::int64_t) { return leaky_relu_ref(v, double(0.1f)); },
      1.0, OnePolicy{});
  check_epilogue_case(
      h, "Clamp{-2, 3}", Clamp{-2.0f, 3.0f},
      [](double v, int, std::int64_t) { return std::min(std::max(v, -2.0), 3.0); }, 1.0, OnePolicy{});
  check_epilogue_case(
      h, "ScaleShift{0.5, -1}", ScaleShift{0.5f, -1.0f}, [](double v, int, std::int64_t) { return 0.5 * v - 1.0; }, 0.5,
      OnePolicy{});
  check_epilogue_case(h, "HardSigmoid", HardSigmoid{}, unary(hardsigmoid_ref), 1.0 / 6.0, OnePolicy{});
  check_epilogue_case(h, "HardSwish", HardSwish{}, unary(hardswish_ref), 1.5, OnePolicy{});
  check_epilogue_case(h, "Sigmoid", Sigmoid{}, unary(sigmoid_ref), 0.25, OnePolicy{});
  check_epilogue_case(h, "Tanh", Tanh{}, unary([](double v) { return std::tanh(v); }), 1.0, OnePolicy{});
  check_epilogue_case(h, "GeluErf", GeluErf{}, unary(gelu_erf_ref), kSmoothLipschitz, OnePolicy{});
  check_epilogue_case(h, "GeluTanh", GeluTanh{}, unary(gelu_tanh_ref), kSmoothLipschitz, OnePolicy{});
  check_epilogue_case(h, "Silu", Silu{}, unary(silu_ref), kSmoothLipschitz, OnePolicy{});
  check_epilogue_case(h, "Mish", Mish{}, unary(mish_ref), kSmoothLipschitz, OnePolicy{});
  check_epilogue_case(
      h, "Softplus{1, 20}", Softplus{}, [](double v, int, std::int64_t) { return softplus_ref(v, 1.0, 20.0); }, 1.0,
      OnePolicy{});
  check_epilogue_case(
      h, "Softplus{2, 3}", Softplus{2.0f, 3.0f}, [](double v, int, std::int64_t) { return softplus_ref(v, 2.0, 3.0); },
      1.0, OnePolicy{});
  check_epilogue_case(
      h, "ChannelBias", ChannelBias{h.shift()}, [&h](double v, int c, std::int64_t) { return v + h.shift_at(c); }, 1.0,
      OnePolicy{});
  check_epilogue_case(
      h, "ChannelScale", ChannelScale{h.scale()}, [&h](double v, int c, std::int64_t) { return v * h.scale_at(c); },
      1.0, OnePolicy{}); // |scale| < 1
  check_epilogue_case(
      h, "Residual{0.5, -2, z}", Residual{0.5f, -2.0f, h.z()},
      [&h](double v, int, std::int64_t offset) { return 0.5 * v - 2.0 * h.z_at(offset); }, 0.5, OnePolicy{});
}

TEST_CASE("epilogue chains match their float64 composition on several shapes", "[gpu][epilogue]") {
  // Shapes that reach different kernels and epilogue paths: both gathers, a channel count that leaves an edge tile,
  // stride 2 with odd sizes, groups, and depthwise (which the default launcher sends to its own kernel).
  std::string const name =
      GENERATE(as<std::string>{}, "3x3 pad 1 with bias", "K=72, not a multiple of BLOCK_OC", "stride 2, odd H/W, pad 1",
               "C*R*S=27, not a multiple of BLOCK_R", "groups 2 with bias", "depthwise 3x3 (groups = channels)");
  ShapeCase const shape = require_shape(name);
  EpilogueHarness h(shape, seed_for(shape.name));

  check_epilogue_case(
      h, "conv -> subtract 0.5 -> subtract 0.25 -> mish",
      make_epilogue_chain(ScaleShift{1.0f, -0.5f}, ScaleShift{1.0f, -0.25f}, Mish{}),
      [](double v, int, std::int64_t) { return mish_ref(v - 0.5 - 0.25); }, kSmoothLipschitz, AllLaunchers{});
  check_epilogue_case(
      h, "conv -> ChannelScale -> LeakyRelu{0.2} -> GeluErf",
      make_epilogue_chain(ChannelScale{h.scale()}, LeakyRelu{0.2f}, GeluErf{}),
      [&h](double v, int c, std::int64_t) { return gelu_erf_ref(leaky_relu_ref(v * h.scale_at(c), double(0.2f))); },
      kSmoothLipschitz, AllLaunchers{});
  check_epilogue_case(
      h, "conv -> ScaleShift{2, 0} -> LeakyRelu -> GeluTanh",
      make_epilogue_chain(ScaleShift{2.0f, 0.0f}, LeakyRelu{}, GeluTanh{}),
      [](double v, int, std::int64_t) { return gelu_tanh_ref(leaky_relu_ref(2.0 * v, double(0.01f))); },
      2.0 * kSmoothLipschitz, AllLaunchers{});
  check_epilogue_case(
      h, "folded batch norm: ChannelScale -> ChannelBias -> Relu",
      make_epilogue_chain(ChannelScale{h.scale()}, ChannelBias{h.shift()}, Relu{}),
      [&h](double v, int c, std::int64_t) { return relu_ref(v * h.scale_at(c) + h.shift_at(c)); }, 1.0, AllLaunchers{});
  check_epilogue_case(
      h, "nested: (ScaleShift{1, 0.5} -> Relu6) -> HardSwish",
      make_epilogue_chain(make_epilogue_chain(ScaleShift{1.0f, 0.5f}, Relu6{}), HardSwish{}),
      [](double v, int, std::int64_t) { return hardswish_ref(relu6_ref(v + 0.5)); }, 1.5, AllLaunchers{});
  check_epilogue_case(
      h, "conv -> Residual{1, 1, z} -> Relu", make_epilogue_chain(Residual{1.0f, 1.0f, h.z()}, Relu{}),
      [&h](double v, int, std::int64_t offset) { return relu_ref(v + h.z_at(offset)); }, 1.0, AllLaunchers{});
  // z is the output buffer itself, holding z's values before the call: output = silu(output + 0.5 (conv + bias))
  check_epilogue_case(
      h, "conv -> Residual{0.5, 1, z = output} -> Silu",
      make_epilogue_chain(Residual{0.5f, 1.0f, h.output().data()}, Silu{}),
      [&h](double v, int, std::int64_t offset) { return silu_ref(0.5 * v + h.z_at(offset)); }, 0.5 * kSmoothLipschitz,
      AllLaunchers{}, OutputStart::kHoldsZ);
}

TEST_CASE("epilogues stay finite where exp over- and underflows", "[gpu][epilogue]") {
  // conv values of about +-15 scaled by 1e3 and 1e30: exp(x) overflows and underflows for most elements, where the
  // textbook softplus / silu / mish / gelu would give inf or NaN (-inf * 0). The bound scales with the factor, so
  // these cases mostly check finiteness and the limits.
  ShapeCase const shape = require_shape("3x3 pad 1 with bias");
  EpilogueHarness h(shape, seed_for(shape.name) + 1);
  check_epilogue_case(
      h, "ScaleShift{1e3, 0} -> Softplus", make_epilogue_chain(ScaleShift{1e3f, 0.0f}, Softplus{}),
      [](double v, int, std::int64_t) { return softplus_ref(1e3 * v, 1.0, 20.0); }, 1e3, OnePolicy{});
  check_epilogue_case(
      h, "ScaleShift{1e3, 0} -> Softplus{1, 1e4} (threshold past exp's overflow)",
      make_epilogue_chain(ScaleShift{1e3f, 0.0f}, Softplus{1.0f, 1e4f}),
      [](double v, int, std::int64_t) { return softplus_ref(1e3 * v, 1.0, 1e4); }, 1e3, OnePolicy{});
  check_epilogue_case(
      h, "ScaleShift{1e30, 0} -> Silu", make_epilogue_chain(ScaleShift{1e30f, 0.0f}, Silu{}),
      [](double v, int, std::int64_t) { return silu_ref(1e30 * v); }, 1e30 * kSmoothLipschitz, OnePolicy{});
  check_epilogue_case(
      h, "ScaleShift{1e30, 0} -> Mish", make_epilogue_chain(ScaleShift{1e30f, 0.0f}, Mish{}),
      [](double v, int, std::int64_t) { return mish_ref(1e30 * v); }, 1e30 * kSmoothLipschitz, OnePolicy{});
  check_epilogue_case(
      h, "ScaleShift{1e30, 0} -> GeluErf", make_epilogue_chain(ScaleShift{1e30f, 0.0f}, GeluErf{}),
      [](double v, int, std::int64_t) { return gelu_erf_ref(1e30 * v); }, 1e30 * kSmoothLipschitz, OnePolicy{});
  check_epilogue_case(
      h, "ScaleShift{1e30, 0} -> GeluTanh", make_epilogue_chain(ScaleShift{1e30f, 0.0f}, GeluTanh{}),
      [](double v, int, std::int64_t) { return gelu_tanh_ref(1e30 * v); }, 1e30 * kSmoothLipschitz, OnePolicy{});
  check_epilogue_case(
      h, "ScaleShift{1e30, 0} -> Sigmoid", make_epilogue_chain(ScaleShift{1e30f, 0.0f}, Sigmoid{}),
      [](double v, int, std::int64_t) { return sigmoid_ref(1e30 * v); }, 0.25e30, OnePolicy{});
}

TEST_CASE("the epilogue runs once, after the split-K reduction", "[gpu][epilogue][split_k]") {
  // A deep reduction (C*R*S = 2304) split 4 ways: the partial sums go to the workspace and the reduction kernel adds
  // the bias and applies the epilogue. A nonlinear epilogue applied to each partial sum, or twice, fails the bound.
  ShapeCase const shape = require_shape("deep reduction, C*R*S=2304");
  EpilogueHarness h(shape, seed_for(shape.name));
  DeviceInfo const device = current_device_info();
  constexpr int kSplitK = 4;
  using Policy = NarrowTilePolicy;
  DeviceBuffer<unsigned char> workspace(
      static_cast<std::int64_t>(Conv2d<Policy>::workspace_size(h.problem(), kSplitK)));
  Conv2dArguments args = h.arguments();
  args.workspace = workspace.data();
  args.workspace_bytes = workspace.bytes();
  REQUIRE(Conv2d<Policy>::can_implement(args, device, kSplitK) == Status::kSuccess);

  auto const chain = make_epilogue_chain(ScaleShift{1.0f, -0.5f}, Mish{}, Residual{1.0f, 0.5f, h.z()});
  ExpectedFn const expected = [&h](double v, int, std::int64_t offset) {
    return mish_ref(v - 0.5) + 0.5 * h.z_at(offset);
  };
  Stream stream;
  for (int split_k : {1, kSplitK}) {
    INFO("Conv2d<NarrowTilePolicy>::run with split_k = " << split_k);
    h.output().poison(stream.get());
    TILECONV_REQUIRE_SUCCESS(Conv2d<Policy>::run(args, chain, device, stream.get(), nullptr, split_k));
    TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
    REQUIRE(h.output().changed_guard_words() == 0);
    h.compare("split_k = " + std::to_string(split_k) + ", subtract -> mish -> residual", expected, kSmoothLipschitz);
  }
  // the default launcher with the same workspace, whichever split it chooses
  h.output().poison(stream.get());
  TILECONV_REQUIRE_SUCCESS(tileconv::conv2d(args, chain, stream.get()));
  TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
  h.compare("tileconv::conv2d with a workspace, subtract -> mish -> residual", expected, kSmoothLipschitz);
}

TEST_CASE("an epilogue whose check fails launches nothing", "[gpu][epilogue][validation]") {
  // 16 channels a group: the default launcher sends it to the direct kernel, SmallTilePolicy to the implicit GEMM
  ShapeCase const shape = require_shape("groups 2 with bias");
  EpilogueHarness h(shape, seed_for(shape.name));
  Conv2dArguments const args = h.arguments();
  DeviceInfo const device = current_device_info();
  struct BadEpilogue {
    char const* what;
    std::function<Status()> launch;
    Status expected;
  };
  float* const output = h.output().data();
  BadEpilogue const cases[] = {
      {"ChannelScale{nullptr}", [&] { return tileconv::conv2d(args, ChannelScale{nullptr}, nullptr); },
       Status::kErrorNullPointer},
      {"Residual over the output shifted by one float",
       [&] {
         return tileconv::conv2d(args, make_epilogue_chain(Relu{}, Residual{1.0f, 1.0f, output + 1}), nullptr);
       },
       Status::kErrorOverlappingBuffers},
      {"ChannelBias over the input",
       [&] { return Conv2d<SmallTilePolicy>::run(args, ChannelBias{args.input}, device, nullptr); },
       Status::kErrorOverlappingBuffers},
  };
  for (BadEpilogue const& c : cases) {
    INFO(c.what);
    h.output().poison(nullptr);
    TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
    CHECK(c.launch() == c.expected);
    TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
    TILECONV_REQUIRE_CUDA(cudaGetLastError());
    CHECK(h.output().changed_words() == 0);
  }
}

} // namespace test
} // namespace tileconv
