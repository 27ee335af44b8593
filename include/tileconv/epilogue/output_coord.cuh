#pragma once

/// \file output_coord.cuh
/// Where one output element lives: what every epilogue functor is told besides the value.

#include <cstdint>

namespace tileconv {

/// The position of one output element, passed to epilogue functors with the convolution's value.
struct OutputCoord {
  int channel;         ///< output channel in [0, out_channels), group offset included
  std::int64_t offset; ///< element offset in the NCHW output, and in any tensor shaped like it (64-bit: outputs may
                       ///< exceed 2^31 elements)
};

} // namespace tileconv
