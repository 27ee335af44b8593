// The direct path's test shapes (depthwise, and groups of few channels), shared by the GPU test and the host
// emulation of the direct kernel.
#pragma once

#include "shapes.hpp"

#include <vector>

namespace tileconv {
namespace test {

/// conv(n, c, h, w, c * multiplier, r, s) with groups = c.
inline ProblemBuilder depthwise(int batch, int channels, int in_h, int in_w, int multiplier, int filter_h,
                                int filter_w) {
  return conv(batch, channels, in_h, in_w, channels * multiplier, filter_h, filter_w).groups(channels);
}

inline Conv2dProblem with_end_padding(Conv2dProblem problem, int pad_h_end, int pad_w_end) {
  problem.pad_h_end = pad_h_end;
  problem.pad_w_end = pad_w_end;
  return problem;
}

/// The depthwise shapes: test_device_direct_conv.cu runs them on the GPU, test_host_direct_conv.cpp emulates the
/// kernel on them.
inline std::vector<ShapeCase> const& depthwise_shapes() {
  static std::vector<ShapeCase> const list = {
      {"m1 3x3 pad 1, bias", depthwise(2, 8, 20, 24, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"m2 3x3 pad 1", depthwise(2, 6, 17, 19, 2, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"m3 5x5 pad 2, bias", depthwise(1, 4, 15, 16, 3, 5, 5).pad(2, 2), true, ShapeKind::kEdge},
      {"1x1", depthwise(2, 8, 9, 12, 1, 1, 1), false, ShapeKind::kEdge},
      {"1x1 stride 2, m2, bias", depthwise(1, 4, 11, 13, 2, 1, 1).stride(2, 2), true, ShapeKind::kEdge},
      {"7x7 pad 3, bias", depthwise(2, 8, 28, 28, 1, 7, 7).pad(3, 3), true, ShapeKind::kEdge},
      {"3x5 pad (1, 2)", depthwise(2, 8, 13, 21, 1, 3, 5).pad(1, 2), false, ShapeKind::kEdge},
      {"5x3 no padding, bias", depthwise(1, 8, 12, 9, 1, 5, 3), true, ShapeKind::kEdge},
      {"stride 2 pad 1, even H/W, bias", depthwise(2, 8, 32, 32, 1, 3, 3).pad(1, 1).stride(2, 2), true,
       ShapeKind::kEdge},
      {"stride 2 pad 1, odd H/W", depthwise(2, 8, 33, 31, 1, 3, 3).pad(1, 1).stride(2, 2), false, ShapeKind::kEdge},
      {"stride (1, 2), bias", depthwise(2, 8, 19, 24, 1, 3, 3).pad(1, 1).stride(1, 2), true, ShapeKind::kEdge},
      {"stride (2, 1)", depthwise(1, 8, 19, 23, 1, 3, 3).pad(1, 1).stride(2, 1), false, ShapeKind::kEdge},
      {"dilation 2 pad 2, bias", depthwise(2, 8, 21, 20, 1, 3, 3).pad(2, 2).dilation(2, 2), true, ShapeKind::kEdge},
      {"5x5 dilation (2, 3) stride (1, 2) pad (4, 6)",
       depthwise(1, 4, 25, 30, 2, 5, 5).pad(4, 6).dilation(2, 3).stride(1, 2), false, ShapeKind::kEdge},
      {"7x7 dilation 2 stride 2 pad 6", depthwise(1, 4, 40, 36, 1, 7, 7).pad(6, 6).dilation(2, 2).stride(2, 2), true,
       ShapeKind::kEdge},
      {"3x3 dilation (3, 1), stride (1, 1)", depthwise(1, 4, 22, 18, 1, 3, 3).pad(3, 1).dilation(3, 1), false,
       ShapeKind::kEdge},
      {"3x3 dilation (1, 2): row window with dilated columns",
       depthwise(2, 4, 17, 23, 1, 3, 3).pad(1, 2).dilation(1, 2), true, ShapeKind::kEdge},
      {"padding 4 > reach 2, bias", depthwise(2, 4, 5, 6, 1, 3, 3).pad(4, 4), true, ShapeKind::kEdge},
      {"no padding", depthwise(2, 8, 10, 12, 1, 3, 3), false, ShapeKind::kEdge},
      {"asymmetric 'same' padding, 4x4", with_end_padding(depthwise(2, 8, 16, 17, 1, 4, 4).pad(1, 1), 2, 2), true,
       ShapeKind::kEdge},
      {"asymmetric padding 3x3 (0, 1) / (2, 0)", with_end_padding(depthwise(2, 8, 15, 14, 1, 3, 3).pad(0, 1), 2, 0),
       false, ShapeKind::kEdge},
      {"asymmetric padding (0, 0) / (1, 1), stride 2",
       with_end_padding(depthwise(1, 8, 16, 16, 1, 3, 3).stride(2, 2), 1, 1), true, ShapeKind::kEdge},
      {"1x1 image, 3x3 pad 1", depthwise(3, 8, 1, 1, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"7x9 image, m2", depthwise(2, 8, 7, 9, 2, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"13x1 image, 3x3 pad 1", depthwise(2, 8, 13, 1, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"13x1 image, 3x1 filter", depthwise(2, 4, 13, 1, 1, 3, 1).pad(1, 0), false, ShapeKind::kEdge},
      {"batch 5, 14x14: several planes a block", depthwise(5, 8, 14, 14, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"batch 1, 7x7 x 96: partial last plane tile", depthwise(1, 96, 7, 7, 1, 3, 3).pad(1, 1), false,
       ShapeKind::kEdge},
      {"W = 30, not a multiple of 4", depthwise(2, 8, 18, 30, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"MobileNet scaled down: 2 x 32 x 56 x 56, bias", depthwise(2, 32, 56, 56, 1, 3, 3).pad(1, 1), true,
       ShapeKind::kEdge},
      {"MobileNet stride 2: 112 -> 56", depthwise(1, 16, 112, 112, 1, 3, 3).pad(1, 1).stride(2, 2), false,
       ShapeKind::kEdge},
      {"300 columns: column tiles", depthwise(1, 4, 9, 300, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"517 columns, 5x5 stride 2: column tiles", depthwise(1, 4, 9, 517, 1, 5, 5).pad(2, 2).stride(2, 2), false,
       ShapeKind::kEdge},
      {"200 rows: row tiles", depthwise(1, 4, 200, 40, 1, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"C = 1, groups 1, K = 3: multiplier 3", depthwise(2, 1, 12, 12, 3, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"11x11 pad 5, bias", depthwise(1, 4, 30, 30, 1, 11, 11).pad(5, 5), true, ShapeKind::kEdge},
      {"5x5 pad 2, W = 32, bias: the fixed 5x5 kernel", depthwise(2, 8, 21, 32, 1, 5, 5).pad(2, 2), true,
       ShapeKind::kEdge},
      {"7x7 pad 3, W = 28: the fixed 7x7 kernel", depthwise(2, 8, 30, 28, 1, 7, 7).pad(3, 3), false, ShapeKind::kEdge},
      {"3x3 dilation 80 pad 80: shared memory past 48 KiB",
       depthwise(1, 2, 40, 40, 1, 3, 3).dilation(80, 80).pad(80, 80), true, ShapeKind::kEdge},
  };
  return list;
}

/// The grouped shapes of the direct path (2 to 16 input channels a group, 1 to 16 output channels): channel chunks of
/// 4 and 8 with and without padding, several slices a block, row and column tiles, strides, dilations, padding, and
/// the 3x3 groups of 8 -> 8 the tensor-core kernel computes (`DirectConv2d::uses_tensor_cores`) at the same edges.
inline std::vector<ShapeCase> const& grouped_direct_shapes() {
  static std::vector<ShapeCase> const list = {
      {"groups 2, 2 -> 2 a group, bias", conv(2, 4, 13, 17, 4, 3, 3).pad(1, 1).groups(2), true, ShapeKind::kEdge},
      {"groups 4, 8 -> 8 a group (ResNeXt's), bias", conv(2, 32, 14, 14, 32, 3, 3).pad(1, 1).groups(4), true,
       ShapeKind::kEdge},
      {"groups 3, 3 -> 5 a group: a chunk of 8 with 3 padded", conv(2, 9, 11, 12, 15, 3, 3).pad(1, 1).groups(3), false,
       ShapeKind::kEdge},
      {"groups 2, 4 -> 12 a group: two chunks of 8, the second half padding, bias",
       conv(1, 8, 10, 9, 24, 3, 3).pad(1, 1).groups(2), true, ShapeKind::kEdge},
      {"groups 2, 16 -> 16 a group, 5x5 pad 2", conv(1, 32, 12, 16, 32, 5, 5).pad(2, 2).groups(2), false,
       ShapeKind::kEdge},
      {"groups 4, 4 -> 1 a group: chunks of 4, 3 padded", conv(2, 16, 9, 10, 4, 3, 3).pad(1, 1).groups(4), true,
       ShapeKind::kEdge},
      {"groups 2, 16 -> 2 a group, stride 2, odd sizes", conv(2, 32, 17, 15, 4, 3, 3).pad(1, 1).stride(2, 2).groups(2),
       false, ShapeKind::kEdge},
      {"groups 4, dilation 2 pad 2, bias", conv(1, 16, 20, 21, 16, 3, 3).pad(2, 2).dilation(2, 2).groups(4), true,
       ShapeKind::kEdge},
      {"groups 4, 3x3 dilation (1, 2): the unrolled kernel with dilated columns",
       conv(1, 16, 15, 18, 16, 3, 3).pad(1, 2).dilation(1, 2).groups(4), true, ShapeKind::kEdge},
      {"groups 8, 1x1", conv(2, 64, 9, 12, 64, 1, 1).groups(8), false, ShapeKind::kEdge},
      {"groups 4, 7x7 image: several slices a block, bias", conv(3, 32, 7, 7, 32, 3, 3).pad(1, 1).groups(4), true,
       ShapeKind::kEdge},
      {"groups 3, asymmetric padding, stride (1, 2)",
       with_end_padding(conv(2, 6, 15, 16, 9, 3, 3).pad(0, 1).stride(1, 2).groups(3), 2, 0), false, ShapeKind::kEdge},
      {"groups 2, 3x5, W = 30, not a multiple of 4", conv(1, 8, 12, 30, 8, 3, 5).pad(1, 2).groups(2), true,
       ShapeKind::kEdge},
      {"groups 2, 300 columns: column tiles", conv(1, 4, 6, 300, 4, 3, 3).pad(1, 1).groups(2), false, ShapeKind::kEdge},
      {"groups 2, 200 rows: row tiles, stride (2, 1)", conv(1, 4, 200, 24, 6, 3, 3).pad(1, 1).stride(2, 1).groups(2),
       true, ShapeKind::kEdge},
      {"groups 2, 11x11 pad 5", conv(1, 4, 20, 20, 4, 11, 11).pad(5, 5).groups(2), false, ShapeKind::kEdge},
      {"groups 32, 8 -> 8: ResNeXt at batch 2, 28x28, bias", conv(2, 256, 28, 28, 256, 3, 3).pad(1, 1).groups(32), true,
       ShapeKind::kEdge},
      {"groups 2, 8 -> 8 on tensor cores, odd sizes, bias", conv(2, 16, 13, 17, 16, 3, 3).pad(1, 1).groups(2), true,
       ShapeKind::kEdge},
      {"groups 2, 8 -> 8 on tensor cores, no padding", conv(2, 16, 10, 12, 16, 3, 3).groups(2), false,
       ShapeKind::kEdge},
      {"groups 2, 8 -> 8 on tensor cores, asymmetric padding",
       with_end_padding(conv(1, 16, 15, 22, 16, 3, 3).pad(0, 2).groups(2), 2, 1), true, ShapeKind::kEdge},
      {"groups 2, 8 -> 8, stride (1, 2), dilation (1, 2): FP32",
       conv(1, 16, 15, 22, 16, 3, 3).pad(1, 2).stride(1, 2).dilation(1, 2).groups(2), false, ShapeKind::kEdge},
      {"groups 2, 8 -> 8 on tensor cores, 300 columns: column tiles", conv(1, 16, 6, 300, 16, 3, 3).pad(1, 1).groups(2),
       false, ShapeKind::kEdge},
      {"groups 2, 8 -> 8 on tensor cores, 200 rows: row tiles", conv(1, 16, 200, 24, 16, 3, 3).pad(1, 1).groups(2),
       true, ShapeKind::kEdge},
      {"groups 2, 8 -> 8 on tensor cores, 1x3 image", conv(3, 16, 1, 3, 16, 3, 3).pad(1, 1).groups(2), false,
       ShapeKind::kEdge},
      {"groups 2, 3x3 dilation 30 pad 30: shared memory past 48 KiB",
       conv(1, 8, 30, 30, 8, 3, 3).dilation(30, 30).pad(30, 30).groups(2), true, ShapeKind::kEdge},
  };
  return list;
}

/// Every shape of the direct path: the depthwise ones, then the grouped ones.
inline std::vector<ShapeCase> const& direct_shapes() {
  static std::vector<ShapeCase> const list = [] {
    std::vector<ShapeCase> all = depthwise_shapes();
    all.insert(all.end(), grouped_direct_shapes().begin(), grouped_direct_shapes().end());
    return all;
  }();
  return list;
}

} // namespace test
} // namespace tileconv
