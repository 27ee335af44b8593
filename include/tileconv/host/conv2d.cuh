#pragma once

/// \file conv2d.cuh
/// The host launcher: validate, plan, launch on the caller's stream. No allocation, no synchronization.

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
#include <tileconv/host/kernel_choice.cuh>
#include <tileconv/host/launch_plan.cuh>
#include <tileconv/host/policy_table.cuh>
#include <tileconv/policy/default_policies.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

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
public:
  /// The gather `problem` runs with: kGather, or for kAuto the channel-tiled one wherever it applies.
  static constexpr GatherKind gather_for(Conv2dProblem const& problem) {
    if constexpr (kGather != GatherKind::kAuto) {
      return kGather;
    } else {
      return channel_tiled_applies(problem) ? GatherKind::kChannelTiled : GatherKind::kAnalytic;
    }
  }

  /// Workspace bytes of the fastest launch with `split_k` splits: the filter reordered for the channel-tiled
  /// gather (see device/filter_reorder.cuh), then, with split_k > 1, one float per output element and split. Less
  /// still runs: with at least `partials_bytes(problem, split_k)` the filter is read in place.
  static constexpr std::size_t workspace_size(Conv2dProblem const& problem, int split_k) {
    return reordered_filter_bytes(problem) + partials_bytes(problem, split_k);
  }

  /// The workspace split-K cannot run without: split_k floats per output element, 0 for one split.
  static constexpr std::size_t partials_bytes(Conv2dProblem const& problem, int split_k) {
    return split_k_workspace_bytes(problem, split_k);
  }

  /// `check_arguments`, the workspace, then `make_launch_plan<Policy>` and the gather's own condition: every
  /// reason this call would not launch, without CUDA calls.
  static Status can_implement(Conv2dArguments const& args, DeviceInfo const& device, int split_k = 1) {
    Status status = check_arguments(args);
    if (status != Status::kSuccess) {
      return status;
    }
    if (split_k < 1) {
      return Status::kErrorInvalidSplitK;
    }
    // the whole workspace is checked where the call gives enough for the reordered filter, which it then uses
    std::size_t const fastest = workspace_size(args.problem, split_k);
    status = check_workspace(args, args.workspace != nullptr && args.workspace_bytes >= fastest
                                       ? fastest
                                       : partials_bytes(args.problem, split_k));
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
      // workspace: [reordered filter, when it fits][split-K partials]
      std::size_t const filter_bytes = reordered_filter_bytes(args.problem);
      if (filter_bytes > 0 && args.workspace_bytes >= workspace_size(args.problem, split_k)) {
        bool const aligned_16 = reinterpret_cast<std::uintptr_t>(args.workspace) % 16 == 0;
        // a tile image is read by bulk copies, which need 16-byte alignment
        bool const tile_image = Policy::kWarpSpecialized && aligned_16;
        Status const reordered = reorder_filter(args, tile_image, stream, cuda_error);
        if (reordered != Status::kSuccess) {
          return reordered;
        }
        params.conv.filter = static_cast<float const*>(args.workspace);
        params.conv.filter_tile_image = tile_image;
        params.conv.filter_reordered = !tile_image && reorders_filter(args.problem);
        params.conv.filter_vector_copies = params.conv.filter_reordered && aligned_16;
        if (split_k > 1) {
          params.conv.partials = reinterpret_cast<float*>(static_cast<unsigned char*>(args.workspace) + filter_bytes);
        }
      }
      kernel<kKind, Epilogue>()<<<plan.grid, Policy::kThreads, Policy::kSmemBytes, stream>>>(params);
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

  /// Whether the gather of `problem` is the channel-tiled one, which reads the filter reordered.
  static constexpr bool reorders_filter(Conv2dProblem const& problem) {
    return gather_for(problem) == GatherKind::kChannelTiled && channel_tiled_applies(problem);
  }

  /// Bytes of the filter's copy in the workspace, 256-byte aligned: reordered for the channel-tiled gather (or a
  /// warp-specialized policy's tile image, of the same size); for a wgmma policy with the analytic gather, rounded to
  /// TF32 in its own order (wgmma would truncate the filter read in place, a bias of -2^-11 per product, 4.1e-4
  /// relative error instead of 2.6e-4); else 0: the gather reads it in place.
  static constexpr std::size_t reordered_filter_bytes(Conv2dProblem const& problem) {
    return reorders_filter(problem) ? detail::filter_copy_bytes(problem)
                                    : detail::required_filter_copy_bytes<Policy>(problem);
  }

  /// Copies the filter into the workspace, rounded to TF32, on `stream`: as the tile image of a warp-specialized
  /// policy where `tile_image`; else in (K, R, S, C / groups) order for the channel-tiled gather, or in its own
  /// (K, C / groups, R, S) order (one "channel" of C / groups * R * S, one tap).
  static Status reorder_filter(Conv2dArguments const& args, bool tile_image, cudaStream_t stream,
                               cudaError_t* cuda_error) {
    Conv2dProblem const& problem = args.problem;
    if constexpr (Policy::kWarpSpecialized) {
      if (tile_image) {
        using Image = detail::FilterTileImage<Policy::BLOCK_OC>;
        typename Image::Params const params =
            Image::make(args.filter, static_cast<float*>(args.workspace), problem.groups, problem.gemm_m(),
                        problem.gemm_k(), problem.filter_h * problem.filter_w);
        return launch_per_element<Image>(params, params.elements, stream, cuda_error);
      }
    }
    int const taps = reorders_filter(problem) ? problem.filter_h * problem.filter_w : 1;
    detail::FilterReorder::Params const params{args.filter, static_cast<float*>(args.workspace),
                                               static_cast<int>(problem.filter_elements()),
                                               detail::FastDivmod(problem.gemm_k() / taps), detail::FastDivmod(taps)};
    return launch_per_element<detail::FilterReorder>(params, params.elements, stream, cuda_error);
  }

  /// Launches `Functor`, one thread per element of `elements`, on `stream`: at most 4096 blocks, whose threads
  /// stride over the rest.
  template <class Functor>
  static Status launch_per_element(typename Functor::Params const& params, std::int64_t elements, cudaStream_t stream,
                                   cudaError_t* cuda_error) {
    std::int64_t const blocks = (elements + Functor::kThreads - 1) / Functor::kThreads;
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
    if (gather == GatherKind::kChannelTiled && !channel_tiled_applies(problem)) {
      return Status::kErrorNotSupported;
    }
    return Status::kSuccess;
  }

  /// Calls `function(Kind<k>{})` for the resolved gather k. With a fixed kGather only that kernel is compiled.
  template <class Function> static Status with_gather(GatherKind gather, Function&& function) {
    if constexpr (Policy::kWarpSpecialized) {
      (void)gather; // its producers have the channel-tiled gather alone: make_launch_plan refused every other one
      if constexpr (kGather == GatherKind::kAnalytic) {
        return Status::kErrorNotSupported;
      } else {
        return function(Kind<GatherKind::kChannelTiled>{});
      }
    } else if constexpr (kGather != GatherKind::kAuto) {
      (void)gather; // gather_for resolved it to kGather
      return function(Kind<kGather>{});
    } else {
      if (gather == GatherKind::kChannelTiled) {
        return function(Kind<GatherKind::kChannelTiled>{});
      }
      return function(Kind<GatherKind::kAnalytic>{});
    }
  }

  template <GatherKind kKind, class Epilogue> static constexpr auto kernel() {
    using Functor = std::conditional_t<Policy::kWarpSpecialized, detail::WarpSpecializedConv2d<Policy, kKind, Epilogue>,
                                       detail::ImplicitGemmConv2d<Policy, kKind, Epilogue>>;
    return &detail::conv2d_kernel<Functor, typename Functor::Params>;
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

/// Launches `choice`, a policy of the launcher's table and a split count, for `args`.
template <class Epilogue>
Status run_choice(Conv2dArguments const& args, Epilogue const& epilogue, KernelChoice const& choice,
                  DeviceInfo const& device, cudaStream_t stream, cudaError_t* cuda_error) {
  return with_policy(choice.policy, [&](auto policy) {
    return Conv2d<decltype(policy)>::run(args, epilogue, device, stream, cuda_error, choice.split_k);
  });
}

} // namespace detail

/// Workspace bytes that let the default launcher run `problem` on `device` as fast as it can: split-K partial sums
/// where the output alone cannot fill the GPU, and the filter reordered for the channel-tiled gather. Pass at least
/// this much in `Conv2dArguments::workspace` to get that launch; with less (or none) the launcher picks the best
/// launch that fits. Problems of the direct path (`DirectConv2d::applies`) need none.
inline std::size_t conv2d_workspace_size(Conv2dProblem const& problem, DeviceInfo const& device) {
  if (DirectConv2d::applies(problem)) {
    return 0;
  }
  KernelChoice const choice = choose_kernel(problem, device, kUnlimitedWorkspace);
  return with_policy(choice.policy,
                     [&](auto policy) { return Conv2d<decltype(policy)>::workspace_size(problem, choice.split_k); });
}

/// The plan of the default launcher's choice for a call with `workspace_bytes` of workspace, with occupancy from
/// the runtime: which kernel, why, split-K, grid and waves.
inline Status plan_conv2d(Conv2dProblem const& problem, DeviceInfo const& device, LaunchPlan* plan,
                          std::size_t workspace_bytes = 0, cudaError_t* cuda_error = nullptr) {
  if (DirectConv2d::applies(problem)) {
    return DirectConv2d::plan(problem, device, plan);
  }
  KernelChoice const choice = choose_kernel(problem, device, workspace_bytes);
  Status const status = with_policy(choice.policy, [&](auto policy) {
    return Conv2d<decltype(policy)>::plan(problem, device, plan, cuda_error, choice.split_k);
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
/// groups have few channels (`DirectConv2d::applies`: depthwise, or at most 16 channels a group), else the table's
/// policy and split count for this problem, device and workspace.
template <class Epilogue, class = std::enable_if_t<is_epilogue_v<Epilogue>>>
Status conv2d(Conv2dArguments const& args, Epilogue const& epilogue, DeviceInfo const& device,
              cudaStream_t stream = nullptr, cudaError_t* cuda_error = nullptr) {
  if (DirectConv2d::applies(args.problem)) {
    return DirectConv2d::run(args, epilogue, device, stream, cuda_error);
  }
  // no workspace pointer, no workspace, whatever workspace_bytes says
  std::size_t const workspace_bytes = args.workspace != nullptr ? args.workspace_bytes : 0;
  return detail::run_choice(args, epilogue, choose_kernel(args.problem, device, workspace_bytes), device, stream,
                            cuda_error);
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
