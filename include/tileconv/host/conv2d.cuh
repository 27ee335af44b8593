#pragma once

/// \file conv2d.cuh
/// The host launcher: validate, plan, launch on the caller's stream. No allocation, no synchronization.

#include <tileconv/device/conv2d_params.cuh>
#include <tileconv/device/implicit_gemm_conv2d.cuh>
#include <tileconv/device/kernel.cuh>
#include <tileconv/device_info.cuh>
#include <tileconv/host/launch_plan.cuh>
#include <tileconv/policy/default_policies.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <type_traits>

namespace tileconv {
namespace detail {

inline bool overlaps(void const* a, std::int64_t a_elements, void const* b, std::int64_t b_elements) {
  auto const a_begin = reinterpret_cast<std::uintptr_t>(a);
  auto const b_begin = reinterpret_cast<std::uintptr_t>(b);
  auto const a_end = a_begin + static_cast<std::uintptr_t>(a_elements) * sizeof(float);
  auto const b_end = b_begin + static_cast<std::uintptr_t>(b_elements) * sizeof(float);
  return a_begin < b_end && b_begin < a_end;
}

inline bool misaligned(void const* pointer) { return reinterpret_cast<std::uintptr_t>(pointer) % alignof(float) != 0; }

} // namespace detail

/// Checks the problem and the buffers of one call: sizes, null and misaligned pointers, and an output that
/// overlaps an operand (the kernel reads operands while other blocks write the output). Makes no CUDA call.
inline Status check_arguments(Conv2dArguments const& args) {
  Status const status = args.problem.validate();
  if (status != Status::kSuccess) {
    return status;
  }
  if (args.input == nullptr || args.filter == nullptr || args.output == nullptr) {
    return Status::kErrorNullPointer;
  }
  if (detail::misaligned(args.input) || detail::misaligned(args.filter) || detail::misaligned(args.output) ||
      (args.bias != nullptr && detail::misaligned(args.bias))) {
    return Status::kErrorMisalignedPointer;
  }
  Conv2dProblem const& problem = args.problem;
  std::int64_t const output_elements = problem.output_elements();
  if (detail::overlaps(args.output, output_elements, args.input, problem.input_elements()) ||
      detail::overlaps(args.output, output_elements, args.filter, problem.filter_elements()) ||
      (args.bias != nullptr && detail::overlaps(args.output, output_elements, args.bias, problem.out_channels))) {
    return Status::kErrorOverlappingBuffers;
  }
  return Status::kSuccess;
}

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

  /// `check_arguments`, then `make_launch_plan<Policy>` and the gather's own condition: every reason this call
  /// would not launch, without CUDA calls.
  static Status can_implement(Conv2dArguments const& args, DeviceInfo const& device) {
    Status const status = check_arguments(args);
    if (status != Status::kSuccess) {
      return status;
    }
    LaunchPlan plan;
    return plan_without_runtime(args.problem, device, &plan);
  }

  /// The plan with the occupancy API's blocks per SM, which counts the compiled kernel's registers.
  static Status plan(Conv2dProblem const& problem, DeviceInfo const& device, LaunchPlan* plan,
                     cudaError_t* cuda_error = nullptr) {
    Status const status = plan_without_runtime(problem, device, plan);
    if (status != Status::kSuccess) {
      return status;
    }
    return with_gather(plan->gather, [&](auto kind) {
      constexpr GatherKind kKind = decltype(kind)::value;
      Status const prepared = prepare_kernel<kKind>(cuda_error);
      if (prepared != Status::kSuccess) {
        return prepared;
      }
      int blocks_per_sm = 0;
      cudaError_t const error = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, kernel<kKind>(),
                                                                              Policy::kThreads, Policy::kSmemBytes);
      if (error != cudaSuccess) {
        return detail::status_from_cuda(error, cuda_error);
      }
      plan->blocks_per_sm = blocks_per_sm;
      plan->occupancy_from_runtime = true;
      return Status::kSuccess;
    });
  }

  /// Validates, then launches on `stream`. Returns without launching on any error; on `kErrorCudaRuntime`
  /// and the other CUDA-derived codes, `*cuda_error` (if given) holds the runtime's error.
  static Status run(Conv2dArguments const& args, DeviceInfo const& device, cudaStream_t stream = nullptr,
                    cudaError_t* cuda_error = nullptr) {
    Status status = check_arguments(args);
    if (status != Status::kSuccess) {
      return status;
    }
    LaunchPlan plan;
    status = plan_without_runtime(args.problem, device, &plan);
    if (status != Status::kSuccess) {
      return status;
    }
    return with_gather(plan.gather, [&](auto kind) {
      constexpr GatherKind kKind = decltype(kind)::value;
      Status const prepared = prepare_kernel<kKind>(cuda_error);
      if (prepared != Status::kSuccess) {
        return prepared;
      }
      detail::Conv2dParams const params = detail::Conv2dParams::make(args, Policy::BLOCK_R);
      kernel<kKind>()<<<plan.grid, Policy::kThreads, Policy::kSmemBytes, stream>>>(params);
      return detail::status_from_cuda(cudaGetLastError(), cuda_error);
    });
  }

private:
  template <GatherKind kKind> using Kind = std::integral_constant<GatherKind, kKind>;

  static constexpr bool channel_tiled_applies(Conv2dProblem const& problem) {
    return problem.in_channels_per_group() % Policy::BLOCK_R == 0;
  }

  static Status plan_without_runtime(Conv2dProblem const& problem, DeviceInfo const& device, LaunchPlan* plan) {
    GatherKind const gather = gather_for(problem);
    Status const status = make_launch_plan<Policy>(problem, device, plan, gather);
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
    if constexpr (kGather != GatherKind::kAuto) {
      (void)gather; // gather_for resolved it to kGather
      return function(Kind<kGather>{});
    } else {
      if (gather == GatherKind::kChannelTiled) {
        return function(Kind<GatherKind::kChannelTiled>{});
      }
      return function(Kind<GatherKind::kAnalytic>{});
    }
  }

  template <GatherKind kKind> static constexpr auto kernel() {
    return &detail::conv2d_kernel<detail::ImplicitGemmConv2d<Policy, kKind>, detail::Conv2dParams>;
  }

  /// Opts the kernel in to more than the default 48 KiB of dynamic shared memory where the policy needs it.
  /// Also the first runtime call that fails when the binary has no code for the device.
  template <GatherKind kKind> static Status prepare_kernel(cudaError_t* cuda_error) {
    constexpr int kDefaultDynamicSmemLimit = 48 * 1024;
    if (Policy::kSmemBytes <= kDefaultDynamicSmemLimit) {
      cudaFuncAttributes attributes;
      return detail::status_from_cuda(cudaFuncGetAttributes(&attributes, kernel<kKind>()), cuda_error);
    }
    return detail::status_from_cuda(
        cudaFuncSetAttribute(kernel<kKind>(), cudaFuncAttributeMaxDynamicSharedMemorySize, Policy::kSmemBytes),
        cuda_error);
  }
};

/// Which default policy the launcher uses for a problem; see `choose_default_policy`.
enum class DefaultPolicy { kLargeTile, kNarrowTile, kSmallTile };

/// The default launcher's choice, from the problem and the device alone (no CUDA call, deterministic):
/// - small tiles when one image has at most 64 output pixels (a 256-pixel tile would be mostly padding);
/// - narrow tiles when a group has at most 64 output channels (half of a 128-row tile would be padding), or when
///   large tiles would not give every SM a block (batch and groups already count in the grid);
/// - small tiles also when large tiles cannot be planned at all (a device short of shared memory or grid);
/// - large tiles otherwise.
inline DefaultPolicy choose_default_policy(Conv2dProblem const& problem, DeviceInfo const& device) {
  if (problem.gemm_n() <= SmallTilePolicy::BLOCK_OW) {
    return DefaultPolicy::kSmallTile;
  }
  if (problem.gemm_m() <= NarrowTilePolicy::BLOCK_OC) {
    return DefaultPolicy::kNarrowTile;
  }
  LaunchPlan large;
  if (make_launch_plan<LargeTilePolicy>(problem, device, &large) != Status::kSuccess) {
    return DefaultPolicy::kSmallTile; // the policy with the fewest resources, so its launcher names what is wrong
  }
  return large.blocks() < device.sm_count ? DefaultPolicy::kNarrowTile : DefaultPolicy::kLargeTile;
}

namespace detail {

/// Calls `function` with a value of the policy type `choice` names, so that each entry point below switches once.
template <class Function> Status with_default_policy(DefaultPolicy choice, Function&& function) {
  switch (choice) {
  case DefaultPolicy::kLargeTile:
    return function(LargeTilePolicy{});
  case DefaultPolicy::kNarrowTile:
    return function(NarrowTilePolicy{});
  case DefaultPolicy::kSmallTile:
    break;
  }
  return function(SmallTilePolicy{});
}

} // namespace detail

/// The plan of the default launcher's choice, with occupancy from the runtime.
inline Status plan_conv2d(Conv2dProblem const& problem, DeviceInfo const& device, LaunchPlan* plan,
                          cudaError_t* cuda_error = nullptr) {
  return detail::with_default_policy(choose_default_policy(problem, device), [&](auto policy) {
    return Conv2d<decltype(policy)>::plan(problem, device, plan, cuda_error);
  });
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

/// conv2d on `device` with the policy the launcher chooses, launched on `stream`.
inline Status conv2d(Conv2dArguments const& args, DeviceInfo const& device, cudaStream_t stream = nullptr,
                     cudaError_t* cuda_error = nullptr) {
  return detail::with_default_policy(choose_default_policy(args.problem, device), [&](auto policy) {
    return Conv2d<decltype(policy)>::run(args, device, stream, cuda_error);
  });
}

/// conv2d on the current device with the policy the launcher chooses, launched on `stream`: the common call.
inline Status conv2d(Conv2dArguments const& args, cudaStream_t stream = nullptr, cudaError_t* cuda_error = nullptr) {
  DeviceInfo device;
  Status const status = detail::current_device_info(&device, cuda_error);
  if (status != Status::kSuccess) {
    return status;
  }
  return conv2d(args, device, stream, cuda_error);
}

} // namespace tileconv
