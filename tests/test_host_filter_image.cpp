// The warp-specialized policy's filter tile image (device/filter_reorder.cuh, FilterTileImage), on the CPU: every
// filter value lands once, where the kernel's bulk copy of its (group, channel tile, k tile) stage expects it.
#include "support/catch.hpp"

#include <tileconv/device/filter_reorder.cuh>

#include <cstdint>
#include <vector>

namespace tileconv {
namespace test {
namespace {

using Image = detail::FilterTileImage<128>;

struct FilterShape {
  int groups;
  int gemm_m;   ///< output channels per group
  int channels; ///< input channels per group, a multiple of 32
  int taps;
};

/// Where the kernel finds filter value (group, oc, channel, tap): the stage of k tile (channel / 32) * taps + tap of
/// its channel tile starts at (group * gemm_m + oc0) * gemm_k + k_tile * rows * 32 (rows: the tile's channels), and
/// holds row oc - oc0, column channel % 32 with 16-byte chunk c of row r at c ^ (r % 8).
std::int64_t expected_position(FilterShape const& f, int group, int oc, int channel, int tap) {
  int const gemm_k = f.channels * f.taps;
  int const oc0 = oc / 128 * 128;
  int const rows = f.gemm_m - oc0 < 128 ? f.gemm_m - oc0 : 128;
  int const k_tile = channel / 32 * f.taps + tap;
  int const row = oc - oc0;
  int const column = channel % 32;
  std::int64_t const stage = (std::int64_t{group} * f.gemm_m + oc0) * gemm_k + std::int64_t{k_tile} * rows * 32;
  return stage + row * 32 + ((column / 4) ^ (row % 8)) * 4 + column % 4;
}

} // namespace

TEST_CASE("the filter tile image holds every filter value once, where the kernel's stages expect it", "[plan]") {
  FilterShape const shape = GENERATE(FilterShape{1, 128, 64, 9},  // one whole channel tile
                                     FilterShape{2, 20, 32, 9},   // a partial tile of 20 rows per group
                                     FilterShape{1, 200, 32, 1},  // a whole tile and a partial one of 72 rows, 1 x 1
                                     FilterShape{3, 256, 96, 4}); // whole tiles only, 3 groups, 2 x 2
  INFO("groups " << shape.groups << ", " << shape.gemm_m << " channels per group, " << shape.channels << " x "
                 << shape.taps << " reduction");
  int const gemm_k = shape.channels * shape.taps;
  Image::Params const params = Image::make(nullptr, nullptr, shape.groups, shape.gemm_m, gemm_k, shape.taps);
  int const elements = shape.groups * shape.gemm_m * gemm_k;
  REQUIRE(params.segments == shape.groups * shape.gemm_m * shape.channels / 32);
  // image position -> filter offset, as the launcher's pass computes it: a warp per segment, a lane per column, each
  // tap in turn (-1: a position no lane writes)
  std::vector<std::int64_t> source(static_cast<std::size_t>(elements), -1);
  for (int index = 0; index < params.segments; ++index) {
    Image::Segment const where = Image::segment(params, index);
    for (int tap = 0; tap < shape.taps; ++tap) {
      for (int lane = 0; lane < 32; ++lane) {
        std::int64_t const position = where.image + tap * where.image_tap_stride + lane;
        REQUIRE(position >= 0);
        REQUIRE(position < elements);
        source[static_cast<std::size_t>(position)] =
            where.filter + detail::swizzled_column(where.tile_row, lane) * shape.taps + tap;
      }
    }
  }
  // every filter value, (K, C / groups, R, S) order, found at the position the kernel reads it from
  int mismatches = 0;
  for (int group = 0; group < shape.groups; ++group) {
    for (int oc = 0; oc < shape.gemm_m; ++oc) {
      for (int channel = 0; channel < shape.channels; ++channel) {
        for (int tap = 0; tap < shape.taps; ++tap) {
          std::int64_t const filter_offset =
              (std::int64_t{group} * shape.gemm_m + oc) * gemm_k + std::int64_t{channel} * shape.taps + tap;
          std::int64_t const position = expected_position(shape, group, oc, channel, tap);
          bool const found =
              position >= 0 && position < elements && source[static_cast<std::size_t>(position)] == filter_offset;
          mismatches += found ? 0 : 1;
        }
      }
    }
  }
  // a bijection: as many positions as values, and each value found at its own position
  CHECK(mismatches == 0);
}

} // namespace test
} // namespace tileconv
