#pragma once

/// \file direct_mma_conv2d.cuh
/// The direct conv2d of 3x3 groups of 8 -> 8 channels at unit stride and dilation (ResNeXt-50's 28 x 28 stage) on
/// TF32 tensor cores: one mma.sync m16n8k8 a filter tap for 16 output pixels x the group's 8 output channels (n) x
/// its 8 input channels (k). A block stages its tile as the FP32 direct kernel of 8 channels a thread does
/// (`DirectConv2d::stage`: the input planes of its slices with their halo, the filters as (input channel, tap, output
/// channel)), or on an H100/H200 through the copy engine (`kTensorMaps`: the same planes, the filters in their global
/// order). Then each warp takes 16-pixel runs of a slice's tile in turn, row-major over the tile's columns: per tap
/// it loads its A fragment from the staged planes (pixels g and g + 8 of the run at input channels t and t + 4, g =
/// lane / 4, t = lane % 4) and takes its B fragment (input channels t and t + 4 x output channel g) from registers,
/// loaded once a slice; both rounded to TF32 (cvt.rna): the staged planes once in place, the filter as it is loaded. It
/// stores its accumulators (pixels g and g + 8 x output channels 2t and 2t + 1) through the epilogue.
///
/// Why: the FP32 kernel spends 72 FFMA an output here and is bound by instruction issue (perf-notes v11: 31 M warp
/// instructions on resnext_g32_c256_28, 20 M of them FFMA); one mma does a run's 16 x 8 x 8 products for 4 shared
/// loads a thread. TF32, as the implicit GEMM and cuDNN's TF32 mode: relative errors near 3e-4.
///
/// Only exactly 8 -> 8 (`DirectConvPolicy::uses_mma`): a smaller group would need zeros for its absent channels in
/// A and B (staged garbage times a zero weight can be a NaN), and each such select per load measured as costly as the
/// load itself (perf-notes v32).

#include <tileconv/config.cuh>
#include <tileconv/device/direct_conv2d.cuh>
#include <tileconv/device/ptx.cuh>
#include <tileconv/device/shared_storage.cuh>
#include <tileconv/epilogue/output_coord.cuh>

#include <cuda/ptx>

#include <cstdint>
#include <type_traits>

namespace tileconv {
namespace detail {

/// @tparam Epilogue    see `DirectKernelParams`
/// @tparam kTensorMaps whether the copy engine stages the tile (TMA, sm_90: `DirectTensorMapParams`; one thread
///                     issues a box a slice for the input, the group's 8 planes, and one for the filter) instead of
///                     every thread's cp.async copies (`DirectConv2d::stage`, whose index math and bounds were a third
///                     of this kernel's instructions: perf-notes v34)
template <class Epilogue, bool kTensorMaps> struct DirectMmaConv2d {
  /// An m16n8k8's n and k: the group's output and input channels.
  static constexpr int kChannels = DirectConvPolicy::kMmaGroupChannels;
  static_assert(kChannels == 8, "one m16n8k8 a tap: 8 output (n) and 8 input (k) channels");
  /// An m16n8k8's m: output pixels a run.
  static constexpr int kRunPixels = 16;
  static constexpr int kFilterSize = 3;
  static constexpr int kTaps = kFilterSize * kFilterSize;
  static constexpr int kThreads = DirectConvPolicy::kThreads;
  static constexpr int kWarps = kThreads / 32;
  /// 18 B fragments, 4 A and 4 accumulators a thread: the FP32 kernel's budget of 8 channels a thread.
  static constexpr int kMinBlocksPerSm = DirectConvPolicy::min_blocks_per_sm(kTaps, kChannels);

  /// The FP32 kernel whose staging and tiles this kernel shares.
  using Staging = DirectConv2d<kFilterSize, kFilterSize, kChannels, Epilogue>;

  using Params = std::conditional_t<kTensorMaps, DirectTensorMapParams<Epilogue>, DirectKernelParams<Epilogue>>;
  /// With the copy engine's staging the storage is aligned for its boxes; a slice's filter is whole 128-byte blocks,
  /// so the input planes after the filters are too.
  static constexpr int kSmemAlignment = kTensorMaps ? kDirectTensorMapAlignment : 16;
  static_assert(kChannels * kTaps * kChannels * sizeof(float) % kDirectTensorMapAlignment == 0,
                "a slice's filter: whole 128-byte blocks");
  /// Bytes a launch adds to the tiling's shared memory: the alignment slack and the boxes' mbarrier.
  static constexpr int kExtraSmemBytes = kTensorMaps ? kDirectTensorMapSmemBytes : 0;

  __device__ void operator()(Params const& params, unsigned char* shared_bytes) const {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
    if constexpr (kTensorMaps) {
      return; // the host launches the copy engine's staging on sm_90 only (`DirectConv2d::uses_tensor_maps`)
    }
#endif
    DirectKernelParams<Epilogue> const& direct = direct_params(params);
    float* smem = reinterpret_cast<float*>(aligned_shared_storage<kSmemAlignment>(shared_bytes));
    DirectBlock const block = Staging::block_of(direct.conv, static_cast<int>(blockIdx.x));
    stage(params, block, smem);
    round_input_to_tf32(direct.conv, block, smem);
    __syncthreads(); // every staged value rounded before a fragment loads it
    compute(direct, block, smem);
  }

private:
  __device__ static DirectKernelParams<Epilogue> const& direct_params(Params const& params) {
    if constexpr (kTensorMaps) {
      return params.direct;
    } else {
      return params;
    }
  }

  /// Stages the block's tile (the input planes of its slices, halo and padding included, and their filters) and
  /// returns once it is in shared memory for every thread.
  __device__ static void stage(Params const& params, DirectBlock const& block, float* smem) {
    if constexpr (kTensorMaps) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
      DirectConv2dParams const& conv = params.direct.conv;
      int const slices = min(conv.tile.slices, conv.slices - block.slice0);
      std::uint64_t* const landed = DirectTileBoxes::barrier(conv, smem);
      if (threadIdx.x == 0) {
        std::uint32_t const slice_bytes =
            (kChannels * conv.smem.plane_floats() + kChannels * kTaps * kChannels) * sizeof(float);
        DirectTileBoxes::expect(landed, slices * slice_bytes);
        for (int local_slice = 0; local_slice < slices; ++local_slice) {
          int const slice = block.slice0 + local_slice;
          int const group = conv.group_of(slice);
          DirectTileBoxes::copy_input(params.input_map, conv, block, smem, local_slice * kChannels, landed);
          std::int32_t const filter_coords[2] = {0, group * kChannels};
          cuda::ptx::cp_async_bulk_tensor(cuda::ptx::space_cluster, cuda::ptx::space_global,
                                          smem + local_slice * conv.smem.slice_filter, &params.filter_map,
                                          filter_coords, landed);
        }
      }
      __syncthreads(); // the barrier initialized before anyone waits on it
      DirectTileBoxes::wait(landed);
#endif
    } else {
      Staging::stage(params.conv, block, static_cast<int>(threadIdx.x), smem, DirectAsyncCopy{});
      cp_async_commit();
      cp_async_wait<0>();
      __syncthreads(); // every thread's copies are in shared memory
    }
  }

  /// Rounds the staged input planes to TF32 in place (cvt.rna, 16 bytes a thread at a time): once a staged value
  /// instead of at each of the up to 9 A fragments that load it. On sm_90 a cvt.rna is two instructions (an inf/NaN
  /// test and an add), and the kernel is bound by instruction issue (perf-notes v32).
  __device__ static void round_input_to_tf32(DirectConv2dParams const& params, DirectBlock const& block, float* smem) {
    // the planes start and end at multiples of 4 floats (`DirectSmemLayout`)
    float4* const quads = reinterpret_cast<float4*>(smem + params.smem.plane_offset(0));
    int const slices = min(params.tile.slices, params.slices - block.slice0);
    int const count = slices * kChannels * params.smem.plane_floats() / 4;
    for (int i = static_cast<int>(threadIdx.x); i < count; i += kThreads) {
      float4 value = quads[i];
      value.x = round_to_tf32(value.x);
      value.y = round_to_tf32(value.y);
      value.z = round_to_tf32(value.z);
      value.w = round_to_tf32(value.w);
      quads[i] = value;
    }
  }

  __device__ static void compute(DirectKernelParams<Epilogue> const& kernel_params, DirectBlock const& block,
                                 float const* smem) {
    DirectConv2dParams const& params = kernel_params.conv;
    int const lane = static_cast<int>(threadIdx.x) % 32;
    int const warp = static_cast<int>(threadIdx.x) / 32;
    int const g = lane / 4; // the fragments' row group: pixels g and g + 8 of a run, output channel g of B
    int const t = lane % 4; // the thread in the group: input channels t and t + 4, output channels 2t and 2t + 1
    // rows of the tile that exist; a run's pixels past them, or past out_w in the last column tile, are computed
    // from the tile's first pixel and not stored
    int const rows = min(params.tile.rows, params.out_h - block.p0);
    int const runs = (rows * params.tile.columns + kRunPixels - 1) / kRunPixels;
    int const slices = min(params.tile.slices, params.slices - block.slice0);
    int const plane_floats = params.smem.plane_floats();
    int const pitch = params.smem.pitch;
    // a slice's staged filter: the copy engine's box is the filter's own (output channel, input channel, tap); the
    // cp.async staging transposes it to (input channel, tap, output channel) for the FP32 kernel's 16-byte tap loads
    constexpr int kInputChannelStride = kTensorMaps ? kTaps : kTaps * kChannels;
    constexpr int kTapStride = kTensorMaps ? 1 : kChannels;
    constexpr int kOutputChannelStride = kTensorMaps ? kChannels * kTaps : 1;

    for (int local_slice = 0; local_slice < slices; ++local_slice) {
      float const* filter = smem + local_slice * params.smem.slice_filter + g * kOutputChannelStride;
      std::uint32_t b[kTaps][2]; // k = input channels t and t + 4, n = output channel g
      TILECONV_UNROLL
      for (int tap = 0; tap < kTaps; ++tap) {
        b[tap][0] = to_tf32(filter[t * kInputChannelStride + tap * kTapStride]);
        b[tap][1] = to_tf32(filter[(t + 4) * kInputChannelStride + tap * kTapStride]);
      }
      // unit steps (the host's condition): staged row and column of tap (r, s) = output row + r, column + s
      float const* planes = smem + params.smem.plane_offset(local_slice * kChannels) + block.shift + t * plane_floats;
      int const slice = block.slice0 + local_slice;
      int const group = params.group_of(slice);
      float bias[2] = {0.0f, 0.0f};
      if (params.bias != nullptr) {
        bias[0] = params.bias[group * kChannels + 2 * t];
        bias[1] = params.bias[group * kChannels + 2 * t + 1];
      }

      for (int run = warp; run < runs; run += kWarps) {
        Pixel const low = pixel_of(params, block, run * kRunPixels + g, rows);
        Pixel const high = pixel_of(params, block, run * kRunPixels + g + 8, rows);
        float const* low_input = planes + low.row * pitch + low.column;
        float const* high_input = planes + high.row * pitch + high.column;
        int const high_channels = 4 * plane_floats; // input channel t + 4

        float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        TILECONV_UNROLL
        for (int r = 0; r < kFilterSize; ++r) {
          TILECONV_UNROLL
          for (int s = 0; s < kFilterSize; ++s) {
            int const offset = r * pitch + s;
            std::uint32_t const a[4] = {__float_as_uint(low_input[offset]), __float_as_uint(high_input[offset]),
                                        __float_as_uint(low_input[offset + high_channels]),
                                        __float_as_uint(high_input[offset + high_channels])};
            mma_tf32_m16n8k8(acc, a, b[r * kFilterSize + s]);
          }
        }
        store(kernel_params, block, slice, group, t, low, acc[0] + bias[0], acc[1] + bias[1]);
        store(kernel_params, block, slice, group, t, high, acc[2] + bias[0], acc[3] + bias[1]);
      }
    }
  }

  /// A lane's output pixel of a run, within the tile.
  struct Pixel {
    int row = 0;
    int column = 0;
    bool stored = false;
  };

  /// Pixel `index` of the tile's rows x tile.columns, row-major; one past the tile's existing rows or columns is
  /// computed from its first pixel and not stored.
  __device__ static Pixel pixel_of(DirectConv2dParams const& params, DirectBlock const& block, int index, int rows) {
    Pixel pixel;
    params.tile_columns.divmod(index, pixel.row, pixel.column);
    pixel.stored = pixel.row < rows && block.q0 + pixel.column < params.out_w;
    if (!pixel.stored) {
      pixel.row = 0;
      pixel.column = 0;
    }
    return pixel;
  }

  /// Output channels 2t and 2t + 1 of the slice's group at `pixel`, bias added, if the pixel is stored.
  __device__ static void store(DirectKernelParams<Epilogue> const& kernel_params, DirectBlock const& block, int slice,
                               int group, int t, Pixel const& pixel, float first, float second) {
    if (!pixel.stored) {
      return;
    }
    DirectConv2dParams const& params = kernel_params.conv;
    std::int64_t const offset_in_plane = std::int64_t{block.p0 + pixel.row} * params.out_w + (block.q0 + pixel.column);
    float const values[2] = {first, second};
    TILECONV_UNROLL
    for (int j = 0; j < 2; ++j) {
      int const in_group = 2 * t + j;
      // output plane (image, channel) = slice * group_out + in_group
      std::int64_t const offset = (std::int64_t{slice} * kChannels + in_group) * params.out_plane + offset_in_plane;
      params.output[offset] = kernel_params.epilogue(values[j], OutputCoord{group * kChannels + in_group, offset});
    }
  }
};

} // namespace detail
} // namespace tileconv
