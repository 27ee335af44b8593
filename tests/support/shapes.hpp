// The one list of conv2d problem shapes that every correctness test uses: rigorous edge cases, ResNet-50 layers and
// the benchmark's rows at a small batch, and the seed's problem. Host tests read it too (plan coverage), so it makes no
// CUDA call.
#pragma once

#include <tileconv/problem.cuh>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace tileconv {
namespace test {

/// Builds a `Conv2dProblem` one readable step at a time: conv(n, c, h, w, k, r, s).pad(1, 1).stride(2, 2).
class ProblemBuilder {
public:
  ProblemBuilder(int batch, int in_channels, int in_h, int in_w, int out_channels, int filter_h, int filter_w) {
    problem_.batch = batch;
    problem_.in_channels = in_channels;
    problem_.in_h = in_h;
    problem_.in_w = in_w;
    problem_.out_channels = out_channels;
    problem_.filter_h = filter_h;
    problem_.filter_w = filter_w;
  }

  ProblemBuilder pad(int h, int w) const {
    ProblemBuilder next = *this;
    next.problem_.pad_h = h;
    next.problem_.pad_w = w;
    return next;
  }
  ProblemBuilder stride(int h, int w) const {
    ProblemBuilder next = *this;
    next.problem_.stride_h = h;
    next.problem_.stride_w = w;
    return next;
  }
  ProblemBuilder dilation(int h, int w) const {
    ProblemBuilder next = *this;
    next.problem_.dilation_h = h;
    next.problem_.dilation_w = w;
    return next;
  }
  ProblemBuilder groups(int g) const {
    ProblemBuilder next = *this;
    next.problem_.groups = g;
    return next;
  }

  operator Conv2dProblem() const { return problem_; }
  Conv2dProblem problem() const { return problem_; }

private:
  Conv2dProblem problem_;
};

/// conv(batch, in_channels, in_h, in_w, out_channels, filter_h, filter_w): stride 1, no padding, no dilation.
inline ProblemBuilder conv(int batch, int in_channels, int in_h, int in_w, int out_channels, int filter_h,
                           int filter_w) {
  return ProblemBuilder(batch, in_channels, in_h, in_w, out_channels, filter_h, filter_w);
}

/// Where a shape comes from. The seed's problem is kept apart: 7.5 GB of device memory, so it has its own test case
/// that can be left out with ~[seed].
enum class ShapeKind { kEdge, kNetworkLayer, kSeed };

/// One entry of the shared list.
struct ShapeCase {
  char const* name;
  Conv2dProblem problem;
  bool bias;
  ShapeKind kind;
};

/// The shared list. Edge shapes are small enough for the host reference; network layers (ResNet-50 at batch 2, the
/// benchmark's rows at a small batch) and the seed shape use the device reference. Most edge shapes have in_channels /
/// groups a multiple of 16, so that the default launcher takes the channel-tiled gather on them; the others (C = 3, 4,
/// 5, 6, 8 per group) take the analytic one.
inline std::vector<ShapeCase> const& shapes() {
  static std::vector<ShapeCase> const list = {
      // --- defaults and padding
      {"3x3 pad 1 with bias", conv(2, 16, 32, 32, 32, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"3x3 no padding", conv(2, 16, 30, 30, 64, 3, 3), false, ShapeKind::kEdge},
      {"3x3 pad 3: output border sees only padding", conv(2, 16, 5, 6, 8, 3, 3).pad(3, 3), false, ShapeKind::kEdge},
      // --- stride and dilation
      {"stride 2, odd H/W, pad 1", conv(2, 16, 33, 31, 48, 3, 3).pad(1, 1).stride(2, 2), true, ShapeKind::kEdge},
      {"stride 2, even H/W, no padding", conv(2, 8, 32, 32, 32, 3, 3).stride(2, 2), false, ShapeKind::kEdge},
      {"dilation 2, pad 2", conv(1, 16, 29, 35, 40, 3, 3).pad(2, 2).dilation(2, 2), false, ShapeKind::kEdge},
      {"dilation 2, pad 2, 32-column output", conv(2, 16, 12, 32, 16, 3, 3).pad(2, 2).dilation(2, 2), false,
       ShapeKind::kEdge},
      {"dilation 2, no padding", conv(2, 4, 20, 24, 16, 3, 3).dilation(2, 2), true, ShapeKind::kEdge},
      {"stride (2, 1)", conv(2, 16, 19, 23, 32, 3, 3).pad(1, 1).stride(2, 1), false, ShapeKind::kEdge},
      {"dilation (1, 3), pad (1, 3)", conv(2, 32, 18, 32, 24, 3, 3).pad(1, 3).dilation(1, 3), true, ShapeKind::kEdge},
      {"stride (1, 3), dilation (2, 1), pad (0, 2)",
       conv(2, 16, 22, 25, 16, 3, 3).pad(0, 2).stride(1, 3).dilation(2, 1), false, ShapeKind::kEdge},
      // --- filter shapes
      {"1x1", conv(2, 64, 28, 28, 96, 1, 1), true, ShapeKind::kEdge},
      {"1x1 stride 2", conv(2, 32, 15, 15, 64, 1, 1).stride(2, 2), false, ShapeKind::kEdge},
      {"1x1 groups 2, 36-pixel planes, 20 output channels per group", conv(3, 64, 6, 6, 40, 1, 1).groups(2), true,
       ShapeKind::kEdge},
      {"1x1, 12-pixel planes, 5 images", conv(5, 32, 3, 4, 24, 1, 1), true, ShapeKind::kEdge},
      {"3x3 pad (0, 1): output rows fewer than the input's", conv(2, 32, 10, 8, 24, 3, 3).pad(0, 1), false,
       ShapeKind::kEdge},
      {"3x3 pad (3, 1): border rows see only padding", conv(2, 32, 6, 12, 16, 3, 3).pad(3, 1), true, ShapeKind::kEdge},
      {"5x5 pad 2, 108-pixel planes, 3 images, K=33", conv(3, 32, 9, 12, 33, 5, 5).pad(2, 2), true, ShapeKind::kEdge},
      {"7x7 stride 2 pad 3, C=3", conv(2, 3, 45, 37, 64, 7, 7).pad(3, 3).stride(2, 2), true, ShapeKind::kEdge},
      {"5x5 pad 2, C=16", conv(2, 16, 23, 29, 32, 5, 5).pad(2, 2), true, ShapeKind::kEdge},
      {"1x3, pad (0, 1)", conv(2, 16, 12, 20, 24, 1, 3).pad(0, 1), false, ShapeKind::kEdge},
      {"5x3, pad (2, 1)", conv(2, 6, 21, 17, 20, 5, 3).pad(2, 1), true, ShapeKind::kEdge},
      {"1-row input, 1x3", conv(2, 16, 1, 50, 16, 1, 3).pad(0, 1), false, ShapeKind::kEdge},
      // --- tile edges: pixels, channels, reduction
      {"W_out*H_out=35 < BLOCK_OW", conv(3, 16, 7, 5, 16, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"1x1 output", conv(2, 5, 3, 3, 7, 3, 3), false, ShapeKind::kEdge},
      {"C*R*S=27, not a multiple of BLOCK_R", conv(2, 3, 20, 20, 32, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"C*R*S=5, less than one mma k", conv(2, 5, 13, 11, 8, 1, 1), false, ShapeKind::kEdge},
      {"K=72, not a multiple of BLOCK_OC", conv(2, 16, 17, 19, 72, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"K=130, just past two 64-channel tiles", conv(2, 8, 16, 16, 130, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"K=1", conv(2, 8, 16, 16, 1, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      {"C=48: three 16-channel tiles, stride 2", conv(2, 48, 19, 17, 40, 3, 3).pad(1, 1).stride(2, 2), true,
       ShapeKind::kEdge},
      {"deep reduction, C*R*S=2304", conv(1, 256, 8, 8, 64, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"130-column output, 16 channels", conv(1, 16, 37, 130, 24, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"many pixel tiles, few channels", conv(1, 4, 100, 130, 8, 3, 3).pad(1, 1), false, ShapeKind::kEdge},
      {"batch 1, 3x3 pad 1", conv(1, 32, 24, 24, 64, 3, 3).pad(1, 1), true, ShapeKind::kEdge},
      // --- groups
      {"groups 2 with bias", conv(2, 32, 14, 14, 32, 3, 3).pad(1, 1).groups(2), true, ShapeKind::kEdge},
      {"groups 4", conv(2, 32, 15, 13, 64, 3, 3).pad(1, 1).groups(4), false, ShapeKind::kEdge},
      {"groups 2, 32 channels and 20 output channels per group", conv(2, 64, 15, 17, 40, 3, 3).pad(1, 1).groups(2),
       true, ShapeKind::kEdge},
      {"groups 2, 128 output channels per group", conv(2, 64, 12, 12, 256, 3, 3).pad(1, 1).groups(2), true,
       ShapeKind::kEdge},
      {"groups 4, K/groups=18 (edge channel tile in every group)", conv(2, 8, 11, 9, 72, 3, 3).pad(1, 1).groups(4),
       true, ShapeKind::kEdge},
      {"depthwise 3x3 (groups = channels)", conv(2, 32, 20, 20, 32, 3, 3).pad(1, 1).groups(32), true, ShapeKind::kEdge},
      {"ResNeXt-style groups 32, 8 channels per group", conv(1, 256, 14, 14, 256, 3, 3).pad(1, 1).groups(32), false,
       ShapeKind::kEdge},
      // --- ResNet-50 layers at batch 2
      {"ResNet-50 conv1 7x7/2", conv(2, 3, 224, 224, 64, 7, 7).pad(3, 3).stride(2, 2), false, ShapeKind::kNetworkLayer},
      {"ResNet-50 layer1 3x3", conv(2, 64, 56, 56, 64, 3, 3).pad(1, 1), false, ShapeKind::kNetworkLayer},
      {"ResNet-50 layer1 1x1 expand", conv(2, 64, 56, 56, 256, 1, 1), true, ShapeKind::kNetworkLayer},
      {"ResNet-50 layer2 downsample 1x1/2", conv(2, 256, 56, 56, 512, 1, 1).stride(2, 2), false,
       ShapeKind::kNetworkLayer},
      {"ResNet-50 layer2 3x3/2", conv(2, 128, 56, 56, 128, 3, 3).pad(1, 1).stride(2, 2), false,
       ShapeKind::kNetworkLayer},
      {"ResNet-50 layer3 3x3", conv(2, 256, 14, 14, 256, 3, 3).pad(1, 1), true, ShapeKind::kNetworkLayer},
      {"ResNet-50 layer4 3x3", conv(2, 512, 7, 7, 512, 3, 3).pad(1, 1), false, ShapeKind::kNetworkLayer},
      {"ResNet-50 layer4 1x1 expand", conv(2, 512, 7, 7, 2048, 1, 1), false, ShapeKind::kNetworkLayer},
      // --- other rows of shared/bench/shapes.csv at a small batch
      {"benchmark dil2_c64_128 at batch 1", conv(1, 64, 128, 128, 64, 3, 3).pad(2, 2).dilation(2, 2), false,
       ShapeKind::kNetworkLayer},
      {"benchmark unet_c32_512 at batch 1", conv(1, 32, 512, 512, 32, 3, 3).pad(1, 1), true, ShapeKind::kNetworkLayer},
      {"benchmark resnext_g32_c256_28 at batch 2", conv(2, 256, 28, 28, 256, 3, 3).pad(1, 1).groups(32), false,
       ShapeKind::kNetworkLayer},
      {"benchmark mobilenet_dw_c144_56 at batch 2", conv(2, 144, 56, 56, 144, 3, 3).pad(1, 1).groups(144), true,
       ShapeKind::kNetworkLayer},
      {"benchmark stride2_c128_56 at batch 2", conv(2, 128, 56, 56, 128, 3, 3).pad(1, 1).stride(2, 2), false,
       ShapeKind::kNetworkLayer},
      // --- the seed's problem (shared/bench/shapes.csv, first row): 534M outputs, 4.3 GB of float64 reference
      {"seed: batch 8, 64->128, 512x1024, 3x3", conv(8, 64, 512, 1024, 128, 3, 3), false, ShapeKind::kSeed},
  };
  return list;
}

/// The entries of one kind, as indices into shapes().
inline std::vector<std::size_t> shape_indices(ShapeKind kind) {
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < shapes().size(); ++i) {
    if (shapes()[i].kind == kind) {
      indices.push_back(i);
    }
  }
  return indices;
}

/// Every entry except the seed's problem.
inline std::vector<std::size_t> quick_shape_indices() {
  std::vector<std::size_t> indices = shape_indices(ShapeKind::kEdge);
  std::vector<std::size_t> const layers = shape_indices(ShapeKind::kNetworkLayer);
  indices.insert(indices.end(), layers.begin(), layers.end());
  return indices;
}

/// The entry called `name`; a test that names a missing shape must fail, so this returns nullptr rather than a
/// default.
inline ShapeCase const* find_shape(std::string const& name) {
  for (ShapeCase const& shape : shapes()) {
    if (name == shape.name) {
      return &shape;
    }
  }
  return nullptr;
}

/// One line for failure messages: "N=2 C=16 32x32 -> K=32 3x3 pad=(1,1) stride=(1,1) dilation=(1,1) groups=1 ->
/// 32x32".
inline std::string describe(Conv2dProblem const& p) {
  std::ostringstream text;
  text << "N=" << p.batch << " C=" << p.in_channels << " " << p.in_h << "x" << p.in_w << " -> K=" << p.out_channels
       << " " << p.filter_h << "x" << p.filter_w << " pad=(" << p.pad_h << "," << p.pad_w << ") stride=(" << p.stride_h
       << "," << p.stride_w << ") dilation=(" << p.dilation_h << "," << p.dilation_w << ") groups=" << p.groups
       << " -> out " << p.out_h() << "x" << p.out_w();
  return text.str();
}

inline std::string describe(ShapeCase const& shape) {
  return std::string(shape.name) + " [" + describe(shape.problem) + (shape.bias ? ", bias" : ", no bias") + "]";
}

} // namespace test
} // namespace tileconv
