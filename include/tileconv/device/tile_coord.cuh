#pragma once

/// \file tile_coord.cuh
/// Which output tile a block computes.

namespace tileconv {
namespace detail {

/// The output tile of one block: `BLOCK_OC` channels from `oc0` of group `group`, `BLOCK_OW` flattened pixels
/// from `pixel0` of image `image`, reduced over the k tiles [k_tile_begin, k_tile_end) of split `split`.
struct TileCoord {
  int image;
  int group;
  int oc0;
  int pixel0;
  int split;
  int k_tile_begin;
  int k_tile_end;
};

} // namespace detail
} // namespace tileconv
