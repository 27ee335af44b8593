#pragma once

/// \file conv2d.cuh
/// The host launcher: validate, plan, launch on the caller's stream. No allocation, no synchronization.

#include <tileconv/device/channels_last_copy.cuh>
#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/filter_reorder.cuh>
#include <tileconv/device/implicit_gemm_conv2d.cuh>
#include <tileconv/device/kernel.cuh>
#include <tileconv/device/split_k_reduce.cuh>
#include <tileconv/device/warp_specialized_conv2d.cuh>
#include <tileconv/device_info.cuh>
#include <tileconv/epilogue/epilogue_chain.cuh>
#include <tileconv/host/check_arguments.cuh>
#include <tileconv/host/direct_conv2d.cuh>
#include <tileconv/host/im2col_tensor_map.cuh>
#include <tileconv/host/kernel_choice.cuh>
#include <tileconv/host/launch_plan.cuh>
#include <tileconv/host/plane_box_tensor_map.cuh>
#include <tileconv/host/policy_table.cuh>
#include <tileconv/policy/default_policies.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tileconv {

namespace detail {

/// Blocks of the split-K reduction: 256 pixels by up to 65535 (image, channel) planes, grid-striding beyond.
inline dim3 split_k_reduce_grid(Conv2dProblem const& problem) {
  std::int64_t const planes = std::int64_t{problem.batch} * problem.out_channels;
  int const pixel_blocks = (problem.gemm_n() + 255) / 256;
  return dim3(static_cast<unsigned>(pixel_blocks), static_cast<unsigned>(planes < 65535 ? planes : 65535), 1);
}

} // namespace detail

/// The implicit-GEMM conv2d with a fixed tile policy.
/// @tparam Policy  a `TilePolicy` (or a struct with the same members)
/// @tparam kGather the reduction order and gather; kAuto picks per problem (see `GatherKind`)
template <class Policy, GatherKind kGather = GatherKind::kAuto> class Conv2d {
  static_assert(kGather != GatherKind::kChannelsLast || Policy::kWarpSpecialized,
                "the channels-last gather is the warp-specialized policies' alone");
  static_assert(kGather != GatherKind::kChannelTiled || !detail::channels_last_only<Policy>(),
                "this warp-specialized policy has the channels-last gather alone");
  static_assert(!detail::copies_plane_boxes(kGather) || detail::has_plane_box_gathers<Policy>(),
                "the pointwise and tap-shifted gathers are the warp-specialized policies' whose consumer warpgroups "
                "own 128-pixel multiples");
  /// Whether the launch reads the input's channels-last copy: kGather kChannelsLast, or kAuto on a policy that has
  /// no other gather.
  static constexpr bool kReadsChannelsLast =
      kGather == GatherKind::kChannelsLast || (kGather == GatherKind::kAuto && detail::channels_last_only<Policy>());
  /// Whether the launch cannot run without the filter's tile image in the workspace: the channels-last and
  /// tap-shifted gathers, whose single producer thread copies each filter stage from it.
  static constexpr bool kNeedsFilterImage = kReadsChannelsLast || kGather == GatherKind::kTapShifted;

public:
  /// The gather `problem` runs with: kGather, or for kAuto the channel-tiled one wherever it applies (its
  /// channels-last form on a policy that has no other).
  static constexpr GatherKind gather_for(Conv2dProblem const& problem) {
    if constexpr (kGather != GatherKind::kAuto) {
      return kGather;
    } else if (!channel_tiled_applies(problem)) {
      return GatherKind::kAnalytic;
    } else {
      return kReadsChannelsLast ? GatherKind::kChannelsLast : GatherKind::kChannelTiled;
    }
  }

  /// Workspace bytes of the fastest launch with `split_k` splits: the filter reordered for the channel-tiled
  /// gather (see device/filter_reorder.cuh), for the channels-last gather the input's channels-last copy, then, with
  /// split_k > 1, one float per output element and split. Less still runs (`workspace_used`), except with the
  /// channels-last and tap-shifted gathers, which need all of it. The pointwise gather needs none: it reads the filter
  /// as given.
  static constexpr std::size_t workspace_size(Conv2dProblem const& problem, int split_k) {
    return reordered_filter_bytes(problem) + channels_last_bytes(problem) + partials_bytes(problem, split_k);
  }

  /// The workspace a call of `args` uses: all of `workspace_size` where it fits (and always with the channels-last and
  /// tap-shifted gathers), else only the partial sums, the filter then read in place.
  static constexpr std::size_t workspace_used(Conv2dArguments const& args, int split_k) {
    std::size_t const available = args.workspace != nullptr ? args.workspace_bytes : 0;
    std::size_t const fastest = workspace_size(args.problem, split_k);
    return kNeedsFilterImage || available >= fastest ? fastest : partials_bytes(args.problem, split_k);
  }

  /// The workspace split-K cannot run without: split_k floats per output element, 0 for one split.
  static constexpr std::size_t partials_bytes(Conv2dProblem const& problem, int split_k) {
    return split_k_workspace_bytes(problem, split_k);
  }

  /// `check_arguments`, the workspace, then `make_launch_plan<Policy>` and the gather's own condition: every
  /// reason this call would not launch, without CUDA calls. The pointwise gather also needs the input, the filter and
  /// the output 16-byte aligned, the tap-shifted one the input, the output and the workspace (kErrorMisalignedPointer).
  static Status can_implement(Conv2dArguments const& args, DeviceInfo const& device, int split_k = 1) {
    Status status = check_arguments(args);
    if (status != Status::kSuccess) {
      return status;
    }
    if ((kGather == GatherKind::kPointwise && !detail::pointwise_aligned(args.input, args.filter, args.output)) ||
        (kGather == GatherKind::kTapShifted && !detail::tap_shifted_aligned(args.input, args.output, args.workspace))) {
      return Status::kErrorMisalignedPointer;
    }
    if (split_k < 1) {
      return Status::kErrorInvalidSplitK;
    }
    status = check_workspace(args, workspace_used(args, split_k));
    if (status != Status::kSuccess) {
      return status;
    }
    LaunchPlan plan;
    return plan_without_runtime(args.problem, device, split_k, &plan);
  }

  /// The plan with the occupancy API's blocks per SM, which counts the compiled kernel's registers.
  static Status plan(Conv2dProblem const& problem, DeviceInfo const& device, LaunchPlan* plan,
                     cudaError_t* cuda_error = nullptr, int split_k = 1) {
    if (split_k < 1) {
      return Status::kErrorInvalidSplitK;
    }
    Status status = plan_without_runtime(problem, device, split_k, plan);
    if (status == Status::kSuccess) {
      status = detail::pending_cuda_error(cuda_error);
    }
    if (status != Status::kSuccess) {
      return status;
    }
    return with_gather(plan->gather, [&](auto kind) {
      constexpr GatherKind kKind = decltype(kind)::value;
      Status const prepared = prepare_kernel<kKind, IdentityEpilogue>(cuda_error);
      if (prepared != Status::kSuccess) {
        return prepared;
      }
      int blocks_per_sm = 0;
      cudaError_t const error = cudaOccupancyMaxActiveBlocksPerMultiprocessor(
          &blocks_per_sm, kernel<kKind, IdentityEpilogue>(), Policy::kThreads, Policy::kSmemBytes);
      if (error != cudaSuccess) {
        return detail::own_cuda_call(error, cuda_error);
      }
      plan->blocks_per_sm = blocks_per_sm;
      plan->occupancy_from_runtime = true;
      return Status::kSuccess;
    });
  }

  /// Validates, then launches on `stream`: `output = epilogue(conv + bias)`, reduced in `split_k` slices of the
  /// reduction (split_k > 1 needs `args.workspace`, see `workspace_size`, and adds a reduction kernel). Returns
  /// without launching on any error; on `kErrorCudaRuntime` and the other CUDA-derived codes, `*cuda_error` (if
  /// given) holds the runtime's error.
  template <class Epilogue, class = std::enable_if_t<is_epilogue_v<Epilogue>>>
  static Status run(Conv2dArguments const& args, Epilogue const& epilogue, DeviceInfo const& device,
                    cudaStream_t stream = nullptr, cudaError_t* cuda_error = nullptr, int split_k = 1) {
    Status status = can_implement(args, device, split_k);
    if (status == Status::kSuccess) {
      status = check_epilogue(epilogue, args);
    }
    if (status == Status::kSuccess) {
      status = detail::pending_cuda_error(cuda_error);
    }
    if (status != Status::kSuccess) {
      return status;
    }
    LaunchPlan plan;
    plan_without_runtime(args.problem, device, split_k, &plan);
    return with_gather(plan.gather, [&](auto kind) {
      constexpr GatherKind kKind = decltype(kind)::value;
      Status const prepared = prepare_kernel<kKind, Epilogue>(cuda_error);
      if (prepared != Status::kSuccess) {
        return prepared;
      }
      detail::Conv2dKernelParams<Epilogue> params{detail::Conv2dParams::make(args, Policy::BLOCK_R, split_k), epilogue};
      if constexpr (detail::copies_plane_boxes(kKind)) { // its copies read the input, the pointwise's the filter too
        Status const encoded = detail::encode_plane_box_maps(
            args.problem, kKind, args.input, args.filter, Policy::BLOCK_OC, &params.conv.activation_map,
            &params.conv.filter_map, &params.conv.halo_map, cuda_error);
        if (encoded != Status::kSuccess) {
          return encoded;
        }
        params.conv.plane_boxes = detail::FastDivmod(static_cast<int>(detail::output_plane_boxes(args.problem)));
      }
      // workspace: [reordered filter, when it fits][channels-last input][split-K partials]; the first two from the
      // first 16-byte boundary with the channels-last gather, which reads both 16 bytes at a time
      std::size_t const filter_bytes = reordered_filter_bytes(args.problem);
      if (filter_bytes > 0 && workspace_used(args, split_k) > partials_bytes(args.problem, split_k)) {
        unsigned char* const start = static_cast<unsigned char*>(args.workspace);
        unsigned char* workspace = start;
        if constexpr (kKind == GatherKind::kChannelsLast) {
          workspace += (16 - reinterpret_cast<std::uintptr_t>(workspace) % 16) % 16;
        }
        bool const aligned_16 = reinterpret_cast<std::uintptr_t>(workspace) % 16 == 0;
        // a tile image is read by bulk copies, which need 16-byte alignment
        bool const tile_image = Policy::kWarpSpecialized && aligned_16;
        if constexpr (kKind == GatherKind::kChannelsLast) {
          float* const nhwc = reinterpret_cast<float*>(workspace + filter_bytes);
          Status prepared =
              detail::encode_im2col_map(args.problem, nhwc, Policy::BLOCK_OW, &params.conv.activation_map, cuda_error);
          if (prepared == Status::kSuccess) {
            prepared = prepare_channels_last(args, workspace, nhwc, stream, cuda_error);
          }
          if (prepared != Status::kSuccess) {
            return prepared;
          }
          params.conv.input = nhwc;
        } else {
          Status const reordered = reorder_filter(args, workspace, tile_image, stream, cuda_error);
          if (reordered != Status::kSuccess) {
            return reordered;
          }
        }
        params.conv.filter = reinterpret_cast<float const*>(workspace);
        params.conv.filter_tile_image = tile_image;
        params.conv.filter_reordered = !tile_image && reorders_filter(args.problem);
        params.conv.filter_vector_copies = params.conv.filter_reordered && aligned_16;
        if (split_k > 1) {
          params.conv.partials = reinterpret_cast<float*>(start + filter_bytes + channels_last_bytes(args.problem));
        }
      }
      dim3 grid = plan.grid;
      if constexpr (Functor<kKind, Epilogue>::kPersistent) {
        // as many blocks as fit at once, each walking its share of the plan's tiles (fewer than 2^31: the plan)
        grid = plan.persistent_grid();
        params.conv.tiles_x = detail::FastDivmod(static_cast<int>(plan.grid.x));
        params.conv.tiles_y = detail::FastDivmod(static_cast<int>(plan.grid.y));
        params.conv.tiles = static_cast<int>(plan.blocks());
      }
      kernel<kKind, Epilogue>()<<<grid, Policy::kThreads, Policy::kSmemBytes, stream>>>(params);
      Status launched = detail::status_from_cuda(cudaGetLastError(), cuda_error);
      if (launched != Status::kSuccess || split_k == 1) {
        return launched;
      }
      using Reduce = detail::SplitKReduce<Epilogue>;
      typename Reduce::Params const reduce{params.conv, epilogue, args.problem.out_channels,
                                           std::int64_t{args.problem.batch} * args.problem.out_channels};
      detail::conv2d_kernel<Reduce, typename Reduce::Params>
          <<<detail::split_k_reduce_grid(args.problem), Reduce::kThreads, 0, stream>>>(reduce);
      return detail::status_from_cuda(cudaGetLastError(), cuda_error);
    });
  }

  /// `run` without an epilogue: `output = conv + bias`, no split-K.
  static Status run(Conv2dArguments const& args, DeviceInfo const& device, cudaStream_t stream = nullptr,
                    cudaError_t* cuda_error = nullptr) {
    return run(args, IdentityEpilogue{}, device, stream, cuda_error);
  }

private:
  template <GatherKind kKind> using Kind = std::integral_constant<GatherKind, kKind>;

  static constexpr bool channel_tiled_applies(Conv2dProblem const& problem) {
    return problem.in_channels_per_group() % Policy::BLOCK_R == 0;
  }

  /// Whether the gather of `problem` is the channel-tiled one (or its channels-last form), which reads the filter
  /// reordered.
  static constexpr bool reorders_filter(Conv2dProblem const& problem) {
    return gather_for(problem) != GatherKind::kAnalytic && channel_tiled_applies(problem);
  }

  /// Bytes of the input's channels-last copy in the workspace with the channels-last gather, else 0.
  static constexpr std::size_t channels_last_bytes(Conv2dProblem const& problem) {
    return kReadsChannelsLast ? detail::channels_last_copy_bytes(problem) : 0;
  }

  /// The parameters of a warp-specialized policy's filter tile image of `args.filter` at `workspace`.
  static auto filter_image_params(Conv2dArguments const& args, unsigned char* workspace) {
    Conv2dProblem const& problem = args.problem;
    return detail::FilterTileImage<Policy::BLOCK_OC>::make(args.filter, reinterpret_cast<float*>(workspace),
                                                           problem.groups, problem.gemm_m(), problem.gemm_k(),
                                                           problem.filter_h * problem.filter_w);
  }

  /// Writes the filter's tile image to `workspace` and copies the input into `nhwc` in channels-last order, both
  /// rounded to TF32, in one launch on `stream` (device/channels_last_copy.cuh).
  static Status prepare_channels_last(Conv2dArguments const& args, unsigned char* workspace, float* nhwc,
                                      cudaStream_t stream, cudaError_t* cuda_error) {
    using Operands = detail::ChannelsLastOperands<Policy::BLOCK_OC>;
    Conv2dProblem const& problem = args.problem;
    typename Operands::Params params{
        filter_image_params(args, workspace),
        {args.input, nhwc, problem.batch, problem.in_channels, problem.in_h * problem.in_w},
        0};
    // as many blocks as filter segments (a warp each) or input tiles, up to 4096 filter blocks and 2^20 copy blocks,
    // which stride over the rest
    std::int64_t const filter_blocks =
        (detail::FilterTileImage<Policy::BLOCK_OC>::threads(params.filter) + Operands::kThreads - 1) /
        Operands::kThreads;
    std::int64_t const copy_blocks = detail::ChannelsLastCopy::tiles(params.input);
    params.filter_blocks = static_cast<int>(std::min<std::int64_t>(filter_blocks, 4096));
    int const grid =
        params.filter_blocks + static_cast<int>(std::min<std::int64_t>(copy_blocks, std::int64_t{1} << 20));
    detail::conv2d_kernel<Operands, typename Operands::Params><<<grid, Operands::kThreads, 0, stream>>>(params);
    return detail::status_from_cuda(cudaGetLastError(), cuda_error);
  }

  /// Bytes of the filter's copy in the workspace, 256-byte aligned: reordered for the channel-tiled gather (or a
  /// warp-specialized policy's tile image, of the same size); for a wgmma policy with the analytic gather, rounded to
  /// TF32 in its own order (wgmma would truncate the filter read in place, a bias of -2^-11 per product, 4.1e-4
  /// relative error instead of 2.6e-4); else 0: the gather reads it in place (the pointwise kernel rounds each filter
  /// stage it copies).
  static constexpr std::size_t reordered_filter_bytes(Conv2dProblem const& problem) {
    if (kGather == GatherKind::kPointwise) {
      return 0;
    }
    return reorders_filter(problem) ? detail::filter_copy_bytes(problem)
                                    : detail::required_filter_copy_bytes<Policy>(problem);
  }

  /// Copies the filter into `workspace`, rounded to TF32, on `stream`: as the tile image of a warp-specialized
  /// policy where `tile_image`; else in (K, R, S, C / groups) order for the channel-tiled gather, or in its own
  /// (K, C / groups, R, S) order (one "channel" of C / groups * R * S, one tap).
  static Status reorder_filter(Conv2dArguments const& args, unsigned char* workspace, bool tile_image,
                               cudaStream_t stream, cudaError_t* cuda_error) {
    Conv2dProblem const& problem = args.problem;
    if constexpr (Policy::kWarpSpecialized) {
      if (tile_image) {
        using Image = detail::FilterTileImage<Policy::BLOCK_OC>;
        auto const params = filter_image_params(args, workspace);
        return launch_filter_pass<Image>(params, Image::threads(params), stream, cuda_error);
      }
    }
    int const taps = reorders_filter(problem) ? problem.filter_h * problem.filter_w : 1;
    detail::FilterReorder::Params const params{args.filter, reinterpret_cast<float*>(workspace),
                                               static_cast<int>(problem.filter_elements()),
                                               detail::FastDivmod(problem.gemm_k() / taps), detail::FastDivmod(taps)};
    return launch_filter_pass<detail::FilterReorder>(params, params.elements, stream, cuda_error);
  }

  /// Launches `Functor` for `threads` threads of work (one per element, or a warp per unit), on `stream`: at most
  /// 4096 blocks, whose threads stride over the rest.
  template <class Functor>
  static Status launch_filter_pass(typename Functor::Params const& params, std::int64_t threads, cudaStream_t stream,
                                   cudaError_t* cuda_error) {
    std::int64_t const blocks = (threads + Functor::kThreads - 1) / Functor::kThreads;
    int const grid = blocks < 4096 ? static_cast<int>(blocks) : 4096;
    detail::conv2d_kernel<Functor, typename Functor::Params><<<grid, Functor::kThreads, 0, stream>>>(params);
    return detail::status_from_cuda(cudaGetLastError(), cuda_error);
  }

  static Status plan_without_runtime(Conv2dProblem const& problem, DeviceInfo const& device, int split_k,
                                     LaunchPlan* plan) {
    GatherKind const gather = gather_for(problem);
    Status const status = make_launch_plan<Policy>(problem, device, plan, gather, split_k);
    if (status != Status::kSuccess) {
      return status;
    }
    if ((gather == GatherKind::kChannelTiled || detail::copies_by_tma(gather)) && !channel_tiled_applies(problem)) {
      return Status::kErrorNotSupported;
    }
    return Status::kSuccess;
  }

  /// Calls `function(Kind<k>{})` for the resolved gather k. With a fixed kGather only that kernel is compiled.
  template <class Function> static Status with_gather(GatherKind gather, Function&& function) {
    if constexpr (Policy::kWarpSpecialized && kGather == GatherKind::kAnalytic) {
      (void)gather; // its producers have the channel-tiled gathers only: make_launch_plan refused it
      return Status::kErrorNotSupported;
    } else if constexpr (kGather != GatherKind::kAuto) {
      (void)gather; // gather_for resolved it to kGather
      return function(Kind<kGather>{});
    } else if constexpr (Policy::kWarpSpecialized) {
      (void)gather; // its producers have the channel-tiled gathers only: make_launch_plan refused the analytic one
      return function(Kind<(kReadsChannelsLast ? GatherKind::kChannelsLast : GatherKind::kChannelTiled)>{});
    } else {
      if (gather == GatherKind::kChannelTiled) {
        return function(Kind<GatherKind::kChannelTiled>{});
      }
      return function(Kind<GatherKind::kAnalytic>{});
    }
  }

  /// The device functor of gather kKind: warp-specialized or multistage, by the policy.
  template <GatherKind kKind, class Epilogue>
  using Functor = std::conditional_t<Policy::kWarpSpecialized, detail::WarpSpecializedConv2d<Policy, kKind, Epilogue>,
                                     detail::ImplicitGemmConv2d<Policy, kKind, Epilogue>>;

  template <GatherKind kKind, class Epilogue> static constexpr auto kernel() {
    return &detail::conv2d_kernel<Functor<kKind, Epilogue>, typename Functor<kKind, Epilogue>::Params>;
  }

  /// Opts the kernel in to more than the default 48 KiB of dynamic shared memory where the policy needs it.
  /// Also the first runtime call that fails when the binary has no code for the device.
  template <GatherKind kKind, class Epilogue> static Status prepare_kernel(cudaError_t* cuda_error) {
    constexpr int kDefaultDynamicSmemLimit = 48 * 1024;
    if (Policy::kSmemBytes <= kDefaultDynamicSmemLimit) {
      cudaFuncAttributes attributes;
      return detail::own_cuda_call(cudaFuncGetAttributes(&attributes, kernel<kKind, Epilogue>()), cuda_error);
    }
    return detail::own_cuda_call(cudaFuncSetAttribute(kernel<kKind, Epilogue>(),
                                                      cudaFuncAttributeMaxDynamicSharedMemorySize, Policy::kSmemBytes),
                                 cuda_error);
  }
};

namespace detail {

/// Calls `function(launcher)` with `Conv2d<Policy, kGather>{}` for the policy and gather of `choice`.
template <class Function> auto with_launcher(KernelChoice const& choice, Function&& function) {
  return with_policy(choice.policy, [&](auto policy) {
    using Policy = decltype(policy);
    if constexpr (Policy::kWarpSpecialized) {
      if (choice.gather == GatherKind::kChannelsLast) {
        return function(Conv2d<Policy, GatherKind::kChannelsLast>{});
      }
    }
    if constexpr (has_plane_box_gathers<Policy>()) {
      if (choice.gather == GatherKind::kPointwise) {
        return function(Conv2d<Policy, GatherKind::kPointwise>{});
      }
      if (choice.gather == GatherKind::kTapShifted) {
        return function(Conv2d<Policy, GatherKind::kTapShifted>{});
      }
    }
    return function(Conv2d<Policy>{});
  });
}

/// Launches `choice`, a policy of the launcher's table, its gather and a split count, for `args`.
template <class Epilogue>
Status run_choice(Conv2dArguments const& args, Epilogue const& epilogue, KernelChoice const& choice,
                  DeviceInfo const& device, cudaStream_t stream, cudaError_t* cuda_error) {
  return with_launcher(choice, [&](auto launcher) {
    return decltype(launcher)::run(args, epilogue, device, stream, cuda_error, choice.split_k);
  });
}

} // namespace detail

/// Workspace bytes that let the default launcher run `problem` on `device` as fast as it can: split-K partial sums
/// where the output alone cannot fill the GPU, the filter reordered for the channel-tiled gather, and the input's
/// channels-last copy where the launcher would make one. Pass at least
/// this much in `Conv2dArguments::workspace` to get that launch; with less (or none) the launcher picks the best
/// launch that fits. Problems of the direct path (`DirectConv2d::takes`) need none.
inline std::size_t conv2d_workspace_size(Conv2dProblem const& problem, DeviceInfo const& device) {
  if (DirectConv2d::takes(problem, device)) {
    return 0;
  }
  KernelChoice const choice = choose_kernel(problem, device, kUnlimitedWorkspace);
  return detail::with_launcher(
      choice, [&](auto launcher) { return decltype(launcher)::workspace_size(problem, choice.split_k); });
}

/// The plan of the default launcher's choice for a call with `workspace_bytes` of workspace and 16-byte aligned input,
/// filter and output (cudaMalloc's are), with occupancy from the runtime: which kernel, why, split-K, grid and waves.
inline Status plan_conv2d(Conv2dProblem const& problem, DeviceInfo const& device, LaunchPlan* plan,
                          std::size_t workspace_bytes = 0, cudaError_t* cuda_error = nullptr) {
  if (DirectConv2d::takes(problem, device)) {
    return DirectConv2d::plan(problem, device, plan);
  }
  KernelChoice const choice = choose_kernel(problem, device, workspace_bytes);
  Status const status = detail::with_launcher(choice, [&](auto launcher) {
    return decltype(launcher)::plan(problem, device, plan, cuda_error, choice.split_k);
  });
  if (status == Status::kSuccess) {
    plan->reason = choice.reason;
    plan->estimated_sm_utilization = choice.estimated_sm_utilization;
  }
  return status;
}

/// conv2d on `device` with tile policy `Policy`, launched on `stream`.
template <class Policy>
Status conv2d(Conv2dArguments const& args, DeviceInfo const& device, cudaStream_t stream = nullptr,
              cudaError_t* cuda_error = nullptr) {
  return Conv2d<Policy>::run(args, device, stream, cuda_error);
}

/// conv2d on the current device with tile policy `Policy`, launched on `stream`.
template <class Policy>
Status conv2d(Conv2dArguments const& args, cudaStream_t stream = nullptr, cudaError_t* cuda_error = nullptr) {
  DeviceInfo device;
  Status const status = detail::current_device_info(&device, cuda_error);
  if (status != Status::kSuccess) {
    return status;
  }
  return Conv2d<Policy>::run(args, device, stream, cuda_error);
}

/// `output = epilogue(conv + bias)` on `device` with the kernel the launcher chooses: the direct kernel where the
/// groups have few channels and its tile fits the device (`DirectConv2d::takes`: depthwise, or at most 16 channels a
/// group), else the table's policy and split count for this problem, device and workspace.
template <class Epilogue, class = std::enable_if_t<is_epilogue_v<Epilogue>>>
Status conv2d(Conv2dArguments const& args, Epilogue const& epilogue, DeviceInfo const& device,
              cudaStream_t stream = nullptr, cudaError_t* cuda_error = nullptr) {
  if (DirectConv2d::takes(args.problem, device)) {
    return DirectConv2d::run(args, epilogue, device, stream, cuda_error);
  }
  // no workspace pointer, no workspace, whatever workspace_bytes says
  std::size_t const workspace_bytes = args.workspace != nullptr ? args.workspace_bytes : 0;
  bool const aligned_16 = detail::plane_boxes_aligned(args);
  return detail::run_choice(args, epilogue, choose_kernel(args.problem, device, workspace_bytes, aligned_16), device,
                            stream, cuda_error);
}

/// `output = epilogue(conv + bias)` on the current device with the kernel the launcher chooses.
template <class Epilogue, class = std::enable_if_t<is_epilogue_v<Epilogue>>>
Status conv2d(Conv2dArguments const& args, Epilogue const& epilogue, cudaStream_t stream = nullptr,
              cudaError_t* cuda_error = nullptr) {
  DeviceInfo device;
  Status const status = detail::current_device_info(&device, cuda_error);
  if (status != Status::kSuccess) {
    return status;
  }
  return conv2d(args, epilogue, device, stream, cuda_error);
}

/// conv2d on `device` with the kernel the launcher chooses, launched on `stream`.
inline Status conv2d(Conv2dArguments const& args, DeviceInfo const& device, cudaStream_t stream = nullptr,
                     cudaError_t* cuda_error = nullptr) {
  return conv2d(args, IdentityEpilogue{}, device, stream, cuda_error);
}

/// conv2d on the current device with the kernel the launcher chooses, launched on `stream`: the common call.
inline Status conv2d(Conv2dArguments const& args, cudaStream_t stream = nullptr, cudaError_t* cuda_error = nullptr) {
  return conv2d(args, IdentityEpilogue{}, stream, cuda_error);
}

} // namespace tileconv
