#pragma once

/// \file direct_conv2d.cuh
/// The direct conv2d of groups with few channels (depthwise, and grouped convs of at most
/// `DirectConvPolicy::kMaxGroupChannels` input and output channels a group) for one block: a tile of output rows of
/// one or more slices, a slice being one group of one image, with its in_channels / groups input planes and
/// out_channels / groups output planes. The input rows the tile reads, halo included, of every input plane of its
/// slices are copied into shared memory with cp.async (16-byte copies where the rows are aligned, 4-byte ones
/// otherwise), the zero padding written by the copies themselves, and so are the slices' filters, transposed so
/// that the output channels of one (input channel, tap) are consecutive. On an H100/H200 the fixed-size depthwise
/// kernels have the copy engine stage their input instead, one TMA box a tile (`kTensorMaps`). Each thread then
/// computes 4 or 8 (`DirectConvPolicy::rows_per_thread`) vertically adjacent outputs of one column for kChannels
/// output channels of its slice, in exact FP32 from shared memory, and stores them through the epilogue. Not the
/// implicit GEMM: a group's GEMM is at most 16 wide in N and 16 R S deep, so its tiles of 64 or 128 output channels
/// would be mostly padding.
/// This FP32 compute serves every group size but one: 3x3 groups of 8 -> 8 channels run one TF32 mma.sync a tap on
/// the same staged tile (direct_mma_conv2d.cuh, `DirectConvPolicy::uses_mma`).
///
/// The staging and the compute are plain functions of (params, block, thread) so that a host test can run them for
/// every block and thread of a launch and compare with the float64 reference on a machine without a GPU.

#include <tileconv/config.cuh>
#include <tileconv/device/fast_divmod.cuh>
#include <tileconv/device/mbarrier.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/shared_storage.cuh>
#include <tileconv/epilogue/output_coord.cuh>
#include <tileconv/problem.cuh>

#include <cuda.h>
#include <cuda/ptx>

#include <cmath>
#include <cstdint>
#include <type_traits>

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

/// The fixed numbers of the direct path. Unlike a `TilePolicy`, the tile itself is chosen per problem by the host
/// (`DirectConv2d::plan`), within these bounds.
struct DirectConvPolicy {
  /// 8 warps: four row groups of a 56-wide image are 224 items, so a MobileNet tile keeps 7 of 8 warps busy.
  /// 8 blocks of 256 threads fill an SM's 2048 threads.
  static constexpr int kThreads = 256;
  /// Vertically adjacent outputs a thread computes (an item's rows) for `channels` output channels a thread: with a
  /// unit row step, R + rows - 1 staged rows feed rows x R outputs. 8 for one channel (depthwise): the kernel is
  /// bound by instruction issue, not DRAM (ncu, H200, mobilenet_dw_c144_56: issue slots 85% busy, DRAM 27%), and
  /// 8 rows halve what an output pays for its item's index math, tap loads and store addresses and for its share of
  /// the staging: -30% instructions, -27% time, still 32 registers. 4 for several, whose 4 x 8 accumulators already
  /// fill the 64 registers of 4 blocks per SM.
  static constexpr int rows_per_thread(int channels) { return channels == 1 ? 8 : 4; }
  /// The most input and the most output channels a group may have for the direct path: beyond 16 the implicit
  /// GEMM's tiles (64 or 128 output channels, a reduction of 32 a step) are at least a quarter full, and its tensor
  /// cores win over exact FP32 FMAs.
  static constexpr int kMaxGroupChannels = 16;
  /// The input and output channels of a group the TF32 tensor-core kernel computes (`DirectMmaConv2d`): exactly one
  /// m16n8k8's k and n, so that its fragments need no padding and no channel guards.
  static constexpr int kMmaGroupChannels = 8;
  /// Whether groups of `in_channels_per_group` -> `out_channels_per_group` channels fit the tensor-core kernel
  /// (ResNeXt-50's 8 -> 8 of its 28 x 28 stage); the host adds its filter condition (3x3 at unit steps).
  static constexpr bool uses_mma(int in_channels_per_group, int out_channels_per_group) {
    return in_channels_per_group == kMmaGroupChannels && out_channels_per_group == kMmaGroupChannels;
  }
  /// Output channels a thread computes: 1 for one input channel a group (depthwise: its taps fit in registers),
  /// else 4 or 8, whichever wastes less of the group's output channels: each input value loaded from shared memory
  /// then feeds 4 or 8 FMAs, and the taps of those channels come in 16-byte broadcast loads. The tensor-core kernel's
  /// groups get 8: its staging is the FP32 kernel's of 8 channels a thread.
  static constexpr int channels_per_thread(int in_channels_per_group, int out_channels_per_group) {
    return in_channels_per_group == 1 ? 1 : out_channels_per_group <= 4 ? 4 : 8;
  }
  /// Blocks per SM the registers are capped for (launch bounds): for one channel a thread, by the number of taps a
  /// fixed-size kernel keeps in registers: 8 x 256 threads fill an SM at 32 registers a thread, enough for 3x3 and
  /// the any-size kernel; 5x5 needs 64 (4 blocks) and 7x7 85 (3 blocks) to run without spills. For 4 and 8
  /// channels a thread, by their 16 and 32 accumulators: 48 and 64 registers (5 and 4 blocks; at 40 registers,
  /// 6 blocks, the 4-channel kernel spills), ptxas, sm_90, CUDA 13.0.
  static constexpr int min_blocks_per_sm(int fixed_taps, int channels) {
    if (channels > 1) {
      return channels <= 4 ? 5 : 4;
    }
    return fixed_taps <= 9 ? 8 : fixed_taps <= 25 ? 4 : 3;
  }
  /// Widest tile: wider outputs are split into column tiles of at most this many columns (and at least
  /// kMinTileColumns where shared memory forces a split), so that a tile has a few row groups and its halo rows
  /// stay a small part of what it stages.
  static constexpr int kMaxTileColumns = 128;
  static constexpr int kMinTileColumns = 32;

  static_assert(kThreads % 32 == 0, "kThreads must be a whole number of warps");
  static_assert(kThreads >= kMaxTileColumns, "a block must hold at least one row group of the widest tile");
};

/// The output of one block: `rows` x `columns` outputs of every output plane of `slices` consecutive slices
/// (slice = image * groups + group).
struct DirectTileShape {
  int slices = 1;  ///< > 1 only where one tile holds a whole plane (small images: fills the block's threads)
  int rows = 0;    ///< output rows, a multiple of DirectConvPolicy::rows_per_thread
  int columns = 0; ///< output columns
};

/// Where one tile lives in shared memory: first the filters of the tile's slices, then the input of their input
/// planes. A slice's filter holds in_channels / groups x taps x `channel_pitch` floats: with several output channels
/// a thread it is (in channel, tap, out channel), out_channels / groups taps then zeros up to a whole number of
/// kChannels, so that a thread's channels of one tap are one 16-byte load; with one (one input channel a group, so
/// channel_pitch = out_channels / groups) it is (out channel, tap), the filter's own order, so that a channel's taps
/// are consecutive. The input is per staged plane
/// (slice * in_channels / groups + channel) `rows` x `pitch` floats: staged row i is input row ih_first + i, staged
/// column j is input column iw_base + j, where iw_base is the tile's first input column rounded down to a multiple
/// of 4 so that 16-byte copies land on 16-byte boundaries. The input comes last so that a read past the staged rows
/// would leave the allocation (an error under compute-sanitizer and in the host emulation) instead of reading taps.
struct DirectSmemLayout {
  static constexpr int kAlignFloats = 4; ///< one 16-byte copy

  int rows = 0;          ///< staged input rows of one plane
  int pitch = 0;         ///< floats per staged row, a multiple of kAlignFloats
  int taps = 0;          ///< R * S
  int channel_pitch = 0; ///< output channels of a slice's filter: out_channels / groups rounded up to a multiple of
                         ///< kChannels
  int slice_filter = 0;  ///< floats of one slice's filter: in_channels / groups * taps * channel_pitch
  int filter_floats = 0; ///< slices * slice_filter, rounded up to a multiple of kAlignFloats: where the input starts

  /// Dynamic shared memory of `tile` with `channels` output channels a thread, 64-bit so that the host can refuse
  /// tiles of large strides or dilations before `make` narrows the sizes to int.
  static constexpr std::int64_t bytes(Conv2dProblem const& problem, DirectTileShape const& tile, int channels) {
    std::int64_t const plane = staged_rows(problem, tile) * staged_pitch(problem, tile);
    std::int64_t const planes = std::int64_t{tile.slices} * problem.in_channels_per_group();
    std::int64_t const filter = round_up(std::int64_t{tile.slices} * slice_filter_floats(problem, channels));
    return (filter + planes * plane) * std::int64_t{sizeof(float)};
  }

  /// The layout of `tile` for `problem`, for a tile whose `bytes` the host has accepted.
  static constexpr DirectSmemLayout make(Conv2dProblem const& problem, DirectTileShape const& tile, int channels) {
    DirectSmemLayout layout;
    layout.rows = static_cast<int>(staged_rows(problem, tile));
    layout.pitch = static_cast<int>(staged_pitch(problem, tile));
    layout.taps = problem.filter_h * problem.filter_w;
    layout.channel_pitch = channel_pitch_of(problem, channels);
    layout.slice_filter = static_cast<int>(slice_filter_floats(problem, channels));
    layout.filter_floats = static_cast<int>(round_up(std::int64_t{tile.slices} * layout.slice_filter));
    return layout;
  }

  /// Staged input floats of one plane.
  TILECONV_HOST_DEVICE constexpr int plane_floats() const { return rows * pitch; }
  /// Where the staged input of the tile's plane `local_plane` (local slice * in_channels / groups + channel) starts, in
  /// floats.
  TILECONV_HOST_DEVICE constexpr int plane_offset(int local_plane) const {
    return filter_floats + local_plane * plane_floats();
  }

private:
  static constexpr int channel_pitch_of(Conv2dProblem const& problem, int channels) {
    return (problem.out_channels_per_group() + channels - 1) / channels * channels;
  }
  static constexpr std::int64_t slice_filter_floats(Conv2dProblem const& problem, int channels) {
    return std::int64_t{problem.in_channels_per_group()} * problem.filter_h * problem.filter_w *
           channel_pitch_of(problem, channels);
  }
  /// The rows the tile's outputs read. With a unit row step (stride_h == dilation_h == 1) the sliding window of
  /// `DirectConv2d` computes every row of its row group, also those past out_h, so all tile rows are staged;
  /// otherwise only rows that exist are computed, which keeps a 1-row output of a large stride from staging
  /// 4 * stride_h rows.
  static constexpr std::int64_t staged_rows(Conv2dProblem const& problem, DirectTileShape const& tile) {
    bool const unit_row_step = problem.stride_h == 1 && problem.dilation_h == 1;
    std::int64_t const out_rows = unit_row_step || tile.rows < problem.out_h() ? tile.rows : problem.out_h();
    return (out_rows - 1) * problem.stride_h + std::int64_t{problem.filter_h - 1} * problem.dilation_h + 1;
  }
  /// The columns the tile's outputs read, plus the up to kAlignFloats - 1 the alignment shift adds in front,
  /// rounded up to whole 16-byte copies.
  static constexpr std::int64_t staged_pitch(Conv2dProblem const& problem, DirectTileShape const& tile) {
    std::int64_t const columns = (kAlignFloats - 1) + std::int64_t{tile.columns - 1} * problem.stride_w +
                                 std::int64_t{problem.filter_w - 1} * problem.dilation_w + 1;
    return round_up(columns);
  }
  static constexpr std::int64_t round_up(std::int64_t floats) {
    return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  }
};

/// Kernel parameters of one direct launch, everything derived from the problem precomputed on the host.
/// The grid is one-dimensional: block = (slice tile * row_tiles + row tile) * column_tiles + column tile, so that
/// the tiles of one plane, which share halo rows, run at the same time and meet those rows in L2.
struct DirectConv2dParams {
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
  int group_in = 0;  ///< in_channels / groups: input planes of a slice
  int group_out = 0; ///< out_channels / groups: output planes of a slice
  int slices = 0;    ///< batch * groups
  int in_planes = 0; ///< batch * in_channels = slices * group_in

  DirectTileShape tile;
  DirectSmemLayout smem;
  int row_groups = 0; ///< tile.rows / rows_per_thread
  int items = 0;      ///< tile.slices * chunks * row_groups * tile.columns: one thread's work is one item at a time
  int copies = 0;     ///< input staging copies of one block: tile.slices * group_in * smem.rows * row_copies
  bool vectorized = false; ///< 16-byte copies: input 16-byte aligned and in_w a multiple of 4

  FastDivmod groups;          ///< slice -> group
  FastDivmod column_tiles;    ///< block -> (slice tile * row_tiles + row tile, column tile)
  FastDivmod row_tiles;       ///< -> (slice tile, row tile)
  FastDivmod tile_columns;    ///< item -> ((slice * chunks + chunk) * row_groups + row group, column)
  FastDivmod row_group_count; ///< -> (slice * chunks + chunk, row group); divisor row_groups
  FastDivmod chunks;        ///< -> (slice, chunk of kChannels output channels); divisor smem.channel_pitch / kChannels
  FastDivmod row_copies;    ///< copy -> (plane * smem.rows + staged row, copy in the row); pitch / 4 or pitch
  FastDivmod staged_rows;   ///< -> (plane, staged row); divisor smem.rows
  FastDivmod slice_filter;  ///< filter copy -> (slice, element of the slice's filter)
  FastDivmod channel_pitch; ///< element -> (in channel * taps + tap, out channel), several output channels a thread

  /// The group of `slice` (slice = image * groups + group).
  TILECONV_HOST_DEVICE int group_of(int slice) const { return slice - groups.div(slice) * groups.divisor(); }

  /// Precomputes the parameters of a validated problem that `DirectConv2d` applies to, for tiles of shape `tile`
  /// with `channels` output channels a thread, whose shared memory the host has checked. `vectorized` must only be
  /// set where `can_vectorize` holds.
  static DirectConv2dParams make(Conv2dArguments const& args, DirectTileShape const& tile, int channels,
                                 bool vectorized) {
    Conv2dProblem const& problem = args.problem;
    DirectConv2dParams params;
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
    params.group_in = problem.in_channels_per_group();
    params.group_out = problem.out_channels_per_group();
    // checked by the host: batch * in_channels and batch * out_channels fit in int
    params.slices = static_cast<int>(std::int64_t{problem.batch} * problem.groups);
    params.in_planes = static_cast<int>(std::int64_t{problem.batch} * problem.in_channels);

    params.tile = tile;
    params.smem = DirectSmemLayout::make(problem, tile, channels);
    int const chunks = params.smem.channel_pitch / channels;
    params.row_groups = tile.rows / DirectConvPolicy::rows_per_thread(channels);
    params.items = tile.slices * chunks * params.row_groups * tile.columns;
    params.vectorized = vectorized;
    int const row_copies = vectorized ? params.smem.pitch / DirectSmemLayout::kAlignFloats : params.smem.pitch;
    params.copies = tile.slices * params.group_in * params.smem.rows * row_copies;

    int const row_tiles = (params.out_h + tile.rows - 1) / tile.rows;
    int const column_tiles = (params.out_w + tile.columns - 1) / tile.columns;
    params.groups = FastDivmod(problem.groups);
    params.column_tiles = FastDivmod(column_tiles);
    params.row_tiles = FastDivmod(row_tiles);
    params.tile_columns = FastDivmod(tile.columns);
    params.row_group_count = FastDivmod(params.row_groups);
    params.chunks = FastDivmod(chunks);
    params.row_copies = FastDivmod(row_copies);
    params.staged_rows = FastDivmod(params.smem.rows);
    params.slice_filter = FastDivmod(params.smem.slice_filter);
    params.channel_pitch = FastDivmod(params.smem.channel_pitch);
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
template <class Epilogue> struct DirectKernelParams {
  DirectConv2dParams conv;
  Epilogue epilogue;
};

/// The direct kernels' parameters where the copy engine stages a tile (TMA, sm_90; `DirectConv2d::uses_tensor_maps`
/// on the host): the input as a 3D tensor (columns, rows, planes = images x channels), its zero fill outside the
/// tensor standing for the padding (and for planes past the last slice); boxes of the staged pitch x rows x the planes
/// one box stages (`DirectTileBoxes`). Encoded by the host (`DirectConv2d::run`).
template <class Epilogue> struct DirectTensorMapParams {
  DirectKernelParams<Epilogue> direct;
  CUtensorMap input_map;
  /// The tensor-core kernel's filter (`DirectMmaConv2d`): a 2D tensor (a group's 72 values of an output channel,
  /// output channels), boxes of 72 x 8. Unused by the FP32 kernels, which copy their few filter values themselves.
  CUtensorMap filter_map;
};

/// The copy engine's boxes land on 128-byte boundaries: a kernel staged by it aligns its storage in a slack of that
/// many bytes, and the filter region before the input planes is a multiple of it.
inline constexpr int kDirectTensorMapAlignment = 128;
/// What the copy engine's staging adds to a tile's shared memory (`DirectSmemLayout`) at least: the alignment slack
/// and the boxes' mbarrier.
inline constexpr int kDirectTensorMapSmemBytes = kDirectTensorMapAlignment + 16;

/// The device's copies of `DirectConv2d::stage`: cp.async with zero-fill, so padding costs no branch and no register.
struct DirectAsyncCopy {
  __device__ void scalar(float* dst, float const* src, bool valid) const { cp_async_zfill<4>(dst, src, valid); }
  /// 16 bytes, L2 only (.cg): a block reads its input once; the halo rows it shares with a neighbour meet in L2.
  __device__ void vector(float* dst, float const* src, bool valid) const {
    std::uint32_t const dst_addr = shared_address(dst);
    int const src_bytes = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst_addr), "l"(src), "r"(src_bytes));
  }
};

/// Where one block's tile starts. Coordinates are int: the host refuses problems whose padded rows or columns,
/// plus one tile's staging, would not fit (`DirectConv2d::choose_tiling`); only tensor offsets need 64 bits.
struct DirectBlock {
  int slice0 = 0;   ///< first slice
  int p0 = 0;       ///< first output row
  int q0 = 0;       ///< first output column
  int ih_first = 0; ///< input row of staged row 0: p0 * stride_h - pad_h (negative inside the padding)
  int iw_base = 0;  ///< input column of staged column 0, a multiple of 4 (floor, also when negative)
  int shift = 0;    ///< staged column of output column q0's tap s = 0: q0 * stride_w - pad_w - iw_base
};

/// The copy engine's staging of a direct kernel's tile (sm_90, `DirectTensorMapParams`): boxes of the tile's input
/// planes (and the tensor-core kernel's filter boxes) land on one mbarrier past the planes. One thread `expect`s
/// the bytes and issues the boxes, the block synchronizes (the barrier initialized), then every thread `wait`s.
struct DirectTileBoxes {
  /// The barrier, past the tile's planes. Where to compute it is each kernel's trade (perf-notes v37): the
  /// tensor-core kernel holds it through the copies (computed again after the block's barrier, its params loads
  /// delayed every thread's wait: 4%), the depthwise kernels compute it again (held, it spilled at their 32 registers).
  __device__ static std::uint64_t* barrier(DirectConv2dParams const& params, float* smem) {
    return reinterpret_cast<std::uint64_t*>(smem + params.smem.plane_offset(params.tile.slices * params.group_in));
  }

  /// Initializes `landed` for one arrival, which expects `bytes`.
  __device__ static void expect(std::uint64_t* landed, std::uint32_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    cuda::ptx::mbarrier_init(landed, 1);
    cuda::ptx::fence_mbarrier_init(cuda::ptx::sem_release, cuda::ptx::scope_cluster);
    cuda::ptx::mbarrier_arrive_expect_tx(cuda::ptx::sem_release, cuda::ptx::scope_cta, cuda::ptx::space_shared, landed,
                                         bytes);
#else
    (void)landed, (void)bytes;
#endif
  }

  /// Issues the input box whose first plane is the tile's `local_plane` (slice slice0's plane 0 is the tensor's plane
  /// slice0 * group_in: plane (image, channel) = slice * group_in + channel within the group).
  __device__ static void copy_input(CUtensorMap const& map, DirectConv2dParams const& params, DirectBlock const& block,
                                    float* smem, int local_plane, std::uint64_t* landed) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    std::int32_t const coords[3] = {block.iw_base, block.ih_first, block.slice0 * params.group_in + local_plane};
    cuda::ptx::cp_async_bulk_tensor(cuda::ptx::space_cluster, cuda::ptx::space_global,
                                    smem + params.smem.plane_offset(local_plane), &map, coords, landed);
#else
    (void)map, (void)params, (void)block, (void)smem, (void)local_plane, (void)landed;
#endif
  }

  /// Returns once everything `expect`ed on `landed` has landed.
  __device__ static void wait(std::uint64_t* landed) { mbarrier_wait_parity(shared_address(landed), 0); }
};

/// @tparam kFilterH, kFilterW the filter size when fixed at compile time, for a unit row step (stride_h ==
///                            dilation_h == 1) only: with one output channel a thread (depthwise), taps in
///                            registers and a sliding window over the staged rows; with several, every loop but
///                            the one over input channels unrolled. 0 and 0 for any problem: sizes from the params,
///                            taps from shared memory, runtime loops.
///                            (A fixed-size depthwise kernel for other row steps, 36 unrolled loads for 3x3,
///                            spilled at the 32 registers of 8 blocks per SM, sm_90, CUDA 13.0.)
/// @tparam kChannels          output channels a thread computes: `DirectConvPolicy::channels_per_thread`; 1 only
///                            for one input channel a group, which the staged filter's order relies on
/// @tparam Epilogue           see `DirectKernelParams`
/// @tparam kTensorMaps        whether the copy engine stages the tile's input (TMA, sm_90: `DirectTensorMapParams`,
///                            one thread issuing one box of the tile's planes) instead of every thread's cp.async
///                            copies, a fifth of the depthwise kernels' instructions (perf-notes v36, v37); the few
///                            filter values are copied by cp.async either way. The fixed-size depthwise kernels
///                            only, the form measured.
template <int kFilterH, int kFilterW, int kChannels, class Epilogue, bool kTensorMaps = false> struct DirectConv2d {
  static_assert((kFilterH > 0) == (kFilterW > 0), "fix both filter sizes at compile time, or neither");
  static_assert(kChannels == 1 || kChannels % 4 == 0, "taps of several channels come in 16-byte loads");

  static constexpr int kThreads = DirectConvPolicy::kThreads;
  static constexpr int kRowsPerThread = DirectConvPolicy::rows_per_thread(kChannels);
  /// Taps of one (input channel, output channel) of a fixed-size kernel; 0 for the any-size kernel.
  static constexpr int kFixedTaps = kFilterH * kFilterW;
  /// Whether one output channel's taps live in registers: fixed size, one output channel a thread.
  static constexpr bool kTapsInRegisters = kFixedTaps > 0 && kChannels == 1;
  static constexpr int kMinBlocksPerSm = DirectConvPolicy::min_blocks_per_sm(kFixedTaps, kChannels);
  static_assert(!kTensorMaps || kTapsInRegisters, "the copy engine stages the fixed-size depthwise kernels only");

  using Params = std::conditional_t<kTensorMaps, DirectTensorMapParams<Epilogue>, DirectKernelParams<Epilogue>>;
  /// Shared memory a launch adds to the tiling's (`DirectSmemLayout`): with the copy engine's staging, its slack and
  /// barrier, and the filter region rounded up to whole 128-byte blocks (by the host, in `DirectSmemLayout::
  /// filter_floats`), so that the input box lands aligned.
  static constexpr int kExtraSmemBytes = kTensorMaps ? kDirectTensorMapSmemBytes + kDirectTensorMapAlignment : 0;

  __device__ void operator()(Params const& params, unsigned char* shared_bytes) const {
    int const thread = static_cast<int>(threadIdx.x);
    if constexpr (kTensorMaps) {
      // the host launches the copy engine's staging on sm_90 only (`DirectConv2d::uses_tensor_maps`)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
      DirectConv2dParams const& conv = params.direct.conv;
      float* smem = reinterpret_cast<float*>(aligned_shared_storage<kDirectTensorMapAlignment>(shared_bytes));
      DirectBlock const block = block_of(conv, static_cast<int>(blockIdx.x));
      if (thread == 0) {
        std::uint64_t* const landed = DirectTileBoxes::barrier(conv, smem);
        DirectTileBoxes::expect(landed, conv.tile.slices * conv.group_in * conv.smem.plane_floats() * sizeof(float));
        DirectTileBoxes::copy_input(params.input_map, conv, block, smem, 0, landed);
      }
      stage_filter(conv, block, thread, smem, DirectAsyncCopy{});
      cp_async_commit();
      cp_async_wait<0>();
      __syncthreads(); // every thread's filter copies, and the box's barrier initialized
      // the barrier's address computed again rather than held through the filter copies: held, it spilled at the
      // 32 registers of 8 blocks an SM (3x3: mobilenet_dw +3%, perf-notes v37)
      DirectTileBoxes::wait(DirectTileBoxes::barrier(conv, smem));
      compute(conv, block, thread, smem, params.direct.epilogue);
#endif
    } else {
      float* smem = reinterpret_cast<float*>(shared_bytes);
      DirectBlock const block = block_of(params.conv, static_cast<int>(blockIdx.x));
      stage(params.conv, block, thread, smem, DirectAsyncCopy{});
      cp_async_commit();
      cp_async_wait<0>();
      __syncthreads(); // every thread's copies are in shared memory
      compute(params.conv, block, thread, smem, params.epilogue);
    }
  }

  /// The tile of block `index` of the one-dimensional grid (see `DirectConv2dParams`).
  TILECONV_HOST_DEVICE static DirectBlock block_of(DirectConv2dParams const& params, int index) {
    int slice_row_tile = 0;
    int column_tile = 0;
    int slice_tile = 0;
    int row_tile = 0;
    params.column_tiles.divmod(index, slice_row_tile, column_tile);
    params.row_tiles.divmod(slice_row_tile, slice_tile, row_tile);
    DirectBlock block;
    block.slice0 = slice_tile * params.tile.slices;
    block.p0 = row_tile * params.tile.rows;
    block.q0 = column_tile * params.tile.columns;
    block.ih_first = block.p0 * params.stride_h - params.pad_h;
    int const iw_first = block.q0 * params.stride_w - params.pad_w;
    block.iw_base = iw_first & ~(DirectSmemLayout::kAlignFloats - 1); // two's complement: rounds toward -inf
    block.shift = iw_first - block.iw_base;
    return block;
  }

  /// Issues `thread`'s share of the block's copies into `smem` through `copy`: the staged input rows of every input
  /// plane of the tile's slices, zeros wherever they fall outside the image or past the last slice, and the slices'
  /// filters, zeros in the channel padding. Consecutive threads copy consecutive columns of a row, so a warp's
  /// copies coalesce.
  /// @tparam Copy `scalar(float* dst, float const* src, bool valid)` and `vector(...)` (4 floats); both write zeros
  ///              and read nothing when `valid` is false
  template <class Copy>
  TILECONV_HOST_DEVICE static void stage(DirectConv2dParams const& params, DirectBlock const& block, int thread,
                                         float* smem, Copy const& copy) {
    if (params.vectorized) {
      stage_input<DirectSmemLayout::kAlignFloats>(params, block, thread, smem, copy);
    } else {
      stage_input<1>(params, block, thread, smem, copy);
    }
    stage_filter(params, block, thread, smem, copy);
  }

  /// The filter half of `stage` (which the copy engine's staging of the input leaves to cp.async).
  template <class Copy>
  TILECONV_HOST_DEVICE static void stage_filter(DirectConv2dParams const& params, DirectBlock const& block, int thread,
                                                float* smem, Copy const& copy) {
    float* filter_smem = smem;
    int const filter_copies = params.tile.slices * params.smem.slice_filter;
    for (int index = thread; index < filter_copies; index += kThreads) {
      int local_slice = 0;
      int element = 0;
      params.slice_filter.divmod(index, local_slice, element);
      int const slice = block.slice0 + local_slice;
      // the filter is (out channel, in channel within the group, tap); group g's out channels start at g * group_out
      bool valid = slice < params.slices;
      std::int64_t offset = 0;
      if constexpr (kChannels == 1) {
        // one input channel a group: the slice's filter is the group's (out channel, tap) block, copied as it is
        offset = element;
      } else {
        int tap_row = 0; // in channel * taps + tap
        int channel = 0; // output channel within the group
        params.channel_pitch.divmod(element, tap_row, channel);
        valid = valid && channel < params.group_out;
        offset = std::int64_t{channel} * (params.group_in * params.smem.taps) + tap_row;
      }
      float const* src = params.filter;
      if (valid) {
        int const group = params.group_of(slice);
        src += std::int64_t{group} * params.group_out * (params.group_in * params.smem.taps) + offset;
      }
      copy.scalar(filter_smem + index, src, valid);
    }
  }

  /// Computes `thread`'s items from the staged tile and stores them through `epilogue`: item (slice, chunk, row
  /// group, column) is the kRowsPerThread outputs of one column for kChannels output channels of the slice;
  /// consecutive threads take consecutive columns, so the shared-memory loads of a warp hit consecutive banks
  /// (stride 1), its tap loads are broadcasts, and its stores coalesce.
  TILECONV_HOST_DEVICE static void compute(DirectConv2dParams const& params, DirectBlock const& block, int thread,
                                           float const* smem, Epilogue const& epilogue) {
    int const pitch = params.smem.pitch;
    Taps taps;
    int taps_chunk = -1; // the (local slice, chunk) `taps` holds: with one a block, loaded once
    for (int item = thread; item < params.items; item += kThreads) {
      int slice_chunk_group = 0;
      int column = 0;
      int slice_chunk = 0;
      int row_group = 0;
      int local_slice = 0;
      int chunk = 0;
      params.tile_columns.divmod(item, slice_chunk_group, column);
      params.row_group_count.divmod(slice_chunk_group, slice_chunk, row_group);
      params.chunks.divmod(slice_chunk, local_slice, chunk);
      int const slice = block.slice0 + local_slice;
      if (slice >= params.slices) {
        break; // later items only have larger slices
      }
      // the taps of (input channel 0, tap 0, the chunk's first output channel)
      float const* chunk_taps =
          smem + local_slice * params.smem.slice_filter + chunk * (kChannels == 1 ? params.smem.taps : kChannels);
      if (slice_chunk != taps_chunk) {
        taps.load(chunk_taps);
        taps_chunk = slice_chunk;
      }
      int const local_row = row_group * kRowsPerThread;
      // Outside the unit row step only the rows that exist are staged (see `DirectSmemLayout`), so rows from
      // `rows_left` on are neither computed nor stored.
      int const rows_left = params.out_h - (block.p0 + local_row);
      if (rows_left <= 0) {
        continue; // a row group of the last row tile wholly past out_h
      }
      // staged element of output (local_row, column), input channel 0, tap (0, 0)
      float const* window = smem + params.smem.plane_offset(local_slice * params.group_in) +
                            local_row * params.stride_h * pitch + block.shift + column * params.stride_w;
      float acc[kChannels][kRowsPerThread];
      TILECONV_UNROLL
      for (int j = 0; j < kChannels; ++j) {
        TILECONV_UNROLL
        for (int v = 0; v < kRowsPerThread; ++v) {
          acc[j][v] = 0.0f;
        }
      }
      if constexpr (kTapsInRegisters) {
        accumulate_sliding(window, pitch, params.dilation_w, taps, acc[0]);
      } else if constexpr (kFixedTaps > 0) {
        accumulate_unrolled(window, params, chunk_taps, acc);
      } else {
        accumulate_any(window, params, rows_left, chunk_taps, acc);
      }

      int const group = params.group_of(slice);
      int const q = block.q0 + column;
      TILECONV_UNROLL
      for (int j = 0; j < kChannels; ++j) {
        int const channel_in_group = chunk * kChannels + j;
        if (channel_in_group >= params.group_out) {
          break; // the channel padding of the last chunk
        }
        int const channel = group * params.group_out + channel_in_group;
        float const bias = params.bias != nullptr ? params.bias[channel] : 0.0f;
        // output plane (image, channel) = slice * group_out + channel_in_group
        std::int64_t const plane_offset =
            (std::int64_t{slice} * params.group_out + channel_in_group) * params.out_plane;
        TILECONV_UNROLL
        for (int v = 0; v < kRowsPerThread; ++v) {
          int const p = block.p0 + local_row + v;
          // rows past out_h in the last row tile, columns past out_w in the last column tile: computed from staged
          // zeros or halo, never stored
          if (p < params.out_h && q < params.out_w) {
            std::int64_t const offset = plane_offset + std::int64_t{p} * params.out_w + q;
            params.output[offset] = epilogue(acc[j][v] + bias, OutputCoord{channel, offset});
          }
        }
      }
    }
  }

private:
  /// The filter of one channel in registers where `kTapsInRegisters`; nothing otherwise (read from shared memory).
  struct Taps {
    static constexpr int kCount = kTapsInRegisters ? kFixedTaps : 1;
    float value[kCount];
    TILECONV_HOST_DEVICE void load(float const* taps) {
      if constexpr (kTapsInRegisters) {
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
  TILECONV_HOST_DEVICE static void stage_input(DirectConv2dParams const& params, DirectBlock const& block, int thread,
                                               float* smem, Copy const& copy) {
    int const plane0 = block.slice0 * params.group_in; // the tile's first input plane; its planes are consecutive
    for (int index = thread; index < params.copies; index += kThreads) {
      int plane_row = 0;
      int chunk = 0;
      int local_plane = 0;
      int row = 0;
      params.row_copies.divmod(index, plane_row, chunk);
      params.staged_rows.divmod(plane_row, local_plane, row);
      int const plane = plane0 + local_plane;
      int const ih = block.ih_first + row;
      int const iw = block.iw_base + chunk * kWidth;
      // With kWidth 4, iw and in_w are multiples of 4: the group is wholly inside the image or wholly outside.
      bool const valid =
          plane < params.in_planes && ih >= 0 && ih < params.in_h && iw >= 0 && iw + kWidth <= params.in_w;
      float const* src = params.input;
      if (valid) {
        src += std::int64_t{plane} * params.in_plane + std::int64_t{ih} * params.in_w + iw;
      }
      float* dst = smem + params.smem.plane_offset(local_plane) + row * params.smem.pitch + chunk * kWidth;
      if constexpr (kWidth == 1) {
        copy.scalar(dst, src, valid);
      } else {
        copy.vector(dst, src, valid);
      }
    }
  }

  /// Unit row step, fixed filter, one input plane: staged row i of the window feeds output v through filter row
  /// r = i - v, so each of the kRowsPerThread + R - 1 rows is loaded once for all the outputs it meets.
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

  /// Unit row step, fixed filter, several output channels a thread: per input channel and filter row, the
  /// kRowsPerThread x S inputs the row meets come into registers, then each tap's kChannels taps (16-byte loads) feed
  /// kRowsPerThread x kChannels FMAs. Unrolled but for the input channels: the any-size loops spent as many
  /// instructions on addresses, counters and row guards as on FMAs (ncu, H100, resnext_g32_c256_28); unrolled, the
  /// loop body is 288 FFMA, 18 LDS (the compiler loads each of a channel's 6 x 3 inputs once) and 18 LDS.128 for 3x3
  /// and 8 channels, with ~60 other instructions.
  TILECONV_HOST_DEVICE static void accumulate_unrolled(float const* window, DirectConv2dParams const& params,
                                                       float const* taps, float (&acc)[kChannels][kRowsPerThread]) {
    int const pitch = params.smem.pitch;
    int const dilation_w = params.dilation_w;
    for (int c = 0; c < params.group_in; ++c) {
      float const* plane = window + c * params.smem.plane_floats();
      float const* channel_taps = taps + c * kFixedTaps * params.smem.channel_pitch;
      TILECONV_UNROLL
      for (int r = 0; r < kFilterH; ++r) {
        float x[kRowsPerThread][kFilterW];
        TILECONV_UNROLL
        for (int v = 0; v < kRowsPerThread; ++v) {
          TILECONV_UNROLL
          for (int s = 0; s < kFilterW; ++s) {
            x[v][s] = plane[(v + r) * pitch + s * dilation_w];
          }
        }
        TILECONV_UNROLL
        for (int s = 0; s < kFilterW; ++s) {
          float w[kChannels];
          load_taps(channel_taps + (r * kFilterW + s) * tap_stride(params.smem), w);
          TILECONV_UNROLL
          for (int v = 0; v < kRowsPerThread; ++v) {
            TILECONV_UNROLL
            for (int j = 0; j < kChannels; ++j) {
              acc[j][v] = fmaf(x[v][s], w[j], acc[j][v]);
            }
          }
        }
      }
    }
  }

  /// Any filter size, stride, dilation and number of input channels; the taps of the kChannels output channels of
  /// each (input channel, tap) read from shared memory (the same address across a warp wherever its threads share a
  /// slice and chunk: a broadcast), 16 bytes at a time where kChannels allows.
  TILECONV_HOST_DEVICE static void accumulate_any(float const* window, DirectConv2dParams const& params, int rows_left,
                                                  float const* taps, float (&acc)[kChannels][kRowsPerThread]) {
    int const rows = rows_left < kRowsPerThread ? rows_left : kRowsPerThread;
    int const pitch = params.smem.pitch;
    int const row_step = params.stride_h * pitch;
    for (int c = 0; c < params.group_in; ++c) {
      float const* plane = window + c * params.smem.plane_floats();
      float const* channel_taps = taps + c * params.smem.taps * params.smem.channel_pitch;
      for (int r = 0; r < params.filter_h; ++r) {
        for (int s = 0; s < params.filter_w; ++s) {
          float w[kChannels];
          load_taps(channel_taps + (r * params.filter_w + s) * tap_stride(params.smem), w);
          float const* column = plane + r * params.dilation_h * pitch + s * params.dilation_w;
          TILECONV_UNROLL
          for (int v = 0; v < kRowsPerThread; ++v) {
            if (v < rows) {
              float const x = column[v * row_step];
              TILECONV_UNROLL
              for (int j = 0; j < kChannels; ++j) {
                acc[j][v] = fmaf(x, w[j], acc[j][v]);
              }
            }
          }
        }
      }
    }
  }

  /// Floats between the taps of consecutive (r, s) of one output channel in a slice's staged filter (see
  /// `DirectSmemLayout`).
  TILECONV_HOST_DEVICE static int tap_stride(DirectSmemLayout const& smem) {
    return kChannels == 1 ? 1 : smem.channel_pitch;
  }

  /// kChannels consecutive taps from shared memory: 16-byte loads on the device (the layout keeps them 16-byte
  /// aligned for kChannels a multiple of 4), one float at a time on the host.
  TILECONV_HOST_DEVICE static void load_taps(float const* taps, float (&w)[kChannels]) {
#if defined(__CUDA_ARCH__)
    constexpr bool kQuads = kChannels % 4 == 0;
#else
    constexpr bool kQuads = false;
#endif
    if constexpr (kQuads) {
      TILECONV_UNROLL
      for (int j = 0; j < kChannels; j += 4) {
        float4 const quad = *reinterpret_cast<float4 const*>(taps + j);
        w[j] = quad.x;
        w[j + 1] = quad.y;
        w[j + 2] = quad.z;
        w[j + 3] = quad.w;
      }
    } else {
      TILECONV_UNROLL
      for (int j = 0; j < kChannels; ++j) {
        w[j] = taps[j];
      }
    }
  }
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

/// The __global__ entry of the direct conv: like `conv2d_kernel`, but with the functor's blocks-per-SM target
/// in the launch bounds, which caps the registers so that enough blocks stay resident to keep DRAM busy. The
/// target is capped by what the compiled architecture can hold (6 blocks of 256 threads on the 4090). The parameters
/// are `__grid_constant__`: the copy engine reads a TMA descriptor among them where it lies (`DirectMmaConv2d`).
/// @tparam Functor a `DirectConv2d` or `DirectMmaConv2d`
template <class Functor, class Params>
__global__ void __launch_bounds__(Functor::kThreads,
                                  compiled_min_blocks_per_sm(Functor::kMinBlocksPerSm, Functor::kThreads))
    direct_conv2d_kernel(__grid_constant__ Params const params) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  // cp.async needs sm_80; the host refuses older devices, so older targets compile to an empty body.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  Functor{}(params, shared_bytes);
#endif
}

} // namespace detail
} // namespace tileconv
