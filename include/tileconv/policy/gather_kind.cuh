#pragma once

/// \file gather_kind.cuh
/// How the kernel walks the reduction C / groups * R * S, which decides how cheaply it gathers activations.

namespace tileconv {

/// The order of the reduction and the activation gather that goes with it. All give the same result up to float
/// summation order; the channel-tiled one is the fast path, the analytic one the reference path.
enum class GatherKind {
  /// Channel-tiled where in_channels / groups is a multiple of BLOCK_R, analytic elsewhere.
  kAuto,
  /// Reduction in the filter's own (c, r, s) order; every activation element's (c, r, s) is recomputed from its
  /// reduction index. Works for every problem; a tile may mix channels and taps, so nothing is wasted when
  /// C / groups is small (an RGB input layer).
  kAnalytic,
  /// Reduction as (channel tile, r, s, channel): each BLOCK_R tile is BLOCK_R channels of one filter tap, so a
  /// thread checks the padding once per tile and steps between rows by a constant. Needs in_channels / groups to
  /// be a multiple of BLOCK_R.
  kChannelTiled,
  /// The channel-tiled reduction, read from a channels-last (NHWC) copy of the input that the launcher makes in the
  /// workspace, rounded to TF32: each pixel's BLOCK_R channels of a tap are one contiguous 128-byte row, and a k tile
  /// is one TMA copy in im2col mode (host/im2col_tensor_map.cuh, which also says which convs its map can describe).
  /// Warp-specialized policies only, and only with the workspace for the copy (`Conv2d::workspace_size`). Never part of
  /// kAuto: the default launcher's cost model takes it where the copy pass costs less than it saves
  /// (`KernelChoice::gather`, docs/launcher.md).
  kChannelsLast,
  /// 1 x 1 filters at stride 1 without padding (host/plane_box_tensor_map.cuh, `pointwise_applies`): the channel-tiled
  /// reduction, whose k tile is then 32 input channels at the tile's consecutive pixels, runs of the NCHW input as it
  /// is. One producer thread copies them, and the filter's tiles, in place by TMA in tiled mode; a second producer warp
  /// rounds each filter stage to TF32, and the consumers load the A operand from those pixel-major stages into
  /// registers. Warp-specialized
  /// policies whose consumer warpgroups own multiples of 128 pixels only, 16-byte aligned input, filter and output, no
  /// split-K; no workspace.
  /// Never part of kAuto: the default launcher's cost model takes it where it is the fastest candidate.
  kPointwise,
  /// Stride-1 convs whose output rows are as wide as the input's, on rows of a multiple of 4 pixels
  /// (host/plane_box_tensor_map.cuh, `tap_shifted_applies`): the pointwise gather's boxes of consecutive output
  /// pixels, each k tile 32 channels of the NCHW input in place at the boxes shifted by the tap's offset in the plane,
  /// (r dilation_h - pad_h) in_w + s dilation_w - pad_w. The copy engine reads boxes only from 16-byte aligned starts,
  /// so the copies shift by a multiple of 4 pixels and the consumers read each pixel's value up to 3 pixels further
  /// on, in the next box's copy or in a 4-pixel halo past the tile (device/plane_box_gather.cuh); they zero the pixels
  /// whose shifted column leaves the row, and the copy engine fills the rows above and below the plane with zeros. The
  /// filter comes from the launcher's tile image in the workspace, like the channels-last gather's, but no copy of the
  /// input is made. Warp-specialized policies whose consumer warpgroups own multiples of 128 pixels only, 16-byte
  /// aligned input, output and workspace, no split-K. Slower than the channels-last gather where the input's copy fits
  /// (docs/perf-notes.md, v29); never part of kAuto: the default launcher's cost model takes it where it is the fastest
  /// candidate, with a workspace too small for that copy.
  kTapShifted,
};

/// A short name of a gather kind, for plans and logs.
constexpr char const* to_string(GatherKind kind) {
  switch (kind) {
  case GatherKind::kAuto:
    return "auto";
  case GatherKind::kAnalytic:
    return "analytic";
  case GatherKind::kChannelTiled:
    return "channel-tiled";
  case GatherKind::kChannelsLast:
    return "channels-last";
  case GatherKind::kPointwise:
    return "pointwise";
  case GatherKind::kTapShifted:
    return "tap-shifted";
  }
  return "unknown";
}

namespace detail {

/// Whether `gather` copies boxes of consecutive pixels of the NCHW input in place (kPointwise, kTapShifted,
/// device/plane_box_gather.cuh), which the consumers load into registers.
constexpr bool copies_plane_boxes(GatherKind gather) {
  return gather == GatherKind::kPointwise || gather == GatherKind::kTapShifted;
}

/// Whether `gather` is one of the gathers by TMA copies (kChannelsLast and those of `copies_plane_boxes`): the
/// warp-specialized policies' alone, each a row of its own in the launcher's policy table; kAuto's row covers the
/// others.
constexpr bool copies_by_tma(GatherKind gather) {
  return gather == GatherKind::kChannelsLast || copies_plane_boxes(gather);
}

/// The unit of copy and of tiling of the gathers of `copies_plane_boxes`: a box of 32 consecutive pixels of a channel,
/// 128 bytes, the 128-byte swizzle's row (device/plane_box_gather.cuh, host/plane_box_tensor_map.cuh).
constexpr int kPlaneBoxPixels = 32;

} // namespace detail
} // namespace tileconv
