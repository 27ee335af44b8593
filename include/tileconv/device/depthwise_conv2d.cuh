#pragma once

/// \file depthwise_conv2d.cuh
/// The depthwise conv2d (groups == in_channels, out_channels = m * in_channels) of one block: a tile of output rows
/// of one or more (image, channel) planes. The input rows the tile reads, halo included, are copied into shared
/// memory with cp.async (16-byte copies where the rows are aligned, 4-byte ones otherwise), the zero padding written
/// by the copies themselves; each thread then computes kRowsPerThread vertically adjacent outputs of one column in
/// exact FP32 from shared memory and stores them through the epilogue. No tensor cores: at 2 R S FLOP per 8 bytes
/// moved the layer is bound by DRAM bandwidth, and only the copy engine's view of it matters.
///
/// The staging and the compute are plain functions of (params, block, thread) so that a host test can run them for
/// every block and thread of a launch and compare with the float64 reference on a machine without a GPU.

#include <tileconv/config.cuh>
#include <tileconv/device/fast_divmod.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/epilogue/output_coord.cuh>
#include <tileconv/problem.cuh>

#include <cmath>
#include <cstdint>

/// `#pragma unroll` for loops in __host__ __device__ code: on the device only, where it matters, so that the host
/// compiler does not warn about a pragma it does not know.
#ifndef TILECONV_UNROLL
#if defined(__CUDA_ARCH__)
#define TILECONV_UNROLL _Pragma("unroll")
#else
#define TILECONV_UNROLL
#endif
#endif

namespace tileconv {
namespace detail {

/// The fixed numbers of the depthwise path. Unlike a `TilePolicy`, the tile itself is chosen per problem by the host
/// (`DepthwiseConv2d::plan`), within these bounds.
struct DepthwisePolicy {
  /// 8 warps: with 4 outputs a thread, four row groups of a 56-wide image are 224 items, so a MobileNet tile keeps
  /// 7 of 8 warps busy. 8 blocks of 256 threads fill an SM's 2048 threads.
  static constexpr int kThreads = 256;
  /// Vertically adjacent outputs a thread computes: with a unit row step, R + 3 staged rows feed 4 R outputs, half
  /// the shared-memory loads of one output at a time, for 4 accumulator registers.
  static constexpr int kRowsPerThread = 4;
  /// Blocks per SM the registers are capped for (launch bounds) by the number of taps a fixed-size kernel keeps in
  /// registers: 8 x 256 threads fill an SM at 32 registers a thread, enough for 3x3 and the any-size kernel; 5x5
  /// needs 64 (4 blocks) and 7x7 85 (3 blocks) to run without spills (ptxas, sm_90, CUDA 13.0).
  static constexpr int min_blocks_per_sm(int fixed_taps) { return fixed_taps <= 9 ? 8 : fixed_taps <= 25 ? 4 : 3; }
  /// Widest tile: wider outputs are split into column tiles of at most this many columns (and at least
  /// kMinTileColumns where shared memory forces a split), so that a tile has a few row groups and its halo rows
  /// stay a small part of what it stages.
  static constexpr int kMaxTileColumns = 128;
  static constexpr int kMinTileColumns = 32;

  static_assert(kThreads % 32 == 0, "kThreads must be a whole number of warps");
  static_assert(kThreads >= kMaxTileColumns, "a block must hold at least one row group of the widest tile");
};

/// The output of one block: `rows` x `columns` outputs of each of `planes` consecutive output planes
/// (plane = image * out_channels + channel).
struct DepthwiseTileShape {
  int planes = 1;  ///< > 1 only where one tile holds a whole plane (small images: fills the block's threads)
  int rows = 0;    ///< output rows, a multiple of DepthwisePolicy::kRowsPerThread
  int columns = 0; ///< output columns
};

/// Where one tile lives in shared memory: first the filter taps of the tile's planes (R * S floats each, padded to a
/// multiple of 4), then per plane `rows` x `pitch` floats of input: staged row i is input row ih_first + i, staged
/// column j is input column iw_base + j, where iw_base is the tile's first input column rounded down to a multiple
/// of 4 so that 16-byte copies land on 16-byte boundaries. The input comes last so that a read past the staged rows
/// would leave the allocation (an error under compute-sanitizer and in the host emulation) instead of reading taps.
struct DepthwiseSmemLayout {
  static constexpr int kAlignFloats = 4; ///< one 16-byte copy

  int rows = 0;          ///< staged input rows of one plane
  int pitch = 0;         ///< floats per staged row, a multiple of kAlignFloats
  int taps = 0;          ///< R * S
  int filter_floats = 0; ///< planes * taps, rounded up to a multiple of kAlignFloats: where the input starts

  /// Dynamic shared memory of `tile`, 64-bit so that the host can refuse tiles of large strides or dilations before
  /// `make` narrows the sizes to int.
  static constexpr std::int64_t bytes(Conv2dProblem const& problem, DepthwiseTileShape const& tile) {
    std::int64_t const plane = staged_rows(problem, tile) * staged_pitch(problem, tile);
    std::int64_t const filter = round_up(std::int64_t{tile.planes} * problem.filter_h * problem.filter_w);
    return (filter + std::int64_t{tile.planes} * plane) * std::int64_t{sizeof(float)};
  }

  /// The layout of `tile` for `problem`, for a tile whose `bytes` the host has accepted.
  static constexpr DepthwiseSmemLayout make(Conv2dProblem const& problem, DepthwiseTileShape const& tile) {
    DepthwiseSmemLayout layout;
    layout.rows = static_cast<int>(staged_rows(problem, tile));
    layout.pitch = static_cast<int>(staged_pitch(problem, tile));
    layout.taps = problem.filter_h * problem.filter_w;
    layout.filter_floats = static_cast<int>(round_up(std::int64_t{tile.planes} * layout.taps));
    return layout;
  }

  /// Staged input floats of one plane.
  TILECONV_HOST_DEVICE constexpr int plane_floats() const { return rows * pitch; }
  /// Where the staged input of the tile's plane `local_plane` starts, in floats.
  TILECONV_HOST_DEVICE constexpr int plane_offset(int local_plane) const {
    return filter_floats + local_plane * plane_floats();
  }

private:
  /// The rows the tile's outputs read. With a unit row step (stride_h == dilation_h == 1) the sliding window of
  /// `DepthwiseConv2d` computes every row of its row group, also those past out_h, so all tile rows are staged;
  /// otherwise only rows that exist are computed, which keeps a 1-row output of a large stride from staging
  /// 4 * stride_h rows.
  static constexpr std::int64_t staged_rows(Conv2dProblem const& problem, DepthwiseTileShape const& tile) {
    bool const unit_row_step = problem.stride_h == 1 && problem.dilation_h == 1;
    std::int64_t const out_rows = unit_row_step || tile.rows < problem.out_h() ? tile.rows : problem.out_h();
    return (out_rows - 1) * problem.stride_h + std::int64_t{problem.filter_h - 1} * problem.dilation_h + 1;
  }
  /// The columns the tile's outputs read, plus the up to kAlignFloats - 1 the alignment shift adds in front,
  /// rounded up to whole 16-byte copies.
  static constexpr std::int64_t staged_pitch(Conv2dProblem const& problem, DepthwiseTileShape const& tile) {
    std::int64_t const columns = (kAlignFloats - 1) + std::int64_t{tile.columns - 1} * problem.stride_w +
                                 std::int64_t{problem.filter_w - 1} * problem.dilation_w + 1;
    return round_up(columns);
  }
  static constexpr std::int64_t round_up(std::int64_t floats) {
    return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  }
};

/// Kernel parameters of one depthwise launch, everything derived from the problem precomputed on the host.
/// The grid is one-dimensional: block = (plane tile * row_tiles + row tile) * column_tiles + column tile, so that
/// the tiles of one plane, which share halo rows, run at the same time and meet those rows in L2.
struct DepthwiseConv2dParams {
  float const* input = nullptr;
  float const* filter = nullptr;
  float const* bias = nullptr; ///< may be null
  float* output = nullptr;

  int in_h = 0;
  int in_w = 0;
  int out_h = 0;
  int out_w = 0;
  std::int64_t in_plane = 0;  ///< in_h * in_w
  std::int64_t out_plane = 0; ///< out_h * out_w
  int stride_h = 0;
  int stride_w = 0;
  int dilation_h = 0;
  int dilation_w = 0;
  int pad_h = 0; ///< top; the bottom padding only shows in out_h
  int pad_w = 0; ///< left; the right padding only shows in out_w
  int filter_h = 0;
  int filter_w = 0;
  int planes = 0; ///< batch * out_channels output planes

  DepthwiseTileShape tile;
  DepthwiseSmemLayout smem;
  int row_groups = 0;      ///< tile.rows / kRowsPerThread
  int items = 0;           ///< tile.planes * row_groups * tile.columns: one thread's work is one item at a time
  int copies = 0;          ///< staging copies of one block: tile.planes * smem.rows * row_copies
  bool vectorized = false; ///< 16-byte copies: input 16-byte aligned and in_w a multiple of 4

  FastDivmod multiplier;   ///< output plane -> input plane: (n K + k) / m = n C + k / m
  FastDivmod out_channels; ///< output plane -> channel
  FastDivmod column_tiles; ///< block -> (plane tile * row_tiles + row tile, column tile)
  FastDivmod row_tiles;    ///< -> (plane tile, row tile)
  FastDivmod tile_columns; ///< item -> (plane * row_groups + row group, column)
  FastDivmod groups;       ///< -> (plane, row group); divisor row_groups
  FastDivmod row_copies;   ///< copy -> (plane * smem.rows + staged row, copy in the row); pitch / 4 or pitch
  FastDivmod staged_rows;  ///< -> (plane, staged row); divisor smem.rows
  FastDivmod taps;         ///< filter copy -> (plane, tap); divisor R * S

  /// Precomputes the parameters of a validated depthwise problem for tiles of shape `tile`, whose shared memory
  /// the host has checked. `vectorized` must only be set where `can_vectorize` holds.
  static DepthwiseConv2dParams make(Conv2dArguments const& args, DepthwiseTileShape const& tile, bool vectorized) {
    Conv2dProblem const& problem = args.problem;
    DepthwiseConv2dParams params;
    params.input = args.input;
    params.filter = args.filter;
    params.bias = args.bias;
    params.output = args.output;
    params.in_h = problem.in_h;
    params.in_w = problem.in_w;
    params.out_h = problem.out_h();
    params.out_w = problem.out_w();
    params.in_plane = std::int64_t{problem.in_h} * problem.in_w;
    params.out_plane = std::int64_t{params.out_h} * params.out_w;
    params.stride_h = problem.stride_h;
    params.stride_w = problem.stride_w;
    params.dilation_h = problem.dilation_h;
    params.dilation_w = problem.dilation_w;
    params.pad_h = problem.pad_top();
    params.pad_w = problem.pad_left();
    params.filter_h = problem.filter_h;
    params.filter_w = problem.filter_w;
    params.planes = static_cast<int>(std::int64_t{problem.batch} * problem.out_channels); // checked by the host

    params.tile = tile;
    params.smem = DepthwiseSmemLayout::make(problem, tile);
    params.row_groups = tile.rows / DepthwisePolicy::kRowsPerThread;
    params.items = tile.planes * params.row_groups * tile.columns;
    params.vectorized = vectorized;
    int const row_copies = vectorized ? params.smem.pitch / DepthwiseSmemLayout::kAlignFloats : params.smem.pitch;
    params.copies = tile.planes * params.smem.rows * row_copies;

    int const row_tiles = (params.out_h + tile.rows - 1) / tile.rows;
    int const column_tiles = (params.out_w + tile.columns - 1) / tile.columns;
    params.multiplier = FastDivmod(problem.out_channels / problem.in_channels);
    params.out_channels = FastDivmod(problem.out_channels);
    params.column_tiles = FastDivmod(column_tiles);
    params.row_tiles = FastDivmod(row_tiles);
    params.tile_columns = FastDivmod(tile.columns);
    params.groups = FastDivmod(params.row_groups);
    params.row_copies = FastDivmod(row_copies);
    params.staged_rows = FastDivmod(params.smem.rows);
    params.taps = FastDivmod(params.smem.taps);
    return params;
  }

  /// Whether the staging may use 16-byte copies: every input row then starts on a 16-byte boundary, and a group of
  /// 4 columns starting at a multiple of 4 is either wholly inside the image or wholly in the padding.
  static bool can_vectorize(Conv2dArguments const& args) {
    return reinterpret_cast<std::uintptr_t>(args.input) % 16 == 0 && args.problem.in_w % 4 == 0;
  }
};

/// The kernel's parameters: the conv's and the epilogue functor, by value.
/// @tparam Epilogue trivially copyable, `float operator()(float, OutputCoord const&) const`
template <class Epilogue> struct DepthwiseKernelParams {
  DepthwiseConv2dParams conv;
  Epilogue epilogue;
};

/// Where one block's tile starts. Coordinates are int: the host refuses problems whose padded rows or columns,
/// plus one tile's staging, would not fit (`DepthwiseConv2d::choose_tiling`); only tensor offsets need 64 bits.
struct DepthwiseBlock {
  int plane0 = 0;   ///< first output plane
  int p0 = 0;       ///< first output row
  int q0 = 0;       ///< first output column
  int ih_first = 0; ///< input row of staged row 0: p0 * stride_h - pad_h (negative inside the padding)
  int iw_base = 0;  ///< input column of staged column 0, a multiple of 4 (floor, also when negative)
  int shift = 0;    ///< staged column of output column q0's tap s = 0: q0 * stride_w - pad_w - iw_base
};

/// @tparam kFilterH, kFilterW the filter size when fixed at compile time, for problems of a unit row step
///                            (stride_h == dilation_h == 1) only: taps in registers and a sliding window over the
///                            staged rows. 0 and 0 for any problem: sizes from the params, taps from shared memory.
///                            (A fixed-size kernel for other row steps, 36 unrolled loads for 3x3, spilled at the
///                            32 registers of 8 blocks per SM, sm_90, CUDA 13.0.)
/// @tparam Epilogue           see `DepthwiseKernelParams`
template <int kFilterH, int kFilterW, class Epilogue> struct DepthwiseConv2d {
  static_assert((kFilterH > 0) == (kFilterW > 0), "fix both filter sizes at compile time, or neither");

  static constexpr int kThreads = DepthwisePolicy::kThreads;
  static constexpr int kRowsPerThread = DepthwisePolicy::kRowsPerThread;
  /// Taps a fixed-size kernel keeps in registers; 0 for the any-size kernel.
  static constexpr int kFixedTaps = kFilterH * kFilterW;
  static constexpr int kMinBlocksPerSm = DepthwisePolicy::min_blocks_per_sm(kFixedTaps);

  __device__ void operator()(DepthwiseKernelParams<Epilogue> const& params, unsigned char* shared_bytes) const {
    float* smem = reinterpret_cast<float*>(shared_bytes);
    DepthwiseBlock const block = block_of(params.conv, static_cast<int>(blockIdx.x));
    int const thread = static_cast<int>(threadIdx.x);
    stage(params.conv, block, thread, smem, AsyncCopy{});
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads(); // every thread's copies are in shared memory
    compute(params.conv, block, thread, smem, params.epilogue);
  }

  /// The tile of block `index` of the one-dimensional grid (see `DepthwiseConv2dParams`).
  TILECONV_HOST_DEVICE static DepthwiseBlock block_of(DepthwiseConv2dParams const& params, int index) {
    int plane_row_tile = 0;
    int column_tile = 0;
    int plane_tile = 0;
    int row_tile = 0;
    params.column_tiles.divmod(index, plane_row_tile, column_tile);
    params.row_tiles.divmod(plane_row_tile, plane_tile, row_tile);
    DepthwiseBlock block;
    block.plane0 = plane_tile * params.tile.planes;
    block.p0 = row_tile * params.tile.rows;
    block.q0 = column_tile * params.tile.columns;
    block.ih_first = block.p0 * params.stride_h - params.pad_h;
    int const iw_first = block.q0 * params.stride_w - params.pad_w;
    block.iw_base = iw_first & ~(DepthwiseSmemLayout::kAlignFloats - 1); // two's complement: rounds toward -inf
    block.shift = iw_first - block.iw_base;
    return block;
  }

  /// Issues `thread`'s share of the block's copies into `smem` through `copy`: the staged input rows of every plane
  /// of the tile, zeros wherever they fall outside the image or past the last plane, and the planes' filter taps.
  /// Consecutive threads copy consecutive columns of a row, so a warp's copies coalesce.
  /// @tparam Copy `scalar(float* dst, float const* src, bool valid)` and `vector(...)` (4 floats); both write zeros
  ///              and read nothing when `valid` is false
  template <class Copy>
  TILECONV_HOST_DEVICE static void stage(DepthwiseConv2dParams const& params, DepthwiseBlock const& block, int thread,
                                         float* smem, Copy const& copy) {
    if (params.vectorized) {
      stage_input<DepthwiseSmemLayout::kAlignFloats>(params, block, thread, smem, copy);
    } else {
      stage_input<1>(params, block, thread, smem, copy);
    }
    float* filter_smem = smem;
    int const filter_copies = params.tile.planes * params.smem.taps;
    for (int index = thread; index < filter_copies; index += kThreads) {
      int local_plane = 0;
      int tap = 0;
      params.taps.divmod(index, local_plane, tap);
      int const plane = block.plane0 + local_plane;
      bool const valid = plane < params.planes;
      int const channel = valid ? plane - params.out_channels.div(plane) * params.out_channels.divisor() : 0;
      float const* src = params.filter + (std::int64_t{channel} * params.smem.taps + tap);
      copy.scalar(filter_smem + index, src, valid);
    }
  }

  /// Computes `thread`'s items from the staged tile and stores them through `epilogue`: item (plane, row group,
  /// column) is the kRowsPerThread outputs of one column; consecutive threads take consecutive columns, so the
  /// shared-memory loads of a warp hit consecutive banks (stride 1) and its stores coalesce.
  TILECONV_HOST_DEVICE static void compute(DepthwiseConv2dParams const& params, DepthwiseBlock const& block, int thread,
                                           float const* smem, Epilogue const& epilogue) {
    float const* filter_smem = smem;
    int const pitch = params.smem.pitch;
    Taps taps;
    int taps_plane = -1; // the local plane `taps` holds: with one plane a block, loaded once
    for (int item = thread; item < params.items; item += kThreads) {
      int plane_group = 0;
      int column = 0;
      int local_plane = 0;
      int group = 0;
      params.tile_columns.divmod(item, plane_group, column);
      params.groups.divmod(plane_group, local_plane, group);
      int const plane = block.plane0 + local_plane;
      if (plane >= params.planes) {
        break; // later items only have larger planes
      }
      float const* plane_taps = filter_smem + local_plane * params.smem.taps;
      if (local_plane != taps_plane) {
        taps.load(plane_taps);
        taps_plane = local_plane;
      }
      int const local_row = group * kRowsPerThread;
      // Outside the unit row step only the rows that exist are staged (see `DepthwiseSmemLayout`), so rows from
      // `rows_left` on are neither computed nor stored.
      int const rows_left = params.out_h - (block.p0 + local_row);
      if (rows_left <= 0) {
        continue; // a row group of the last row tile wholly past out_h
      }
      // staged element of output (local_row, column), tap (0, 0)
      float const* window = smem + params.smem.plane_offset(local_plane) + local_row * params.stride_h * pitch +
                            block.shift + column * params.stride_w;
      float acc[kRowsPerThread];
      TILECONV_UNROLL
      for (int v = 0; v < kRowsPerThread; ++v) {
        acc[v] = 0.0f;
      }
      if constexpr (kFilterH > 0) {
        accumulate_sliding(window, pitch, params.dilation_w, taps, acc);
      } else {
        accumulate_any(window, pitch, params, rows_left, plane_taps, acc);
      }

      int const channel = plane - params.out_channels.div(plane) * params.out_channels.divisor();
      float const bias = params.bias != nullptr ? params.bias[channel] : 0.0f;
      int const q = block.q0 + column;
      std::int64_t const plane_offset = std::int64_t{plane} * params.out_plane;
      TILECONV_UNROLL
      for (int v = 0; v < kRowsPerThread; ++v) {
        int const p = block.p0 + local_row + v;
        // rows past out_h in the last row tile, columns past out_w in the last column tile: computed from staged
        // zeros or halo, never stored
        if (p < params.out_h && q < params.out_w) {
          std::int64_t const offset = plane_offset + std::int64_t{p} * params.out_w + q;
          params.output[offset] = epilogue(acc[v] + bias, OutputCoord{channel, offset});
        }
      }
    }
  }

private:
  /// The filter of one plane in registers when its size is fixed; nothing otherwise (read from shared memory).
  struct Taps {
    static constexpr int kCount = kFixedTaps > 0 ? kFixedTaps : 1;
    float value[kCount];
    TILECONV_HOST_DEVICE void load(float const* taps) {
      if constexpr (kFilterH > 0) {
        TILECONV_UNROLL
        for (int t = 0; t < kCount; ++t) {
          value[t] = taps[t];
        }
      } else {
        (void)taps;
      }
    }
  };

  template <int kWidth, class Copy>
  TILECONV_HOST_DEVICE static void stage_input(DepthwiseConv2dParams const& params, DepthwiseBlock const& block,
                                               int thread, float* smem, Copy const& copy) {
    for (int index = thread; index < params.copies; index += kThreads) {
      int plane_row = 0;
      int chunk = 0;
      int local_plane = 0;
      int row = 0;
      params.row_copies.divmod(index, plane_row, chunk);
      params.staged_rows.divmod(plane_row, local_plane, row);
      int const plane = block.plane0 + local_plane;
      int const ih = block.ih_first + row;
      int const iw = block.iw_base + chunk * kWidth;
      // With kWidth 4, iw and in_w are multiples of 4: the group is wholly inside the image or wholly outside.
      bool const valid = plane < params.planes && ih >= 0 && ih < params.in_h && iw >= 0 && iw + kWidth <= params.in_w;
      float const* src = params.input;
      if (valid) {
        std::int64_t const input_plane = params.multiplier.div(plane);
        src += input_plane * params.in_plane + std::int64_t{ih} * params.in_w + iw;
      }
      float* dst = smem + params.smem.plane_offset(local_plane) + row * params.smem.pitch + chunk * kWidth;
      if constexpr (kWidth == 1) {
        copy.scalar(dst, src, valid);
      } else {
        copy.vector(dst, src, valid);
      }
    }
  }

  /// Unit row step, fixed filter: staged row i of the window feeds output v through filter row r = i - v, so each
  /// of the kRowsPerThread + R - 1 rows is loaded once for all the outputs it meets.
  TILECONV_HOST_DEVICE static void accumulate_sliding(float const* window, int pitch, int dilation_w, Taps const& taps,
                                                      float (&acc)[kRowsPerThread]) {
    TILECONV_UNROLL
    for (int i = 0; i < kRowsPerThread + kFilterH - 1; ++i) {
      float x[kFilterW];
      TILECONV_UNROLL
      for (int s = 0; s < kFilterW; ++s) {
        x[s] = window[i * pitch + s * dilation_w];
      }
      TILECONV_UNROLL
      for (int v = 0; v < kRowsPerThread; ++v) {
        int const r = i - v;
        if (r >= 0 && r < kFilterH) {
          TILECONV_UNROLL
          for (int s = 0; s < kFilterW; ++s) {
            acc[v] = fmaf(x[s], taps.value[r * kFilterW + s], acc[v]);
          }
        }
      }
    }
  }

  /// Any filter size, stride and dilation; taps read from shared memory (the same address across a warp
  /// wherever its threads share a plane: a broadcast).
  TILECONV_HOST_DEVICE static void accumulate_any(float const* window, int pitch, DepthwiseConv2dParams const& params,
                                                  int rows_left, float const* taps, float (&acc)[kRowsPerThread]) {
    int const rows = rows_left < kRowsPerThread ? rows_left : kRowsPerThread;
    for (int r = 0; r < params.filter_h; ++r) {
      for (int s = 0; s < params.filter_w; ++s) {
        float const tap = taps[r * params.filter_w + s];
        float const* column = window + r * params.dilation_h * pitch + s * params.dilation_w;
        TILECONV_UNROLL
        for (int v = 0; v < kRowsPerThread; ++v) {
          if (v < rows) {
            acc[v] = fmaf(column[v * params.stride_h * pitch], tap, acc[v]);
          }
        }
      }
    }
  }

  /// The device's copies: cp.async with zero-fill, so padding costs no branch and no register.
  struct AsyncCopy {
    __device__ void scalar(float* dst, float const* src, bool valid) const { cp_async_zfill<4>(dst, src, valid); }
    /// 16 bytes, L2 only (.cg): a block reads its input once; the halo rows it shares with a neighbour meet in L2.
    __device__ void vector(float* dst, float const* src, bool valid) const {
      std::uint32_t const dst_addr = static_cast<std::uint32_t>(__cvta_generic_to_shared(dst));
      int const src_bytes = valid ? 16 : 0;
      asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst_addr), "l"(src), "r"(src_bytes));
    }
  };
};

/// Resident threads per SM of the architecture this pass compiles for: 1536 on sm_86, sm_87 and sm_89 (the 4090),
/// 2048 on sm_80 and sm_90. ptxas refuses launch bounds that ask for more.
constexpr int compiled_max_threads_per_sm() {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 860 || __CUDA_ARCH__ == 870 || __CUDA_ARCH__ == 890)
  return 1536;
#else
  return 2048;
#endif
}

/// `wanted` blocks of `threads` each, or as many as the compiled architecture holds where that is fewer.
constexpr int compiled_min_blocks_per_sm(int wanted, int threads) {
  return wanted * threads <= compiled_max_threads_per_sm() ? wanted : compiled_max_threads_per_sm() / threads;
}

/// The __global__ entry of the depthwise conv: like `conv2d_kernel`, but with the functor's blocks-per-SM target
/// in the launch bounds, which caps the registers so that enough blocks stay resident to keep DRAM busy. The
/// target is capped by what the compiled architecture can hold (6 blocks of 256 threads on the 4090).
/// @tparam Functor a `DepthwiseConv2d`
template <class Functor, class Params>
__global__ void __launch_bounds__(Functor::kThreads,
                                  compiled_min_blocks_per_sm(Functor::kMinBlocksPerSm, Functor::kThreads))
    depthwise_conv2d_kernel(Params const params) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  // cp.async needs sm_80; the host refuses older devices, so older targets compile to an empty body.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  Functor{}(params, shared_bytes);
#endif
}

} // namespace detail
} // namespace tileconv
