#pragma once

/// \file tile_coord.cuh
/// Which output tile a block computes.

#include <tileconv/device/conv2d_params.cuh>

namespace tileconv {
namespace detail {

/// The output tile of one block: `BLOCK_OC` channels from `oc0` of group `group`, `BLOCK_OW` flattened pixels
/// from `pixel0` of image `image`, reduced over the k tiles [k_tile_begin, k_tile_end) of split `split`. With the
/// gathers of plane boxes, whose tiles may span images, image is 0 and pixel0 counts the 32-pixel boxes of the whole
/// batch's planes (`plane_box`, device/plane_box_gather.cuh): the tile is boxes pixel0 / 32...
struct TileCoord {
  int image;
  int group;
  int oc0;
  int pixel0;
  int split;
  int k_tile_begin;
  int k_tile_end;
};

/// Where k tile t of the channel-tiled reduction order (see `GatherKind::kChannelTiled`) lies: BLOCK_R channels from
/// channel_tile * BLOCK_R, at filter tap (r, s).
struct ChannelTiledStep {
  int channel_tile;
  int r;
  int s;
};

/// The channel tile and tap of k tile `k_tile` in the channel-tiled order: k_tile = channel_tile * taps + r * S + s.
__device__ inline ChannelTiledStep channel_tiled_step(Conv2dParams const& params, int k_tile) {
  ChannelTiledStep step{};
  int tap = 0;
  params.filter_taps.divmod(k_tile, step.channel_tile, tap);
  params.filter_w.divmod(tap, step.r, step.s);
  return step;
}

/// The output tile and reduction range of block `block` in the grid laid out by the host plan (`Conv2dParams`).
template <class Policy> __device__ TileCoord tile_of(Conv2dParams const& params, dim3 block) {
  TileCoord tile;
  int image_group = 0;
  params.split_k.divmod(static_cast<int>(block.z), image_group, tile.split);
  params.groups.divmod(image_group, tile.image, tile.group);
  tile.oc0 = static_cast<int>(block.y) * Policy::BLOCK_OC;
  tile.pixel0 = static_cast<int>(block.x) * Policy::BLOCK_OW;
  tile.k_tile_begin = tile.split * params.k_tiles_per_split;
  tile.k_tile_end = min(tile.k_tile_begin + params.k_tiles_per_split, params.k_tiles);
  return tile;
}

/// The output tile and reduction range of tile number `tile` of the host plan's grid, numbered x fastest
/// (`Conv2dParams::tiles_x`): for kernels whose blocks walk several tiles.
template <class Policy> __device__ TileCoord tile_of(Conv2dParams const& params, int tile) {
  int x = 0;
  int y = 0;
  int z = 0;
  params.tiles_x.divmod(tile, tile, x);
  params.tiles_y.divmod(tile, z, y);
  return tile_of<Policy>(params, dim3(static_cast<unsigned>(x), static_cast<unsigned>(y), static_cast<unsigned>(z)));
}

} // namespace detail
} // namespace tileconv
