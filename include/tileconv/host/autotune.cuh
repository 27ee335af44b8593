#pragma once

/// \file autotune.cuh
/// Opt-in autotuning of the default launcher's choice: time a few candidates once per (device, problem, workspace
/// size) and keep the fastest in an in-process cache. Never part of the default path (`conv2d`): a call here
/// synchronizes with the stream on the first use of a problem. Cost and rules: docs/launcher.md.

#include <tileconv/device_info.cuh>
#include <tileconv/epilogue/epilogue_chain.cuh>
#include <tileconv/host/check_arguments.cuh>
#include <tileconv/host/conv2d.cuh>
#include <tileconv/host/kernel_choice.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <mutex>

namespace tileconv {

/// The most candidates `autotune_conv2d` times (see `kernel_candidates` for which).
inline constexpr int kAutotuneCandidates = 3;
/// Timed launches per candidate, after one warm-up launch; the median counts.
inline constexpr int kAutotuneRuns = 5;
/// How much faster (by median) another candidate must be to replace the cost model's pick. The timing loop reruns the
/// caller's operands, hot in L2, which favours launches that re-read them (a filter reorder, split-K's partial sums)
/// more than the cold operands of a real network do: on the H100, b1_c512_14 timed the large tile split 32 ahead of
/// the model's square tile split 16, which the benchmark suite (operands rotated past L2) then measured 8% slower.
inline constexpr double kAutotuneMinGain = 0.05;

namespace detail {

/// What an autotuned choice is cached under: the device ordinal, every field of the problem, how many split-K partial
/// outputs the workspace holds (capped at kMaxSplitK), whether it holds the input's channels-last copy, and whether
/// the input and output are 16-byte aligned (`GatherKind::kPointwise`): the properties of the call that change the
/// candidates. Two workspaces in one bucket get the same candidates,
/// so the cached winner fits both.
struct AutotuneKey {
  std::array<int, 20> fields{};

  friend bool operator<(AutotuneKey const& a, AutotuneKey const& b) { return a.fields < b.fields; }
};

/// Split-K partial outputs that fit `workspace_bytes` (a null workspace holds none), at most kMaxSplitK.
inline int workspace_bucket(Conv2dProblem const& problem, void const* workspace, std::size_t workspace_bytes) {
  std::size_t const partial_bytes = split_k_partial_bytes(problem);
  if (workspace == nullptr || partial_bytes == 0) {
    return 0;
  }
  return static_cast<int>(std::min<std::size_t>(workspace_bytes / partial_bytes, kMaxSplitK));
}

/// Whether `workspace_bytes` hold the filter's copy and the input's channels-last copy (`GatherKind::kChannelsLast`).
inline bool holds_channels_last_copy(Conv2dProblem const& problem, void const* workspace, std::size_t workspace_bytes) {
  return workspace != nullptr && problem.validate() == Status::kSuccess &&
         workspace_bytes >= filter_copy_bytes(problem) + channels_last_copy_bytes(problem);
}

inline AutotuneKey autotune_key(DeviceInfo const& device, Conv2dArguments const& args) {
  Conv2dProblem const& p = args.problem;
  AutotuneKey key;
  key.fields = {device.device,
                p.batch,
                p.in_channels,
                p.in_h,
                p.in_w,
                p.out_channels,
                p.filter_h,
                p.filter_w,
                p.pad_h,
                p.pad_w,
                p.pad_h_end,
                p.pad_w_end,
                p.stride_h,
                p.stride_w,
                p.dilation_h,
                p.dilation_w,
                p.groups,
                workspace_bucket(p, args.workspace, args.workspace_bytes),
                holds_channels_last_copy(p, args.workspace, args.workspace_bytes),
                plane_boxes_aligned(args)};
  return key;
}

/// The process's cache of autotuned choices and its lock. The lock is held only around the map, never across a
/// launch or a synchronization.
struct AutotuneCache {
  std::mutex mutex;
  std::map<AutotuneKey, KernelChoice> choices;
};

inline AutotuneCache& autotune_cache() {
  static AutotuneCache cache;
  return cache;
}

/// CUDA events, destroyed with the set.
class EventSet {
public:
  EventSet() = default;
  EventSet(EventSet const&) = delete;
  EventSet& operator=(EventSet const&) = delete;
  ~EventSet() {
    for (int i = 0; i < count_; ++i) {
      cudaEventDestroy(events_[i]);
    }
  }

  /// Creates `count` timing events (at most kCapacity).
  cudaError_t create(int count) {
    for (; count_ < count && count_ < kCapacity; ++count_) {
      cudaError_t const error = cudaEventCreate(&events_[count_]);
      if (error != cudaSuccess) {
        return error;
      }
    }
    return cudaSuccess;
  }
  cudaEvent_t operator[](int i) const { return events_[i]; }

  static constexpr int kCapacity = kAutotuneCandidates * (kAutotuneRuns + 1);

private:
  cudaEvent_t events_[kCapacity] = {};
  int count_ = 0;
};

/// `run_choice` with no epilogue: output = conv + bias.
inline Status run_plain(Conv2dArguments const& args, KernelChoice const& choice, DeviceInfo const& device,
                        cudaStream_t stream, cudaError_t* cuda_error) {
  return run_choice(args, IdentityEpilogue{}, choice, device, stream, cuda_error);
}

} // namespace detail

/// Times up to `kAutotuneCandidates` choices for `args` on the current device and `stream` (`kernel_candidates`: the
/// cost model's pick, the best of the other split-K kind where the workspace allows, the best other policy), each
/// with one warm-up launch and `kAutotuneRuns` launches timed by CUDA events, and stores the fastest by median in the
/// process's cache (replacing an entry there), with reason `choice_reason::kAutotuned`: the cost model's pick unless
/// another is faster by more than `kAutotuneMinGain`. `*best` receives it.
///
/// Cost: up to 3 x (1 + 5) launches of the conv (two kernels each where split), one more of the winner, and one
/// synchronization with `stream`: the call returns when they are done. Every launch writes `args.output`, which
/// holds the winner's result at the end (the candidates differ in float summation order only). The workspace, if
/// any, is used as scratch. Not allowed while `stream` is being captured into a CUDA graph: returns
/// kErrorCudaRuntime with `cudaErrorStreamCaptureUnsupported`. Candidates that cannot launch are skipped; if none
/// can, the first one's status is returned. A problem of the direct path (`DirectConv2d::takes`) has one kernel
/// and nothing to time: kErrorNotSupported, nothing launched (`conv2d_autotuned` runs it).
inline Status autotune_conv2d(Conv2dArguments const& args, cudaStream_t stream, KernelChoice* best,
                              cudaError_t* cuda_error = nullptr) {
  if (best == nullptr) {
    return Status::kErrorNullPointer;
  }
  Status status = check_arguments(args);
  if (status != Status::kSuccess) {
    return status;
  }
  DeviceInfo device;
  status = detail::current_device_info(&device, cuda_error);
  if (status == Status::kSuccess) {
    status = detail::pending_cuda_error(cuda_error);
  }
  if (status != Status::kSuccess) {
    return status;
  }
  if (DirectConv2d::takes(args.problem, device)) {
    return Status::kErrorNotSupported;
  }
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  status = detail::own_cuda_call(cudaStreamIsCapturing(stream, &capture), cuda_error);
  if (status != Status::kSuccess) {
    return status;
  }
  if (capture != cudaStreamCaptureStatusNone) {
    return detail::status_from_cuda(cudaErrorStreamCaptureUnsupported, cuda_error);
  }

  std::size_t const workspace_bytes = args.workspace != nullptr ? args.workspace_bytes : 0;
  KernelChoice candidates[kAutotuneCandidates];
  bool const aligned_16 = detail::plane_boxes_aligned(args);
  int const count =
      kernel_candidates(args.problem, device, workspace_bytes, candidates, kAutotuneCandidates, aligned_16);
  if (count == 0) {
    // Nothing the cost model can plan: the launcher's own checks of the fallback name the reason.
    KernelChoice const fallback = choose_kernel(args.problem, device, workspace_bytes, aligned_16);
    status = detail::run_plain(args, fallback, device, stream, cuda_error);
    if (status == Status::kSuccess) {
      *best = fallback;
    }
    return status;
  }

  detail::EventSet events;
  status = detail::own_cuda_call(events.create(count * (kAutotuneRuns + 1)), cuda_error);
  if (status != Status::kSuccess) {
    return status;
  }
  bool launched[kAutotuneCandidates] = {};
  Status first_failure = Status::kSuccess;
  cudaError_t first_error = cudaSuccess;
  int last_event = -1;
  for (int c = 0; c < count; ++c) {
    cudaError_t error = cudaSuccess;
    Status const warmed = detail::run_plain(args, candidates[c], device, stream, &error);
    if (warmed != Status::kSuccess) {
      if (first_failure == Status::kSuccess) {
        first_failure = warmed;
        first_error = error;
      }
      continue;
    }
    int const base = c * (kAutotuneRuns + 1);
    status = detail::own_cuda_call(cudaEventRecord(events[base], stream), cuda_error);
    for (int r = 0; r < kAutotuneRuns && status == Status::kSuccess; ++r) {
      status = detail::run_plain(args, candidates[c], device, stream, cuda_error);
      if (status == Status::kSuccess) {
        status = detail::own_cuda_call(cudaEventRecord(events[base + r + 1], stream), cuda_error);
      }
    }
    if (status != Status::kSuccess) {
      return status; // it launched once already: a failure now is the runtime's, not the candidate's
    }
    launched[c] = true;
    last_event = base + kAutotuneRuns;
  }
  if (last_event < 0) {
    if (cuda_error != nullptr) {
      *cuda_error = first_error;
    }
    return first_failure;
  }
  status = detail::own_cuda_call(cudaEventSynchronize(events[last_event]), cuda_error);
  if (status != Status::kSuccess) {
    return status;
  }

  int winner = -1;
  float winner_ms = 0.0f;
  float model_pick_ms = -1.0f; // candidate 0's median, where it launched
  for (int c = 0; c < count; ++c) {
    if (!launched[c]) {
      continue;
    }
    float ms[kAutotuneRuns];
    int const base = c * (kAutotuneRuns + 1);
    for (int r = 0; r < kAutotuneRuns; ++r) {
      status = detail::own_cuda_call(cudaEventElapsedTime(&ms[r], events[base + r], events[base + r + 1]), cuda_error);
      if (status != Status::kSuccess) {
        return status;
      }
    }
    std::sort(ms, ms + kAutotuneRuns);
    float const median = ms[kAutotuneRuns / 2];
    if (c == 0) {
      model_pick_ms = median;
    }
    if (winner < 0 || median < winner_ms) { // ties keep the earlier, better-ranked candidate
      winner = c;
      winner_ms = median;
    }
  }
  if (model_pick_ms >= 0.0f && winner_ms > (1.0 - kAutotuneMinGain) * model_pick_ms) {
    winner = 0; // not clearly faster than the cost model's pick
  }
  KernelChoice chosen = candidates[winner];
  chosen.reason = choice_reason::kAutotuned;
  // The output now holds the last candidate's result; leave it as the winner's, as later cached calls compute it.
  if (winner != last_event / (kAutotuneRuns + 1)) {
    status = detail::run_plain(args, chosen, device, stream, cuda_error);
    if (status != Status::kSuccess) {
      return status;
    }
  }
  {
    detail::AutotuneCache& cache = detail::autotune_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    cache.choices[detail::autotune_key(device, args)] = chosen;
  }
  *best = chosen;
  return Status::kSuccess;
}

/// conv2d on the current device with the autotuned choice for `args`, launched on `stream`: the first call for a
/// (device, problem, workspace bucket) runs `autotune_conv2d` (which synchronizes; see its cost), later calls look
/// the choice up and launch it like `conv2d`, without synchronizing. Thread-safe; two threads that tune the same key
/// at once both time it, and the later result stays. Problems of the direct path go to its kernel, as in `conv2d`.
inline Status conv2d_autotuned(Conv2dArguments const& args, cudaStream_t stream = nullptr,
                               cudaError_t* cuda_error = nullptr) {
  Status status = check_arguments(args);
  if (status != Status::kSuccess) {
    return status;
  }
  DeviceInfo device;
  status = detail::current_device_info(&device, cuda_error);
  if (status != Status::kSuccess) {
    return status;
  }
  if (DirectConv2d::takes(args.problem, device)) {
    return conv2d(args, device, stream, cuda_error);
  }
  detail::AutotuneKey const key = detail::autotune_key(device, args);
  KernelChoice cached;
  bool found = false;
  {
    detail::AutotuneCache& cache = detail::autotune_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto const entry = cache.choices.find(key);
    if (entry != cache.choices.end()) {
      cached = entry->second;
      found = true;
    }
  }
  if (found) {
    return detail::run_plain(args, cached, device, stream, cuda_error);
  }
  KernelChoice best;
  return autotune_conv2d(args, stream, &best, cuda_error);
}

/// Forgets every autotuned choice of the process (e.g. after changing clocks, or in tests).
inline void clear_autotune_cache() {
  detail::AutotuneCache& cache = detail::autotune_cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.choices.clear();
}

} // namespace tileconv
