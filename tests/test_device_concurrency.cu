// Concurrency and the launch path's side effects (issue #7):
// - several host threads, each with its own stream, launch at once with every shipped launcher on shared operands
//   (input, filter and bias shared, outputs separate), and every result matches the float64 reference;
// - launches capture into a CUDA graph in cudaStreamCaptureModeGlobal, which refuses any call that could synchronize
//   or allocate, from any thread, during the capture; the graph replays correctly on new operand values;
// - a launch never waits for other streams: while a kernel on another stream spins until the host releases it, every
//   launcher returns and that stream is still busy afterwards ([spin]);
// - many launches leave cudaMemGetInfo's free memory unchanged ([memory]);
// and the detectors themselves catch a planted cudaMalloc, cudaDeviceSynchronize or leak ([selfcheck]), so that a
// passing test means something. [spin] and [memory] are left out under compute-sanitizer (timing and the tool's own
// allocations).
#include "support/catch.hpp"
#include "support/catch_status.hpp"
#include "support/cuda_check.hpp"
#include "support/feature_switches.hpp"
#include "support/gpu_harness.hpp"
#include "support/shapes.hpp"

#include <tileconv/reference/conv2d_reference.cuh>
#include <tileconv/reference/error_stats.cuh>
#include <tileconv/reference/random_fill.cuh>
#include <tileconv/tileconv.cuh>

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tileconv {
namespace test {
namespace {

/// Shapes of the shared list that the default launcher sends to different kernels (narrow, large-channel, small-pixel
/// tiles, depthwise, analytic and channel-tiled gathers), all small enough for the host reference.
char const* const kConcurrencyShapes[] = {
    "3x3 pad 1 with bias",
    "groups 2, 128 output channels per group",
    "W_out*H_out=35 < BLOCK_OW",
    "depthwise 3x3 (groups = channels)",
    "K=130, just past two 64-channel tiles",
    "C*R*S=27, not a multiple of BLOCK_R",
    "stride 2, odd H/W, pad 1",
};

/// One problem's operands, shared by every launch of it, and their float64 host reference. `fill` draws new values,
/// so that a graph replay can be checked against operands it was not captured with.
class SharedOperands {
public:
  SharedOperands(ShapeCase const& shape, std::uint64_t seed)
      : shape_(shape), input_(shape.problem.input_elements()), filter_(shape.problem.filter_elements()),
        bias_(shape.bias ? shape.problem.out_channels : 0) {
    REQUIRE(use_host_reference(shape.problem));
    fill(seed);
  }

  /// New uniform values (seeds seed, seed + 1, seed + 2) and their reference. Synchronous.
  void fill(std::uint64_t seed) {
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(input_.data(), input_.size(), seed));
    TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(filter_.data(), filter_.size(), seed + 1));
    if (shape_.bias) {
      TILECONV_REQUIRE_SUCCESS(reference::random_fill_device(bias_.data(), bias_.size(), seed + 2));
    }
    TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
    std::vector<float> const input = input_.to_host();
    std::vector<float> const filter = filter_.to_host();
    std::vector<float> const bias = bias_.to_host();
    reference_.resize(static_cast<std::size_t>(problem().output_elements()));
    reference::conv2d_host(problem(), input.data(), filter.data(), shape_.bias ? bias.data() : nullptr,
                           reference_.data());
  }

  Conv2dProblem const& problem() const { return shape_.problem; }
  ShapeCase const& shape() const { return shape_; }
  std::vector<double> const& reference() const { return reference_; }

  Conv2dArguments arguments(float* output) const {
    Conv2dArguments args;
    args.problem = problem();
    args.input = input_.data();
    args.filter = filter_.data();
    args.bias = shape_.bias ? bias_.data() : nullptr;
    args.output = output;
    return args;
  }

private:
  ShapeCase shape_;
  DeviceBuffer<float> input_;
  DeviceBuffer<float> filter_;
  DeviceBuffer<float> bias_;
  std::vector<double> reference_;
};

std::vector<std::unique_ptr<SharedOperands>> make_operands(std::uint64_t seed) {
  std::vector<std::unique_ptr<SharedOperands>> operands;
  for (char const* name : kConcurrencyShapes) {
    operands.push_back(std::make_unique<SharedOperands>(require_shape(name), seed));
    seed += 16;
  }
  return operands;
}

/// The result of one launch as plain values, so that worker threads can record it without Catch2 (whose assertions
/// are not thread-safe) and the main thread can check it.
struct LaunchRecord {
  std::string what;
  Status status = Status::kErrorCudaRuntime;
  cudaError_t error = cudaSuccess;
  reference::ErrorStats stats;
  std::int64_t changed_guard_words = -1;
};

/// Copies `output` back on `stream` (synchronizing only it) and compares it with `expected`, guards included. Makes
/// no Catch2 call.
void compare_output(GuardedOutput const& output, std::vector<double> const& expected, cudaStream_t stream,
                    LaunchRecord& record) {
  std::int64_t const n = output.size();
  constexpr std::int64_t kGuard = GuardedOutput::kGuardFloats;
  std::vector<float> host(static_cast<std::size_t>(n + 2 * kGuard));
  cudaError_t error =
      cudaMemcpyAsync(host.data(), output.data() - kGuard, host.size() * sizeof(float), cudaMemcpyDeviceToHost, stream);
  if (error == cudaSuccess) {
    error = cudaStreamSynchronize(stream);
  }
  if (error != cudaSuccess) {
    record.error = error;
    return;
  }
  std::vector<float> const front(host.begin(), host.begin() + kGuard);
  std::vector<float> const back(host.end() - kGuard, host.end());
  record.changed_guard_words = count_unpoisoned(front) + count_unpoisoned(back);
  record.stats = reference::error_stats_host(host.data() + kGuard, expected.data(), n);
}

/// CHECKs one record: the launch succeeded, wrote only its output, and matches the reference.
void check_record(LaunchRecord const& record) {
  INFO(record.what);
  INFO("status " << to_string(record.status) << ", CUDA error " << cudaGetErrorName(record.error) << ", "
                 << describe(record.stats) << ", changed guard words " << record.changed_guard_words);
  CHECK(record.status == Status::kSuccess);
  CHECK(record.error == cudaSuccess);
  CHECK(record.changed_guard_words == 0);
  CHECK(within_tolerance(record.stats));
}

/// The launcher a (thread, problem, round) uses: all of them in turn, the default one where a fixed gather does not
/// apply.
Launcher const& pick_launcher(std::vector<Launcher> const& launchers, Conv2dArguments const& args, std::size_t turn) {
  Launcher const& launcher = launchers[turn % launchers.size()];
  return launcher.applies(args) ? launcher : launchers.front();
}

// ---------------------------------------------------------------------------------------------------------------------
// Graph capture
// ---------------------------------------------------------------------------------------------------------------------

/// The outcome of capturing `body` on `stream` in cudaStreamCaptureModeGlobal.
struct Capture {
  cudaError_t begin = cudaSuccess;
  cudaError_t end = cudaSuccess;
  std::vector<Status> statuses;
  cudaGraph_t graph = nullptr;
  std::size_t nodes = 0;

  /// Whether the capture went through: every launch succeeded and the capture ended with a graph.
  bool ok() const {
    return begin == cudaSuccess && end == cudaSuccess && graph != nullptr &&
           std::all_of(statuses.begin(), statuses.end(), [](Status s) { return s == Status::kSuccess; });
  }
};

/// Captures what `body` enqueues on `stream` in global mode: a call that may synchronize or allocate, made by any
/// thread during the capture, fails or invalidates the capture. Clears the errors a failed capture leaves.
Capture capture_global(cudaStream_t stream, std::function<void(cudaStream_t, std::vector<Status>&)> const& body) {
  Capture capture;
  capture.begin = cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal);
  if (capture.begin != cudaSuccess) {
    return capture;
  }
  body(stream, capture.statuses);
  capture.end = cudaStreamEndCapture(stream, &capture.graph);
  if (capture.graph != nullptr && cudaGraphGetNodes(capture.graph, nullptr, &capture.nodes) != cudaSuccess) {
    capture.nodes = 0;
  }
  (void)cudaGetLastError(); // what a refused call left behind; the Capture has recorded it
  return capture;
}

std::string describe_capture(Capture const& capture) {
  std::string text = std::string("begin ") + cudaGetErrorName(capture.begin) + ", end " +
                     cudaGetErrorName(capture.end) + ", " + std::to_string(capture.nodes) + " nodes, statuses:";
  for (Status status : capture.statuses) {
    text += std::string(" ") + to_string(status);
  }
  return text;
}

// ---------------------------------------------------------------------------------------------------------------------
// Implicit synchronization
// ---------------------------------------------------------------------------------------------------------------------

/// Spins until the host sets `*release` or `timeout_ns` passes; then sets `*timed_out` if it was the timeout.
__global__ void wait_for_host_kernel(int const volatile* release, unsigned long long timeout_ns, int* timed_out) {
  unsigned long long start = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  while (*release == 0) {
    unsigned long long now = 0;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    if (now - start >= timeout_ns) {
      *timed_out = 1;
      return;
    }
    __nanosleep(2000);
  }
}

/// Mapped pinned host memory for the release flag.
class HostFlag {
public:
  HostFlag() {
    void* memory = nullptr;
    TILECONV_REQUIRE_CUDA(cudaHostAlloc(&memory, sizeof(int), cudaHostAllocMapped));
    flag_ = static_cast<int volatile*>(memory);
  }
  HostFlag(HostFlag const&) = delete;
  HostFlag& operator=(HostFlag const&) = delete;
  ~HostFlag() { TILECONV_CHECK_CUDA(cudaFreeHost(const_cast<int*>(flag_))); }
  void set(int value) {
    *flag_ = value;
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  int const volatile* device() const { return flag_; } // unified addressing: the host pointer is valid on the device

private:
  int volatile* flag_ = nullptr;
};

/// What happened to a kernel spinning on another stream while `launches` ran.
struct SyncProbe {
  bool other_stream_busy_after = false; ///< the spinning stream had not finished when `launches` returned
  bool spinner_timed_out = false;       ///< the spinner ended by its timeout, not by the host's release
  double seconds = 0.0;                 ///< host time `launches` took
  std::vector<Status> statuses;
};

/// Starts a kernel on a stream of its own that spins until released (or `timeout` passes), runs `launches` on
/// another stream, then asks whether the spinner is still running, and only then releases it. A launch path that
/// synchronizes the device (or the spinner's stream) cannot return before the timeout, and leaves the spinner
/// finished.
SyncProbe probe_synchronization(std::function<void(cudaStream_t, std::vector<Status>&)> const& launches,
                                std::chrono::milliseconds timeout) {
  HostFlag release;
  release.set(0);
  DeviceBuffer<int> timed_out(1);
  TILECONV_REQUIRE_CUDA(cudaMemset(timed_out.data(), 0, sizeof(int)));
  Stream spinning;
  Stream launching;
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());

  wait_for_host_kernel<<<1, 1, 0, spinning.get()>>>(
      release.device(), static_cast<unsigned long long>(timeout.count()) * 1000000ull, timed_out.data());
  TILECONV_REQUIRE_CUDA(cudaGetLastError());
  SyncProbe probe;
  auto const start = std::chrono::steady_clock::now();
  launches(launching.get(), probe.statuses);
  probe.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  cudaError_t const query = cudaStreamQuery(spinning.get());
  probe.other_stream_busy_after = query == cudaErrorNotReady;
  release.set(1);
  TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(spinning.get()));
  TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(launching.get()));
  (void)cudaGetLastError(); // cudaErrorNotReady is a state, not an error, but leave nothing behind either way
  int host_timed_out = 0;
  TILECONV_REQUIRE_CUDA(cudaMemcpy(&host_timed_out, timed_out.data(), sizeof(int), cudaMemcpyDeviceToHost));
  probe.spinner_timed_out = host_timed_out != 0;
  return probe;
}

// ---------------------------------------------------------------------------------------------------------------------
// Allocation
// ---------------------------------------------------------------------------------------------------------------------

/// Free device memory by cudaMemGetInfo after the device is idle.
std::size_t free_device_memory() {
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  TILECONV_REQUIRE_CUDA(cudaMemGetInfo(&free_bytes, &total_bytes));
  return free_bytes;
}

/// Every (problem, launcher) pair that applies, each with an output of its own.
struct LaunchPair {
  SharedOperands const* operands;
  Launcher const* launcher;
  std::unique_ptr<GuardedOutput> output;
  std::unique_ptr<DeviceBuffer<unsigned char>> workspace;
  Conv2dArguments args;
};

/// HOOK (TILECONV_TEST_SPLIT_K): the workspace a call is given: as much as the default launcher asks for
/// (conv2d_workspace_size), so that it may split the reduction or reorder the filter, and the fixed policies may
/// reorder theirs; none while split-K is switched off.
std::size_t workspace_bytes_for(Conv2dProblem const& problem) {
#if TILECONV_TEST_SPLIT_K
  return tileconv::conv2d_workspace_size(problem, current_device_info());
#else
  (void)problem;
  return 0;
#endif
}

std::vector<LaunchPair> all_pairs(std::vector<std::unique_ptr<SharedOperands>> const& operands,
                                  std::vector<Launcher> const& launchers) {
  std::vector<LaunchPair> pairs;
  for (auto const& op : operands) {
    for (Launcher const& launcher : launchers) {
      LaunchPair pair{
          op.get(),
          &launcher,
          std::make_unique<GuardedOutput>(op->problem().output_elements()),
          std::make_unique<DeviceBuffer<unsigned char>>(static_cast<std::int64_t>(workspace_bytes_for(op->problem()))),
          {}};
      pair.args = op->arguments(pair.output->data());
      pair.args.workspace = pair.workspace->size() > 0 ? pair.workspace->data() : nullptr;
      pair.args.workspace_bytes = pair.workspace->bytes();
      if (launcher.applies(pair.args)) {
        pairs.push_back(std::move(pair));
      }
    }
  }
  return pairs;
}

/// Runs every pair once on `stream` and checks it: loads each kernel and sets its attributes before a measurement.
void warm_up(std::vector<LaunchPair>& pairs, cudaStream_t stream) {
  for (LaunchPair& pair : pairs) {
    LaunchRecord record;
    record.what = pair.launcher->name + " on " + describe(pair.operands->shape()) + " (warm-up)";
    pair.output->poison(stream);
    record.status = pair.launcher->launch(pair.args, stream);
    record.error = cudaGetLastError();
    compare_output(*pair.output, pair.operands->reference(), stream, record);
    check_record(record);
  }
}

} // namespace

TEST_CASE("several host threads launching on several streams at once get correct results", "[gpu][concurrency]") {
  constexpr int kThreads = 8;
  constexpr int kRounds = 3;
  std::vector<std::unique_ptr<SharedOperands>> const operands = make_operands(7000);
  std::vector<Launcher> const launchers = shipped_launchers();

  // Everything that can REQUIRE is made here, on the main thread; the workers only launch, copy and record.
  std::vector<std::unique_ptr<Stream>> streams;
  std::vector<std::vector<std::unique_ptr<GuardedOutput>>> outputs(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    streams.push_back(std::make_unique<Stream>());
    for (auto const& op : operands) {
      outputs[t].push_back(std::make_unique<GuardedOutput>(op->problem().output_elements()));
    }
  }
  std::vector<std::vector<LaunchRecord>> records(kThreads);

  std::mutex mutex;
  std::condition_variable go;
  int waiting = 0;
  auto worker = [&](int t) {
    {
      // all threads start launching together
      std::unique_lock<std::mutex> lock(mutex);
      if (++waiting == kThreads) {
        go.notify_all();
      } else {
        go.wait(lock, [&] { return waiting == kThreads; });
      }
    }
    cudaStream_t const stream = streams[t]->get();
    for (int round = 0; round < kRounds; ++round) {
      std::vector<std::size_t> launched;
      std::vector<LaunchRecord> round_records;
      for (std::size_t i = 0; i < operands.size(); ++i) {
        std::size_t const p = (i + t) % operands.size(); // each thread in another order
        GuardedOutput& output = *outputs[t][p];
        Conv2dArguments const args = operands[p]->arguments(output.data());
        Launcher const& launcher = pick_launcher(launchers, args, t + p + round * 3);
        LaunchRecord record;
        record.what = "thread " + std::to_string(t) + ", round " + std::to_string(round) + ": " + launcher.name +
                      " on " + describe(operands[p]->shape());
        constexpr std::int64_t kGuard = GuardedOutput::kGuardFloats;
        record.error = cudaMemsetAsync(output.data() - kGuard, kPoisonByte,
                                       static_cast<std::size_t>(output.size() + 2 * kGuard) * sizeof(float), stream);
        record.status = launcher.launch(args, stream);
        if (record.error == cudaSuccess) {
          record.error = cudaPeekAtLastError();
        }
        round_records.push_back(record);
        launched.push_back(p);
      }
      // only this thread's stream is synchronized, so the other threads' launches keep running meanwhile
      for (std::size_t i = 0; i < launched.size(); ++i) {
        if (round_records[i].error == cudaSuccess) {
          compare_output(*outputs[t][launched[i]], operands[launched[i]]->reference(), stream, round_records[i]);
        }
        records[t].push_back(round_records[i]);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(worker, t);
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  TILECONV_REQUIRE_CUDA(cudaDeviceSynchronize());
  TILECONV_REQUIRE_CUDA(cudaGetLastError());

  std::size_t checked = 0;
  for (std::vector<LaunchRecord> const& thread_records : records) {
    for (LaunchRecord const& record : thread_records) {
      check_record(record);
      ++checked;
    }
  }
  CHECK(checked == kThreads * kRounds * operands.size());
}

TEST_CASE("launches capture into a CUDA graph in global capture mode and the graph replays correctly",
          "[gpu][concurrency][graph]") {
  std::vector<std::unique_ptr<SharedOperands>> const operands = make_operands(8000);
  std::vector<Launcher> const launchers = shipped_launchers();
  std::vector<LaunchPair> pairs = all_pairs(operands, launchers);
  Stream stream;
  warm_up(pairs, stream.get());

#if TILECONV_TEST_EPILOGUES
  // HOOK (TILECONV_TEST_EPILOGUES): one epilogue launch per problem in the graph, relu(conv + bias).
  std::vector<std::unique_ptr<GuardedOutput>> relu_outputs;
  for (auto const& op : operands) {
    relu_outputs.push_back(std::make_unique<GuardedOutput>(op->problem().output_elements()));
    // warm-up, like the other launches: the runtime loads a kernel's code at its first use
    TILECONV_REQUIRE_SUCCESS(
        tileconv::conv2d(op->arguments(relu_outputs.back()->data()), make_epilogue_chain(Relu{}), stream.get()));
  }
  TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
#endif

  Capture capture = capture_global(stream.get(), [&](cudaStream_t s, std::vector<Status>& statuses) {
    for (LaunchPair& pair : pairs) {
      // the poison is in the graph too: each replay must write every output element again
      statuses.push_back(
          cudaMemsetAsync(pair.output->data() - GuardedOutput::kGuardFloats, kPoisonByte,
                          static_cast<std::size_t>(pair.output->size() + 2 * GuardedOutput::kGuardFloats) *
                              sizeof(float),
                          s) == cudaSuccess
              ? Status::kSuccess
              : Status::kErrorCudaRuntime);
      statuses.push_back(pair.launcher->launch(pair.args, s));
    }
#if TILECONV_TEST_EPILOGUES
    for (std::size_t p = 0; p < operands.size(); ++p) {
      relu_outputs[p]->poison(s);
      statuses.push_back(
          tileconv::conv2d(operands[p]->arguments(relu_outputs[p]->data()), make_epilogue_chain(Relu{}), s));
    }
#endif
  });
  INFO(describe_capture(capture));
  REQUIRE(capture.ok());
  CHECK(capture.nodes >= 2 * pairs.size()); // a memset and at least one kernel per launch
  cudaGraphExec_t exec = nullptr;
  TILECONV_REQUIRE_CUDA(cudaGraphInstantiate(&exec, capture.graph, 0));

  for (int replay = 0; replay < 3; ++replay) {
    INFO("replay " << replay);
    // new operand values after the capture: the graph must read the buffers, not remember what they held
    for (std::size_t p = 0; p < operands.size(); ++p) {
      operands[p]->fill(9000 + 100 * replay + 16 * p);
    }
    TILECONV_REQUIRE_CUDA(cudaGraphLaunch(exec, stream.get()));
    TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
    for (LaunchPair const& pair : pairs) {
      LaunchRecord record;
      record.what = pair.launcher->name + " on " + describe(pair.operands->shape()) + " (graph)";
      record.status = Status::kSuccess;
      compare_output(*pair.output, pair.operands->reference(), stream.get(), record);
      check_record(record);
    }
#if TILECONV_TEST_EPILOGUES
    for (std::size_t p = 0; p < operands.size(); ++p) {
      std::vector<double> relu = operands[p]->reference();
      for (double& value : relu) {
        value = value < 0.0 ? 0.0 : value;
      }
      LaunchRecord record;
      record.what = "tileconv::conv2d(args, Relu) on " + describe(operands[p]->shape()) + " (graph)";
      record.status = Status::kSuccess;
      compare_output(*relu_outputs[p], relu, stream.get(), record);
      check_record(record);
    }
#endif
  }
  TILECONV_CHECK_CUDA(cudaGraphExecDestroy(exec));
  TILECONV_CHECK_CUDA(cudaGraphDestroy(capture.graph));
}

TEST_CASE("a launch neither waits for other streams nor synchronizes the device", "[gpu][concurrency][spin]") {
  std::vector<std::unique_ptr<SharedOperands>> const operands = make_operands(10000);
  std::vector<Launcher> const launchers = shipped_launchers();
  std::vector<LaunchPair> pairs = all_pairs(operands, launchers);
  {
    Stream stream;
    warm_up(pairs, stream.get());
    for (LaunchPair& pair : pairs) {
      pair.output->poison(stream.get()); // so that the check below sees the probe's launches, not the warm-up's
    }
    TILECONV_REQUIRE_CUDA(cudaStreamSynchronize(stream.get()));
  }
  // 20 s: reached only when a launch waits for the spinner, i.e. when the test fails
  SyncProbe const probe = probe_synchronization(
      [&](cudaStream_t stream, std::vector<Status>& statuses) {
        for (LaunchPair& pair : pairs) {
          statuses.push_back(pair.launcher->launch(pair.args, stream));
        }
      },
      std::chrono::milliseconds(20000));
  INFO(pairs.size() << " launches took " << probe.seconds << " s on the host");
  CHECK(probe.other_stream_busy_after);
  CHECK_FALSE(probe.spinner_timed_out);
  for (Status status : probe.statuses) {
    CHECK(status == Status::kSuccess);
  }
  // and the launches queued behind nothing still computed the right thing
  Stream stream;
  for (LaunchPair& pair : pairs) {
    LaunchRecord record;
    record.what = pair.launcher->name + " on " + describe(pair.operands->shape()) + " (next to a spinning stream)";
    record.status = Status::kSuccess;
    compare_output(*pair.output, pair.operands->reference(), stream.get(), record);
    check_record(record);
  }
}

TEST_CASE("many launches allocate no device memory", "[gpu][concurrency][memory]") {
  std::vector<std::unique_ptr<SharedOperands>> const operands = make_operands(11000);
  std::vector<Launcher> const launchers = shipped_launchers();
  std::vector<LaunchPair> pairs = all_pairs(operands, launchers);
  Stream stream;
  warm_up(pairs, stream.get());
  std::size_t const before = free_device_memory();
  constexpr int kRepeats = 10;
  for (int repeat = 0; repeat < kRepeats; ++repeat) {
    for (LaunchPair& pair : pairs) {
      Status const status = pair.launcher->launch(pair.args, stream.get());
      if (status != Status::kSuccess) {
        INFO(pair.launcher->name << " on " << describe(pair.operands->shape()));
        REQUIRE(status == Status::kSuccess);
      }
    }
  }
  std::size_t const after = free_device_memory();
  INFO(kRepeats * pairs.size() << " launches; free device memory before " << before << " B, after " << after << " B");
  CHECK(after == before);
}

TEST_CASE("the side-effect detectors catch a planted allocation, synchronization and leak",
          "[gpu][concurrency][selfcheck]") {
  // Fake launchers, each doing one forbidden thing, through the same helpers as the tests above.
  Stream stream;
  SECTION("global-mode capture refuses a cudaMalloc in the launch path") {
    void* leaked = nullptr;
    Capture capture = capture_global(stream.get(), [&](cudaStream_t, std::vector<Status>& statuses) {
      statuses.push_back(cudaMalloc(&leaked, 1 << 20) == cudaSuccess ? Status::kSuccess : Status::kErrorCudaRuntime);
    });
    INFO(describe_capture(capture));
    CHECK_FALSE(capture.ok());
    if (leaked != nullptr) {
      TILECONV_CHECK_CUDA(cudaFree(leaked));
    }
    if (capture.graph != nullptr) {
      TILECONV_CHECK_CUDA(cudaGraphDestroy(capture.graph));
    }
  }
  SECTION("global-mode capture refuses a cudaDeviceSynchronize in the launch path") {
    Capture capture = capture_global(stream.get(), [&](cudaStream_t, std::vector<Status>& statuses) {
      statuses.push_back(cudaDeviceSynchronize() == cudaSuccess ? Status::kSuccess : Status::kErrorCudaRuntime);
    });
    INFO(describe_capture(capture));
    CHECK_FALSE(capture.ok());
    if (capture.graph != nullptr) {
      TILECONV_CHECK_CUDA(cudaGraphDestroy(capture.graph));
    }
  }
  SECTION("the spin probe sees a cudaDeviceSynchronize") {
    SyncProbe const probe = probe_synchronization(
        [](cudaStream_t, std::vector<Status>& statuses) {
          statuses.push_back(cudaDeviceSynchronize() == cudaSuccess ? Status::kSuccess : Status::kErrorCudaRuntime);
        },
        std::chrono::milliseconds(500));
    CHECK_FALSE(probe.other_stream_busy_after);
    CHECK(probe.spinner_timed_out);
  }
  SECTION("cudaMemGetInfo sees a launcher that keeps 4 MiB per call") {
    std::vector<void*> kept;
    std::size_t const before = free_device_memory();
    for (int i = 0; i < 4; ++i) {
      void* pointer = nullptr;
      TILECONV_REQUIRE_CUDA(cudaMalloc(&pointer, 4 << 20));
      kept.push_back(pointer);
    }
    std::size_t const after = free_device_memory();
    CHECK(after < before);
    for (void* pointer : kept) {
      TILECONV_CHECK_CUDA(cudaFree(pointer));
    }
  }
}

} // namespace test
} // namespace tileconv
