// What every GPU correctness test shares: device buffers, a poisoned and guarded output, the float64 reference of a
// shared shape, and run-and-compare against it. A result passes when relative_l2 <= 1e-3 and relative_max <= 1e-2
// with no non-finite value (TF32 rounds the operands to 10 mantissa bits: about 3e-4 relative L2 is expected).
#pragma once

#include "catch.hpp"
#include "catch_status.hpp"
#include "cuda_check.hpp"
#include "shapes.hpp"

#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/error_stats.cuh>
#include <tileconv/reference/random_fill.cuh>
#include <tileconv/tileconv.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace tileconv {
namespace test {

// ---------------------------------------------------------------------------------------------------------------------
// Buffers and streams
// ---------------------------------------------------------------------------------------------------------------------

/// An owning device array of `count` T, freed when it goes out of scope (also when a REQUIRE unwinds the test).
template <class T> class DeviceBuffer {
public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::int64_t count) : count_(count) {
    if (count > 0) {
      void* pointer = nullptr;
      INFO("allocating " << bytes() << " bytes");
      TILECONV_REQUIRE_CUDA(cudaMalloc(&pointer, bytes()));
      data_ = static_cast<T*>(pointer);
    }
  }
  DeviceBuffer(DeviceBuffer const&) = delete;
  DeviceBuffer& operator=(DeviceBuffer const&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { reset(); }

  /// Frees the memory; the destructor calls it, so a failing REQUIRE leaks nothing either.
  void reset() {
    if (data_ != nullptr) {
      TILECONV_CHECK_CUDA(cudaFree(data_));
      data_ = nullptr;
    }
    count_ = 0;
  }

  T* data() const { return data_; }
  std::int64_t size() const { return count_; }
  std::size_t bytes() const { return static_cast<std::size_t>(count_) * sizeof(T); }

  /// A host copy of the whole array.
  std::vector<T> to_host() const {
    std::vector<T> host(static_cast<std::size_t>(count_));
    if (count_ > 0) {
      TILECONV_REQUIRE_CUDA(cudaMemcpy(host.data(), data_, bytes(), cudaMemcpyDeviceToHost));
    }
    return host;
  }

private:
  T* data_ = nullptr;
  std::int64_t count_ = 0;
};

/// A created non-blocking stream: it does not synchronize with the legacy default stream, so work that a launcher
/// wrongly puts on stream 0 is not ordered with it.
class Stream {
public:
  Stream() { TILECONV_REQUIRE_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  Stream(Stream const&) = delete;
  Stream& operator=(Stream const&) = delete;
  ~Stream() {
    if (stream_ != nullptr) {
      TILECONV_CHECK_CUDA(cudaStreamDestroy(stream_));
    }
  }
  cudaStream_t get() const { return stream_; }

private:
  cudaStream_t stream_ = nullptr;
};

/// The bit pattern of poisoned memory: cudaMemset with 0xFF makes every float a NaN, so an element the kernel does
/// not write is counted as non-finite by ErrorStats.
constexpr unsigned char kPoisonByte = 0xFF;
constexpr std::uint32_t kPoisonWord = 0xFFFFFFFFu;

/// Counts the 32-bit words of a host copy that are no longer the poison pattern.
template <class T> std::int64_t count_unpoisoned(std::vector<T> const& host) {
  static_assert(sizeof(T) == sizeof(std::uint32_t), "words of 4 bytes");
  std::int64_t changed = 0;
  for (T const& value : host) {
    std::uint32_t word = 0;
    std::memcpy(&word, &value, sizeof(word));
    changed += word != kPoisonWord ? 1 : 0;
  }
  return changed;
}

/// An output tensor with a poisoned guard region on each side; after a launch, a changed guard word is an
/// out-of-bounds write (the guards catch writes up to kGuardFloats before or after the tensor).
class GuardedOutput {
public:
  static constexpr std::int64_t kGuardFloats = 64 * 1024; // 256 KiB on each side; keeps the output 256-byte aligned

  explicit GuardedOutput(std::int64_t count) : count_(count), storage_(count + 2 * kGuardFloats) {}

  float* data() const { return storage_.data() + kGuardFloats; }
  std::int64_t size() const { return count_; }

  /// Fills the output and both guards with the poison pattern, in stream order.
  void poison(cudaStream_t stream) {
    TILECONV_REQUIRE_CUDA(cudaMemsetAsync(storage_.data(), kPoisonByte, storage_.bytes(), stream));
  }

  /// Guard words that are no longer poisoned. Synchronous.
  std::int64_t changed_guard_words() const {
    std::vector<float> front(static_cast<std::size_t>(kGuardFloats));
    std::vector<float> back(static_cast<std::size_t>(kGuardFloats));
    TILECONV_REQUIRE_CUDA(
        cudaMemcpy(front.data(), storage_.data(), kGuardFloats * sizeof(float), cudaMemcpyDeviceToHost));
    TILECONV_REQUIRE_CUDA(
        cudaMemcpy(back.data(), data() + count_, kGuardFloats * sizeof(float), cudaMemcpyDeviceToHost));
    return count_unpoisoned(front) + count_unpoisoned(back);
  }

  /// Words of the output and the guards that are no longer poisoned: 0 after a call that must write nothing.
  /// Synchronous; copies the whole tensor, so for small outputs.
  std::int64_t changed_words() const { return count_unpoisoned(storage_.to_host()); }

  std::vector<float> output_to_host() const {
    std::vector<float> host(static_cast<std::size_t>(count_));
    TILECONV_REQUIRE_CUDA(cudaMemcpy(host.data(), data(), count_ * sizeof(float), cudaMemcpyDeviceToHost));
    return host;
  }

private:
  std::int64_t count_;
  DeviceBuffer<float> storage_;
};

// ---------------------------------------------------------------------------------------------------------------------
// Error criterion
// ---------------------------------------------------------------------------------------------------------------------

constexpr double kMaxRelativeL2 = 1e-3;
constexpr double kMaxRelativeMax = 1e-2;

/// The pass criterion of every correctness test.
inline bool within_tolerance(reference::ErrorStats const& stats) {
  return stats.non_finite == 0 && stats.relative_l2() <= kMaxRelativeL2 && stats.relative_max() <= kMaxRelativeMax;
}

inline std::string describe(reference::ErrorStats const& stats) {
  std::ostringstream text;
  text << "relative_l2=" << stats.relative_l2() << " (limit " << kMaxRelativeL2
       << ") relative_max=" << stats.relative_max() << " (limit " << kMaxRelativeMax
       << ") max_abs_error=" << stats.max_abs_error << " max_abs_expected=" << stats.max_abs_expected
       << " non_finite=" << stats.non_finite << " count=" << stats.count;
  return text.str();
}

/// error_stats_device with its two-phase temporary storage, on `stream`; synchronous.
template <class Actual, class Expected>
reference::ErrorStats error_stats_on_device(Actual const* actual, Expected const* expected, std::int64_t n,
                                            cudaStream_t stream = nullptr) {
  DeviceBuffer<reference::ErrorStats> result(1);
  std::size_t temp_bytes = 0;
  TILECONV_REQUIRE_SUCCESS(
      reference::error_stats_device(nullptr, temp_bytes, actual, expected, n, result.data(), stream));
  DeviceBuffer<unsigned char> temp(static_cast<std::int64_t>(temp_bytes));
  TILECONV_REQUIRE_SUCCESS(
      reference::error_stats_device(temp.data(), temp_bytes, actual, expected, n, result.data(), stream));
  reference::ErrorStats stats;
  TILECONV_REQUIRE_CUDA(cudaMemcpyAsync(&stats, result.data(), sizeof(stats), cudaMemcpyDeviceToHost, stream));
  TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream));
  return stats;
}

// ---------------------------------------------------------------------------------------------------------------------
// Launchers
// ---------------------------------------------------------------------------------------------------------------------

/// One way of calling tileconv, named for failure messages.
struct Launcher {
  std::string name;
  std::function<Status(Conv2dArguments const&, cudaStream_t)> launch;
  /// Whether the launcher takes this call at all: a fixed gather runs only the problems it applies to (GatherKind).
  std::function<bool(Conv2dArguments const&)> applies = [](Conv2dArguments const&) { return true; };
  /// Whether it runs only with the caller's workspace (the channels-last gather): tests that want it to run pass
  /// one (`with_workspace`, `channels_last_workspace_bytes`).
  bool needs_workspace = false;
};

/// The current device's DeviceInfo, for the launcher entry points that take one.
inline DeviceInfo current_device_info() {
  int device = -1;
  TILECONV_REQUIRE_CUDA(cudaGetDevice(&device));
  DeviceInfo info;
  TILECONV_REQUIRE_SUCCESS(DeviceInfo::query(device, &info));
  return info;
}

/// What every launch of `Policy` on the current device returns before anything else is checked: kSuccess where it
/// runs; kErrorArchNotSupported for a wgmma policy off sm_90 or in a build without TILECONV_SM90A; else
/// kErrorSharedMemoryExceeded where a block does not fit (the Hopper-only tiles on an Ada or Ampere GPU).
template <class Policy> Status policy_refusal_on_current_device() {
  DeviceInfo const device = current_device_info();
  if (Policy::kMma == MmaKind::kWarpgroup && (device.compute_capability() != 90 || !kBuiltForSm90a)) {
    return Status::kErrorArchNotSupported;
  }
  return Policy::kSmemBytes <= device.smem_per_block_optin ? Status::kSuccess : Status::kErrorSharedMemoryExceeded;
}

/// Calls f(Policy{}, name) for each policy of the launcher's table (host/policy_table.cuh) that runs on the current
/// device, so that the tests cover every shipped policy, and a new row of the table, without a list of their own.
template <class F> void for_each_runnable_table_policy(F&& f) {
#define TILECONV_TEST_TABLE_POLICY(id, type, name)                                                                     \
  if (policy_refusal_on_current_device<type>() == Status::kSuccess) {                                                  \
    f(type{}, std::string(name));                                                                                      \
  }
  TILECONV_FOR_EACH_POLICY(TILECONV_TEST_TABLE_POLICY)
#undef TILECONV_TEST_TABLE_POLICY
}

/// tileconv::conv2d<Policy>(args, stream), the policy injected by the caller; with a fixed gather, the class
/// interface Conv2d<Policy, kGather>::run, which is the only way to ask for one. A fixed gather skips the problems
/// it refuses with kErrorNotSupported (or kErrorSharedMemoryExceeded, for gathers whose shared memory depends on
/// the problem); any other refusal is still run, and fails.
template <class Policy, GatherKind kGather = GatherKind::kAuto> Launcher policy_launcher(std::string name) {
  if constexpr (kGather == GatherKind::kAuto) {
    Launcher launcher{std::move(name), [](Conv2dArguments const& args, cudaStream_t stream) {
                        return tileconv::conv2d<Policy>(args, stream);
                      }};
    if constexpr (Policy::kWarpSpecialized) {
      // the only policy whose own choice of gather can refuse a problem: it has the channel-tiled gather alone
      DeviceInfo const device = current_device_info();
      launcher.applies = [device](Conv2dArguments const& args) {
        return Conv2d<Policy>::can_implement(args, device) != Status::kErrorNotSupported;
      };
    }
    return launcher;
  } else {
    DeviceInfo const device = current_device_info();
    Launcher launcher;
    launcher.name = std::move(name) + " (" + to_string(kGather) + " gather)";
    launcher.launch = [device](Conv2dArguments const& args, cudaStream_t stream) {
      return Conv2d<Policy, kGather>::run(args, device, stream);
    };
    if constexpr (kGather == GatherKind::kChannelsLast || kGather == GatherKind::kTapShifted) {
      // it applies where its gather does, and only with the caller's workspace (a launcher shared by threads or
      // captured into a graph cannot allocate one of its own)
      launcher.needs_workspace = true;
      launcher.applies = [device](Conv2dArguments const& args) {
        Status const status = Conv2d<Policy, kGather>::can_implement(args, device);
        return status != Status::kErrorNotSupported && status != Status::kErrorSharedMemoryExceeded &&
               args.workspace != nullptr &&
               args.workspace_bytes >= Conv2d<Policy, kGather>::workspace_size(args.problem, 1);
      };
      return launcher;
    }
    launcher.applies = [device](Conv2dArguments const& args) {
      Status const status = Conv2d<Policy, kGather>::can_implement(args, device);
      return status != Status::kErrorNotSupported && status != Status::kErrorSharedMemoryExceeded;
    };
    return launcher;
  }
}

/// Policy with the launcher's own choice of gather, and with each gather forced where it applies, so that every
/// gather is compared with the reference on every shape it can run.
template <class Policy> std::vector<Launcher> gather_launchers(std::string const& policy_name) {
  if constexpr (::tileconv::detail::channels_last_only<Policy>()) { // one gather, which needs the caller's workspace
    return {policy_launcher<Policy, GatherKind::kChannelsLast>("Conv2d<" + policy_name + ">")};
  } else {
    std::vector<Launcher> launchers = {
        policy_launcher<Policy>("tileconv::conv2d<" + policy_name + ">"),
        policy_launcher<Policy, GatherKind::kChannelTiled>("Conv2d<" + policy_name + ">"),
    };
    if constexpr (Policy::kWarpSpecialized) { // its producers have the channel-tiled gathers alone
      launchers.push_back(policy_launcher<Policy, GatherKind::kChannelsLast>("Conv2d<" + policy_name + ">"));
      if constexpr (::tileconv::detail::has_plane_box_gathers<Policy>()) {
        launchers.push_back(policy_launcher<Policy, GatherKind::kPointwise>("Conv2d<" + policy_name + ">"));
        launchers.push_back(policy_launcher<Policy, GatherKind::kTapShifted>("Conv2d<" + policy_name + ">"));
      }
    } else {
      launchers.push_back(policy_launcher<Policy, GatherKind::kAnalytic>("Conv2d<" + policy_name + ">"));
    }
    return launchers;
  }
}

/// The workspace the channels-last launchers of `shipped_launchers` need for `problem` (0 where none runs here), so
/// that a test can offer it to every launcher; the tap-shifted ones need less (the filter's tile image alone).
inline std::size_t channels_last_workspace_bytes(Conv2dProblem const& problem) {
  std::size_t bytes = 0;
  for_each_runnable_table_policy([&](auto policy, std::string const&) {
    using Policy = decltype(policy);
    if constexpr (Policy::kWarpSpecialized) {
      bytes = std::max(bytes, Conv2d<Policy, GatherKind::kChannelsLast>::workspace_size(problem, 1));
    }
  });
  return bytes;
}

/// `launcher` with `workspace` (`bytes` of it) in place of the caller's.
inline Launcher with_workspace(Launcher const& launcher, void* workspace, std::size_t bytes) {
  Launcher result = launcher;
  result.launch = [launch = launcher.launch, workspace, bytes](Conv2dArguments const& args, cudaStream_t stream) {
    Conv2dArguments with = args;
    with.workspace = workspace;
    with.workspace_bytes = bytes;
    return launch(with, stream);
  };
  result.applies = [applies = launcher.applies, workspace, bytes](Conv2dArguments const& args) {
    Conv2dArguments with = args;
    with.workspace = workspace;
    with.workspace_bytes = bytes;
    return applies(with);
  };
  return result;
}

/// The common call tileconv::conv2d(args, stream), then every shipped policy that runs here with every gather.
inline std::vector<Launcher> shipped_launchers() {
  std::vector<Launcher> launchers = {
      {"tileconv::conv2d (default policy)",
       [](Conv2dArguments const& args, cudaStream_t stream) { return tileconv::conv2d(args, stream); }},
  };
  for_each_runnable_table_policy([&](auto policy, std::string const& name) {
    std::vector<Launcher> const more = gather_launchers<decltype(policy)>(name);
    launchers.insert(launchers.end(), more.begin(), more.end());
  });
  return launchers;
}

// ---------------------------------------------------------------------------------------------------------------------
// Run and compare
// ---------------------------------------------------------------------------------------------------------------------

/// The host reference is O(outputs x C/groups x R x S) on one core: used up to this many multiply-adds.
constexpr double kHostReferenceMaxMacs = 5e7;
constexpr std::int64_t kHostReferenceMaxOutputs = std::int64_t{1} << 20;

inline bool use_host_reference(Conv2dProblem const& problem) {
  return problem.output_elements() <= kHostReferenceMaxOutputs &&
         double(problem.output_elements()) * problem.gemm_k() <= kHostReferenceMaxMacs;
}

/// One shared shape on the GPU: random input, filter and bias (uniform in [-1, 1), seeds `seed`, `seed + 1`,
/// `seed + 2`), its float64 reference (host for small shapes, device for large ones), and a guarded output that
/// every run poisons first.
class Conv2dHarness {
public:
  Conv2dHarness(ShapeCase const& shape, std::uint64_t seed)
      : shape_(shape), problem_(shape.problem), input_(problem_.input_elements()), filter_(problem_.filter_elements()),
        bias_(shape.bias ? problem_.out_channels : 0), output_(problem_.output_elements()),
        host_reference_(use_host_reference(problem_)) {
    INFO(describe(shape_));
    REQUIRE(problem_.validate() == Status::kSuccess);
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(input_.data(), input_.size(), seed));
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(filter_.data(), filter_.size(), seed + 1));
    if (shape.bias) {
      TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(bias_.data(), bias_.size(), seed + 2));
    }
    if (host_reference_) {
      // the host reference reads exactly the values the device holds
      std::vector<float> const input = input_.to_host();
      std::vector<float> const filter = filter_.to_host();
      std::vector<float> const bias = bias_.to_host();
      reference_host_.resize(static_cast<std::size_t>(problem_.output_elements()));
      reference::conv2d_host(problem_, input.data(), filter.data(), shape.bias ? bias.data() : nullptr,
                             reference_host_.data());
    } else {
      reference_device_ = DeviceBuffer<double>(problem_.output_elements());
      TILECONV_REQUIRE_SUCCESS(
          reference::conv2d_device(problem_, input_.data(), filter_.data(), bias_ptr(), reference_device_.data()));
    }
    TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
  }

  ShapeCase const& shape() const { return shape_; }
  Conv2dProblem const& problem() const { return problem_; }
  GuardedOutput& output() { return output_; }
  bool host_reference() const { return host_reference_; }
  DeviceBuffer<float> const& input() const { return input_; }

  Conv2dArguments arguments() const {
    Conv2dArguments args;
    args.problem = problem_;
    args.input = input_.data();
    args.filter = filter_.data();
    args.bias = bias_ptr();
    args.output = output_.data();
    return args;
  }

  /// Poisons the output and its guards on `stream`, launches on `stream`, synchronizes `stream` only, REQUIREs
  /// success and intact guards, and returns the error against the reference.
  reference::ErrorStats run(Launcher const& launcher, cudaStream_t stream = nullptr) {
    INFO(launcher.name << " on " << describe(shape_));
    output_.poison(stream);
    TILECONV_REQUIRE_SUCCESS(launcher.launch(arguments(), stream));
    TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream));
    TILECONV_REQUIRE_CUDA(cudaGetLastError());
    std::int64_t const changed_guards = output_.changed_guard_words();
    INFO(changed_guards << " guard words around the output were written: out-of-bounds stores");
    REQUIRE(changed_guards == 0);
    return compare();
  }

  /// The error of the output as it is now against the reference.
  reference::ErrorStats compare() const {
    if (host_reference_) {
      std::vector<float> const actual = output_.output_to_host();
      return reference::error_stats_host(actual.data(), reference_host_.data(), problem_.output_elements());
    }
    return error_stats_on_device(output_.data(), reference_device_.data(), problem_.output_elements());
  }

private:
  float const* bias_ptr() const { return shape_.bias ? bias_.data() : nullptr; }

  ShapeCase shape_;
  Conv2dProblem problem_;
  DeviceBuffer<float> input_;
  DeviceBuffer<float> filter_;
  DeviceBuffer<float> bias_;
  GuardedOutput output_;
  bool host_reference_;
  std::vector<double> reference_host_;
  DeviceBuffer<double> reference_device_;
};

/// Runs `launcher` on the harness's shape and CHECKs the result against the reference, with the shape, the launcher
/// and the error in the message. Returns whether it ran: a fixed gather skips the shapes it does not apply to.
inline bool check_launch(Conv2dHarness& harness, Launcher const& launcher, cudaStream_t stream = nullptr) {
  if (!launcher.applies(harness.arguments())) {
    return false;
  }
  reference::ErrorStats const stats = harness.run(launcher, stream);
  INFO(launcher.name << " on " << describe(harness.shape()));
  INFO((harness.host_reference() ? "host" : "device") << " reference: " << describe(stats));
  CHECK(stats.count == static_cast<unsigned long long>(harness.problem().output_elements()));
  CHECK(stats.non_finite == 0);
  CHECK(stats.relative_l2() <= kMaxRelativeL2);
  CHECK(stats.relative_max() <= kMaxRelativeMax);
  return true;
}

/// The shared shape called `name`; REQUIREs that it exists.
inline ShapeCase const& require_shape(std::string const& name) {
  ShapeCase const* shape = find_shape(name);
  INFO("shape \"" << name << "\" in tests/support/shapes.hpp");
  REQUIRE(shape != nullptr);
  return *shape;
}

} // namespace test
} // namespace tileconv
