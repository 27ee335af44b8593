// Conv2dProblem: output size by PyTorch's formula, the implicit-GEMM view, element counts and FLOPs. The expected
// values are worked out by hand (and agree with torch.nn.Conv2d), never recomputed with the library's formula.
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/shapes.hpp"

#include <tileconv/problem.cuh>

#include <cstdint>

namespace tileconv {
namespace test {
namespace {

// The output size is constexpr, so a constant problem can size arrays: this must compile.
constexpr Conv2dProblem kStem = [] {
  Conv2dProblem p;
  p.in_h = 224;
  p.in_w = 224;
  p.filter_h = 7;
  p.filter_w = 7;
  p.pad_h = 3;
  p.pad_w = 3;
  p.stride_h = 2;
  p.stride_w = 2;
  return p;
}();
static_assert(kStem.out_h() == 112 && kStem.out_w() == 112, "ResNet-50 stem: 224 -> 112");

struct ExtentCase {
  char const* what;
  int in;
  int filter;
  int pad;
  int stride;
  int dilation;
  int expected; // floor((in + 2 pad - dilation (filter - 1) - 1) / stride) + 1, by hand
};

} // namespace

TEST_CASE("output size follows PyTorch's formula", "[problem]") {
  ExtentCase const cases[] = {
      {"3x3 pad 1 keeps the size", 32, 3, 1, 1, 1, 32},
      {"3x3 no padding", 30, 3, 0, 1, 1, 28},
      {"3x3 stride 2 pad 1, odd 33", 33, 3, 1, 2, 1, 17},      // (33 + 2 - 2 - 1) / 2 + 1 = 16 + 1
      {"3x3 stride 2 pad 1, odd 31", 31, 3, 1, 2, 1, 16},      // 30 / 2 + 1
      {"3x3 stride 2 no padding, 32", 32, 3, 0, 2, 1, 15},     // 29 / 2 = 14 (floor) + 1
      {"3x3 stride 2 no padding, odd 31", 31, 3, 0, 2, 1, 15}, // 28 / 2 + 1
      {"3x3 dilation 2 pad 2 keeps the size", 29, 3, 2, 1, 2, 29},
      {"3x3 dilation 2 no padding", 29, 3, 0, 1, 2, 25},    // reach 5
      {"3x3 dilation 3 stride 2", 40, 3, 1, 2, 3, 18},      // (40 + 2 - 6 - 1) / 2 = 17, + 1
      {"7x7 stride 2 pad 3 on 224", 224, 7, 3, 2, 1, 112},  // 223 / 2 = 111 + 1
      {"7x7 stride 2 pad 3 on odd 45", 45, 7, 3, 2, 1, 23}, // 44 / 2 + 1
      {"1x1", 56, 1, 0, 1, 1, 56},
      {"1x1 stride 2 on 56", 56, 1, 0, 2, 1, 28},          // 55 / 2 = 27 + 1
      {"1x1 stride 2 on odd 15", 15, 1, 0, 2, 1, 8},       // 14 / 2 + 1
      {"4-tap stride 3", 10, 4, 0, 3, 1, 3},               // 6 / 3 + 1
      {"padding wider than the filter", 5, 3, 3, 1, 1, 9}, // 5 + 6 - 2
      {"seed: 1024 wide, 3x3 no padding", 1024, 3, 0, 1, 1, 1022},
      {"filter exactly covers the input", 3, 3, 0, 1, 1, 1},
      {"filter one wider than the input: empty", 2, 3, 0, 1, 1, 0},             // floor(-1 / 1) + 1
      {"stride 2, span -1: still empty, not 1", 2, 3, 0, 2, 1, 0},              // floor(-1 / 2) = -1, + 1
      {"dilated filter far wider than the input: negative", 1, 5, 0, 1, 2, -7}, // 1 - 8 - 1 = -8, + 1
      {"stride 3, span -4: floor, not truncation", 1, 5, 0, 3, 1, -1},          // floor(-4 / 3) = -2, + 1
  };
  for (ExtentCase const& c : cases) {
    INFO(c.what << ": in=" << c.in << " filter=" << c.filter << " pad=" << c.pad << " stride=" << c.stride
                << " dilation=" << c.dilation);
    Conv2dProblem vertical = conv(1, 1, c.in, 7, 1, c.filter, 1);
    vertical.pad_h = c.pad;
    vertical.stride_h = c.stride;
    vertical.dilation_h = c.dilation;
    CHECK(vertical.out_h() == c.expected);
    CHECK(vertical.out_w() == 7); // the other axis keeps its own parameters

    Conv2dProblem horizontal = conv(1, 1, 7, c.in, 1, 1, c.filter);
    horizontal.pad_w = c.pad;
    horizontal.stride_w = c.stride;
    horizontal.dilation_w = c.dilation;
    CHECK(horizontal.out_w() == c.expected);
    CHECK(horizontal.out_h() == 7);
  }
}

TEST_CASE("axes are independent: asymmetric filter, padding, stride and dilation", "[problem]") {
  Conv2dProblem const p = conv(1, 1, 22, 25, 1, 5, 3).pad(2, 0).stride(1, 3).dilation(2, 1);
  CHECK(p.out_h() == 18); // 22 + 4 - 8 - 1 = 17, / 1 + 1
  CHECK(p.out_w() == 8);  // 25 + 0 - 2 - 1 = 22, / 3 = 7, + 1
}

TEST_CASE("an output size of 0 or less is kErrorEmptyOutput", "[problem]") {
  Conv2dProblem zero = conv(1, 1, 2, 8, 1, 3, 3); // out_h 0
  REQUIRE(zero.out_h() == 0);
  CHECK(zero.validate() == Status::kErrorEmptyOutput);

  Conv2dProblem negative = conv(1, 1, 8, 1, 1, 1, 5).dilation(1, 2); // out_w -7
  REQUIRE(negative.out_w() == -7);
  CHECK(negative.validate() == Status::kErrorEmptyOutput);

  Conv2dProblem rescued = zero;
  rescued.pad_h = 1; // 2 + 2 - 2 - 1 = 1, + 1
  REQUIRE(rescued.out_h() == 2);
  CHECK(rescued.validate() == Status::kSuccess);
}

TEST_CASE("implicit-GEMM sizes, element counts and FLOPs", "[problem]") {
  SECTION("groups divide the GEMM's M and K but not N") {
    Conv2dProblem const p = conv(2, 16, 10, 12, 32, 3, 3).pad(1, 1).groups(4);
    CHECK(p.in_channels_per_group() == 4);
    CHECK(p.out_channels_per_group() == 8);
    CHECK(p.gemm_m() == 8);
    CHECK(p.gemm_n() == 120);           // 10 x 12 output pixels
    CHECK(p.gemm_k() == 36);            // 4 channels x 3 x 3
    CHECK(p.input_elements() == 3840);  // 2 x 16 x 10 x 12
    CHECK(p.filter_elements() == 1152); // 32 x 4 x 3 x 3
    CHECK(p.output_elements() == 7680); // 2 x 32 x 10 x 12
    CHECK(p.flops() == 552960.0);       // 2 x 7680 x 36
  }
  SECTION("ResNet-50 stem") {
    Conv2dProblem const p = conv(32, 3, 224, 224, 64, 7, 7).pad(3, 3).stride(2, 2);
    CHECK(p.gemm_m() == 64);
    CHECK(p.gemm_n() == 12544);
    CHECK(p.gemm_k() == 147);
    CHECK(p.output_elements() == 25690112);                   // 32 x 64 x 112 x 112
    CHECK(p.flops() == Catch::Approx(7.552e9).epsilon(1e-3)); // shared/bench/README.md: 7.6 GFLOP
  }
  SECTION("seed shape") {
    Conv2dProblem const p = conv(8, 64, 512, 1024, 128, 3, 3);
    CHECK(p.gemm_n() == 521220); // 510 x 1022
    CHECK(p.gemm_k() == 576);
    CHECK(p.input_elements() == 268435456);  // 2^28
    CHECK(p.output_elements() == 533729280); // 8 x 128 x 521220
    CHECK(p.flops() == 2.0 * 533729280.0 * 576.0);
    CHECK(p.flops() == Catch::Approx(614.9e9).epsilon(1e-3)); // shared/bench/README.md: 614.9 GFLOP
  }
  SECTION("totals above 2^31 are counted in 64 bits") {
    Conv2dProblem const p = conv(64, 64, 512, 1024, 128, 3, 3);
    CHECK(p.input_elements() == std::int64_t{64} * 64 * 512 * 1024); // 2^31 exactly
    CHECK(p.output_elements() == std::int64_t{64} * 128 * 510 * 1022);
    CHECK(p.output_elements() > (std::int64_t{1} << 31));
  }
  SECTION("depthwise") {
    Conv2dProblem const p = conv(1, 32, 8, 8, 32, 3, 3).groups(32);
    CHECK(p.gemm_m() == 1);
    CHECK(p.gemm_k() == 9);
    CHECK(p.filter_elements() == 288);
  }
}

TEST_CASE("every shared shape is a valid problem", "[problem]") {
  // A typo in the shared list would otherwise only show up as a GPU test that checks nothing.
  for (ShapeCase const& shape : shapes()) {
    INFO(describe(shape));
    CHECK(shape.problem.validate() == Status::kSuccess);
    CHECK(shape.problem.out_h() > 0);
    CHECK(shape.problem.out_w() > 0);
  }
}

} // namespace test
} // namespace tileconv
