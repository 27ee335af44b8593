#pragma once

/// \file swizzle.cuh
/// The 128-byte swizzle of the K-major shared-memory tiles wgmma reads.

#include <tileconv/config.cuh>

namespace tileconv {
namespace detail {

/// Where 16-byte chunk `chunk` (0..7) of row `row` sits in a 128-byte row under the 128-byte swizzle: at
/// chunk ^ (row % 8). `& 7`, not `% 8`: rows a multiple of 8 apart share the permutation, which the compiler then sees.
TILECONV_HOST_DEVICE constexpr int swizzled_chunk(int row, int chunk) { return chunk ^ (row & 7); }

/// Where column `column` (0..31) of row `row` sits in a row of 32 floats under the 128-byte swizzle: its chunk moved
/// by `swizzled_chunk`, its place in the chunk kept. The permutation is its own inverse, so it also gives the column
/// stored at a position.
TILECONV_HOST_DEVICE constexpr int swizzled_column(int row, int column) {
  return swizzled_chunk(row, column / 4) * 4 + column % 4;
}

} // namespace detail
} // namespace tileconv
