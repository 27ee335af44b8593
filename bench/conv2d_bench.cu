// tileconv against cuDNN on the public shape suite (bench/shapes.csv), with Google Benchmark.
//
// Benchmarks are named conv2d/<contender>/<shape>, one per contender and row of the CSV:
//   tileconv         tileconv::conv2d(args, device_info, stream), the default launcher
//   tileconv_autotuned  tileconv::conv2d_autotuned(args, stream): the opt-in autotuner's pick, tuned once per shape
//                    outside timing (depthwise and few-channel grouped shapes: the default launcher's direct kernel)
//   cudnn_nchw_tf32  cuDNN, NCHW tensors, TF32 allowed (CUDNN_DEFAULT_MATH)
//   cudnn_nhwc_tf32  cuDNN, NHWC tensors (copies made outside timing), TF32 allowed
//   cudnn_nchw_fp32  cuDNN, NCHW tensors, FMA kernels only (CUDNN_FMA_MATH): the accuracy reference
// All contenders of a shape run in this process on the same device buffers (the NHWC ones hold the same values).
//
// Timing: CUDA events around one launch, reported as manual time; warm-up launches before the measured loop; the
// operands (input, filter, output) are rotated over enough copies that more than twice the L2 passes between two
// uses of one copy; the stream is held while the host queues each launch, so the events see GPU time only.
// Counters: TFLOP/s (problem.flops()), bytes_per_second (input + filter + output, each once), rel_err and
// rel_err_max against cudnn_nchw_fp32's output on the same shape (computed once, outside timing).

#include "bench_util.cuh"
#include "cudnn_conv.hpp"
#include "error.hpp"
#include "shape_table.hpp"

#include <tileconv/reference/error_stats.cuh>
#include <tileconv/reference/random_fill.cuh>
#include <tileconv/tileconv.cuh>

#include <benchmark/benchmark.h>
#include <cudnn.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#ifndef TILECONV_BENCH_SHAPES_CSV
#define TILECONV_BENCH_SHAPES_CSV "bench/shapes.csv"
#endif
#ifndef TILECONV_BENCH_VERSION
#define TILECONV_BENCH_VERSION "unknown"
#endif

namespace tileconv_bench {
namespace {

enum class Contender { kTileconv, kTileconvAutotuned, kCudnnNchwTf32, kCudnnNhwcTf32, kCudnnNchwFp32 };
constexpr Contender kContenders[] = {Contender::kTileconv, Contender::kTileconvAutotuned, Contender::kCudnnNchwTf32,
                                     Contender::kCudnnNhwcTf32, Contender::kCudnnNchwFp32};
constexpr int kNumContenders = sizeof(kContenders) / sizeof(kContenders[0]);

constexpr char const* contender_name(Contender contender) {
  switch (contender) {
  case Contender::kTileconv:
    return "tileconv";
  case Contender::kTileconvAutotuned:
    return "tileconv_autotuned";
  case Contender::kCudnnNchwTf32:
    return "cudnn_nchw_tf32";
  case Contender::kCudnnNhwcTf32:
    return "cudnn_nhwc_tf32";
  case Contender::kCudnnNchwFp32:
    return "cudnn_nchw_fp32";
  }
  return "unknown";
}

constexpr bool is_nhwc(Contender contender) { return contender == Contender::kCudnnNhwcTf32; }
constexpr bool is_tileconv(Contender contender) {
  return contender == Contender::kTileconv || contender == Contender::kTileconvAutotuned;
}

struct Options {
  std::string shapes_path = TILECONV_BENCH_SHAPES_CSV;
  bool min_time_given = false; // --benchmark_min_time on the command line
  std::size_t workspace_cap = std::size_t{4} << 30;
  bool help = false;
};

// The minimum measured time per repetition unless --benchmark_min_time says otherwise: Google Benchmark's 0.5 s
// would make the suite (13 shapes x 5 contenders x 5 repetitions) take minutes; 0.1 s still times every benchmark
// over >= 7 launches per repetition (the seed shape with FP32 cuDNN, 14 ms each) and the suite takes about 75 s on
// an H100. Given as the flag rather than Benchmark::MinTime(), which would add "/min_time:0.100" to every name;
// Google Benchmark 1.8 wants a unit suffix that 1.7 does not read.
#if TILECONV_BENCH_MIN_TIME_SUFFIX
constexpr char const* kDefaultMinTimeFlag = "--benchmark_min_time=0.1s";
#else
constexpr char const* kDefaultMinTimeFlag = "--benchmark_min_time=0.1";
#endif

// Operands rotate over copies until at least this many times the L2 lies between two uses of one copy
// (2.4 x 50 MiB = 120 MiB on the H100).
constexpr double kRotationL2Multiple = 2.4;
// Warm-up launches before each measured loop (also the first launches after a shape's set-up).
constexpr int kWarmupLaunches = 3;
// Timed launches of each cuDNN candidate algorithm when choosing among them.
constexpr int kSelectionLaunches = 10;

std::string status_check(tileconv::Status status, cudaError_t cuda_error, char const* what) {
  if (status == tileconv::Status::kSuccess) {
    return std::string();
  }
  std::string text = std::string(what) + ": " + tileconv::to_string(status);
  if (cuda_error != cudaSuccess) {
    text += std::string(" (") + cudaGetErrorName(cuda_error) + ")";
  }
  return text;
}

/// `copies` copies of (input, filter, output) in one allocation, each part 256-byte aligned.
class OperandSet {
public:
  std::string allocate(tileconv::Conv2dProblem const& problem, int copies, char const* what) {
    input_bytes_ = align_up(sizeof(float) * static_cast<std::size_t>(problem.input_elements()));
    filter_bytes_ = align_up(sizeof(float) * static_cast<std::size_t>(problem.filter_elements()));
    output_bytes_ = align_up(sizeof(float) * static_cast<std::size_t>(problem.output_elements()));
    copies_ = copies;
    return memory_.allocate(copy_bytes() * static_cast<std::size_t>(copies), what);
  }
  bool allocated() const { return memory_.get() != nullptr; }
  std::size_t copy_bytes() const { return input_bytes_ + filter_bytes_ + output_bytes_; }
  float* input(int copy) const { return memory_.at_byte<float>(copy_bytes() * copy); }
  float* filter(int copy) const { return memory_.at_byte<float>(copy_bytes() * copy + input_bytes_); }
  float* output(int copy) const { return memory_.at_byte<float>(copy_bytes() * copy + input_bytes_ + filter_bytes_); }

  /// Copies the input and filter of copy 0 to the other copies.
  std::string replicate(cudaStream_t stream) const {
    for (int copy = 1; copy < copies_; ++copy) {
      TILECONV_BENCH_TRY(cuda_check(
          cudaMemcpyAsync(input(copy), input(0), input_bytes_ + filter_bytes_, cudaMemcpyDeviceToDevice, stream),
          "cudaMemcpyAsync(operand copy)"));
    }
    return std::string();
  }

private:
  DeviceBuffer memory_;
  std::size_t input_bytes_ = 0;
  std::size_t filter_bytes_ = 0;
  std::size_t output_bytes_ = 0;
  int copies_ = 0;
};

/// What one contender found on the current shape: prepared once, reused by every call of its benchmark.
struct ContenderState {
  bool prepared = false;
  std::string error;                // non-empty: the contender cannot run this shape; reported with SkipWithError
  std::unique_ptr<CudnnConv> cudnn; // cuDNN contenders
  std::size_t tileconv_workspace_bytes = 0; // tileconv: conv2d_workspace_size(), allocated outside the loop
  tileconv::reference::ErrorStats stats;
  bool have_stats = false;
  bool gated = true; // the stream gate works with this contender's launches
  std::string label;
};

/// Process-wide state: device, stream, cuDNN handle, and the buffers of the one shape in use. Benchmarks run shape by
/// shape in registration order, so each shape's buffers are set up once, shared by its contenders, and freed before
/// the next shape's are allocated (any other order, e.g. --benchmark_enable_random_interleaving, still works).
class Bench {
public:
  Bench(std::vector<Shape> shapes, Options options) : shapes_(std::move(shapes)), options_(std::move(options)) {}
  Bench(Bench const&) = delete;
  Bench& operator=(Bench const&) = delete;
  ~Bench() {
    close_shape();
    if (start_ != nullptr) {
      cudaEventDestroy(start_);
    }
    if (stop_ != nullptr) {
      cudaEventDestroy(stop_);
    }
    if (cudnn_ != nullptr) {
      cudnnDestroy(cudnn_);
    }
    if (stream_ != nullptr) {
      cudaStreamDestroy(stream_);
    }
  }

  std::string init() {
    int device = 0;
    TILECONV_BENCH_TRY(cuda_check(cudaGetDevice(&device), "cudaGetDevice"));
    cudaError_t cuda_error = cudaSuccess;
    TILECONV_BENCH_TRY(status_check(tileconv::DeviceInfo::query(device, &device_, &cuda_error), cuda_error,
                                    "tileconv::DeviceInfo::query"));
    TILECONV_BENCH_TRY(
        cuda_check(cudaDeviceGetAttribute(&l2_bytes_, cudaDevAttrL2CacheSize, device), "cudaDeviceGetAttribute(L2)"));
    TILECONV_BENCH_TRY(cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate"));
    TILECONV_BENCH_TRY(cuda_check(cudaEventCreate(&start_), "cudaEventCreate"));
    TILECONV_BENCH_TRY(cuda_check(cudaEventCreate(&stop_), "cudaEventCreate"));
    TILECONV_BENCH_TRY(gate_.init());
    TILECONV_BENCH_TRY(cudnn_check(cudnnCreate(&cudnn_), "cudnnCreate"));
    TILECONV_BENCH_TRY(cudnn_check(cudnnSetStream(cudnn_, stream_), "cudnnSetStream"));
    return std::string();
  }

  /// The device, driver and library versions, and how the timing is done, into the JSON's "context".
  void add_context() const {
    cudaDeviceProp prop;
    std::memset(&prop, 0, sizeof(prop));
    cudaGetDeviceProperties(&prop, device_.device);
    int driver = 0;
    int runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    auto cuda_version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
    std::size_t const cudnn = cudnnGetVersion();
    char text[256];
    benchmark::AddCustomContext("device", prop.name);
    benchmark::AddCustomContext("compute_capability",
                                std::to_string(device_.cc_major) + "." + std::to_string(device_.cc_minor));
    benchmark::AddCustomContext("sm_count", std::to_string(device_.sm_count));
    std::snprintf(text, sizeof(text), "%.1f", double(l2_bytes_) / (1 << 20));
    benchmark::AddCustomContext("l2_cache_mib", text);
    std::snprintf(text, sizeof(text), "%.1f", double(prop.totalGlobalMem) / (std::size_t{1} << 30));
    benchmark::AddCustomContext("memory_gib", text);
    benchmark::AddCustomContext("nvidia_driver", nvidia_driver_version());
    benchmark::AddCustomContext("cuda_driver_api", cuda_version(driver));
    benchmark::AddCustomContext("cuda_runtime", cuda_version(runtime));
    benchmark::AddCustomContext("cudnn_version", std::to_string(cudnn / 10000) + "." +
                                                     std::to_string(cudnn % 10000 / 100) + "." +
                                                     std::to_string(cudnn % 100));
    benchmark::AddCustomContext("tileconv_version", TILECONV_BENCH_VERSION);
    benchmark::AddCustomContext("shapes_csv", options_.shapes_path);
    std::snprintf(text, sizeof(text),
                  "CUDA events around each launch (manual time), %d warm-up launches, operands rotated so that "
                  ">= %.0f MiB pass between reuses, stream held while the host queues a launch",
                  kWarmupLaunches, rotation_budget() / (1 << 20));
    benchmark::AddCustomContext("timing", text);
    std::snprintf(text, sizeof(text), "%zu", options_.workspace_cap >> 20);
    benchmark::AddCustomContext("cudnn_workspace_cap_mib", text);
  }

  /// The body of benchmark conv2d/<contender>/<shape>.
  void run(benchmark::State& state, std::size_t shape_index, Contender contender) {
    ContenderState* cs = nullptr;
    std::string error = select_shape(shape_index);
    if (error.empty()) {
      error = prepare(contender, &cs);
    }
    if (error.empty()) {
      error = warm_up(contender, cs);
    }
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
    Session const& s = *session_;
    int copy = 0;
    for (auto _ : state) {
      float ms = 0.0f;
      std::string launch_error = timed_launch(contender, cs->gated, copy, &ms);
      if (!launch_error.empty()) {
        state.SkipWithError(launch_error.c_str());
        break;
      }
      state.SetIterationTime(double(ms) * 1e-3);
      copy = copy + 1 < s.copies ? copy + 1 : 0;
    }
    if (cs->gated && gate_.timed_out()) {
      std::fprintf(stderr, "tileconv_bench: %s on %s: the stream gate timed out; times include launch overhead\n",
                   contender_name(contender), s.shape.name.c_str());
    }
    tileconv::Conv2dProblem const& problem = s.shape.problem;
    double const bytes =
        sizeof(float) * (double(problem.input_elements()) + double(problem.filter_elements()) +
                         double(problem.output_elements()) + (s.shape.bias ? problem.out_channels : 0));
    state.counters["TFLOP/s"] =
        benchmark::Counter(problem.flops() * 1e-12, benchmark::Counter::kIsIterationInvariantRate);
    state.SetBytesProcessed(static_cast<std::int64_t>(double(state.iterations()) * bytes));
    double const nan = std::nan("");
    state.counters["rel_err"] = cs->have_stats ? cs->stats.relative_l2() : nan;
    state.counters["rel_err_max"] = cs->have_stats ? cs->stats.relative_max() : nan;
    state.counters["operand_copies"] = s.copies;
    state.SetLabel(cs->gated ? cs->label : cs->label + ", ungated");
  }

  /// Frees the current shape's buffers and cuDNN descriptors.
  void close_shape() {
    if (stream_ != nullptr) {
      cudaStreamSynchronize(stream_);
    }
    session_.reset();
  }

private:
  struct Session {
    std::size_t index = 0;
    Shape shape;
    int copies = 1;
    OperandSet nchw;
    OperandSet nhwc; // allocated when the NHWC contender first runs
    DeviceBuffer bias;
    DeviceBuffer reference; // cudnn_nchw_fp32's output, NCHW
    DeviceBuffer workspace; // cuDNN's, grown to the largest any contender of this shape asks for
    DeviceBuffer reduce_temp;
    DeviceBuffer reduce_result;
    std::string setup_error;
    std::string reference_error;
    ContenderState contenders[kNumContenders];
  };

  double rotation_budget() const { return kRotationL2Multiple * double(l2_bytes_); }

  /// Makes shape `index` the current one; its set-up error, if any (then its contenders are all skipped with it).
  std::string select_shape(std::size_t index) {
    if (session_ != nullptr && session_->index == index) {
      return session_->setup_error;
    }
    close_shape();
    session_ = std::make_unique<Session>();
    session_->index = index;
    session_->shape = shapes_[index];
    std::string error = set_up_shape();
    if (!error.empty()) {
      // keep the error, free what was allocated
      close_shape();
      session_ = std::make_unique<Session>();
      session_->index = index;
      session_->shape = shapes_[index];
      session_->setup_error = error;
    }
    return error;
  }

  std::string set_up_shape() {
    Session& s = *session_;
    tileconv::Conv2dProblem const& problem = s.shape.problem;

    // One copy when a single working set already exceeds the budget (the seed shape: 3.2 GB); else enough copies.
    double const working_set =
        double(sizeof(float)) *
        (double(problem.input_elements()) + double(problem.filter_elements()) + double(problem.output_elements()));
    s.copies = working_set >= rotation_budget() ? 1 : std::max(2, int(std::ceil(rotation_budget() / working_set)));

    TILECONV_BENCH_TRY(s.nchw.allocate(problem, s.copies, "cudaMalloc(NCHW operands)"));
    TILECONV_BENCH_TRY(
        status_check(tileconv::reference::random_fill_device(s.nchw.input(0), problem.input_elements(), 1, stream_),
                     cudaSuccess, "random_fill_device(input)"));
    TILECONV_BENCH_TRY(
        status_check(tileconv::reference::random_fill_device(s.nchw.filter(0), problem.filter_elements(), 2, stream_),
                     cudaSuccess, "random_fill_device(filter)"));
    TILECONV_BENCH_TRY(s.nchw.replicate(stream_));
    if (s.shape.bias) {
      TILECONV_BENCH_TRY(s.bias.allocate(sizeof(float) * problem.out_channels, "cudaMalloc(bias)"));
      TILECONV_BENCH_TRY(
          status_check(tileconv::reference::random_fill_device(s.bias.get<float>(), problem.out_channels, 3, stream_),
                       cudaSuccess, "random_fill_device(bias)"));
    }
    TILECONV_BENCH_TRY(s.reference.allocate(sizeof(float) * static_cast<std::size_t>(problem.output_elements()),
                                            "cudaMalloc(reference)"));
    TILECONV_BENCH_TRY(s.reduce_result.allocate(sizeof(tileconv::reference::ErrorStats), "cudaMalloc(error stats)"));
    // The reference: cuDNN without TF32. Where it fails, the other contenders still run, with NaN errors.
    ContenderState* fp32 = nullptr;
    std::string const error = prepare(Contender::kCudnnNchwFp32, &fp32);
    s.reference_error = error.empty() ? std::string() : "no reference (" + error + ")";
    return cuda_check(cudaStreamSynchronize(stream_), ("set-up of shape " + s.shape.name).c_str());
  }

  std::string ensure_nhwc() {
    Session& s = *session_;
    if (s.nhwc.allocated()) {
      return std::string();
    }
    tileconv::Conv2dProblem const& p = s.shape.problem;
    TILECONV_BENCH_TRY(s.nhwc.allocate(p, s.copies, "cudaMalloc(NHWC operands)"));
    TILECONV_BENCH_TRY(
        nchw_to_nhwc(s.nchw.input(0), s.nhwc.input(0), p.batch, p.in_channels, std::int64_t{p.in_h} * p.in_w, stream_));
    // filter (K, C/g, R, S) -> (K, R, S, C/g), cuDNN's NHWC filter layout
    TILECONV_BENCH_TRY(nchw_to_nhwc(s.nchw.filter(0), s.nhwc.filter(0), p.out_channels, p.in_channels_per_group(),
                                    std::int64_t{p.filter_h} * p.filter_w, stream_));
    return s.nhwc.replicate(stream_);
  }

  std::string ensure_workspace(std::size_t bytes) {
    Session& s = *session_;
    if (s.workspace.bytes() >= bytes) {
      return std::string();
    }
    TILECONV_BENCH_TRY(cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"));
    return s.workspace.allocate(bytes, "cudaMalloc(cuDNN workspace)");
  }

  /// The launch of `contender` on operand copy `copy`, queued on the stream.
  std::string launch(Contender contender, int copy) {
    Session& s = *session_;
    ContenderState const& cs = s.contenders[static_cast<int>(contender)];
    if (is_tileconv(contender)) {
      tileconv::Conv2dArguments const args{
          s.shape.problem,     s.nchw.input(copy), s.nchw.filter(copy),        s.bias.get<float>(),
          s.nchw.output(copy), s.workspace.get(),  cs.tileconv_workspace_bytes};
      cudaError_t cuda_error = cudaSuccess;
      tileconv::Status const status = contender == Contender::kTileconv
                                          ? tileconv::conv2d(args, device_, stream_, &cuda_error)
                                          : tileconv::conv2d_autotuned(args, stream_, &cuda_error);
      return status_check(status, cuda_error, contender_name(contender));
    }
    OperandSet const& operands = is_nhwc(contender) ? s.nhwc : s.nchw;
    return cs.cudnn->run(cudnn_, operands.input(copy), operands.filter(copy), s.bias.get<float>(),
                         operands.output(copy), s.workspace.get(), cs.cudnn->workspace_bytes());
  }

  /// Sets up `contender` on the current shape the first time it is asked for: cuDNN's algorithm search, one run,
  /// and the error against the reference.
  std::string prepare(Contender contender, ContenderState** out) {
    Session& s = *session_;
    ContenderState& cs = s.contenders[static_cast<int>(contender)];
    *out = &cs;
    if (!cs.prepared) {
      cs.prepared = true;
      cs.error = prepare_once(contender, cs);
    }
    return cs.error;
  }

  std::string prepare_once(Contender contender, ContenderState& cs) {
    Session& s = *session_;
    tileconv::Conv2dProblem const& problem = s.shape.problem;
    if (contender == Contender::kTileconv) {
      // the workspace the default launcher asks for (split-K partials, reordered filter, channels-last copy), like
      // cuDNN's
      cs.tileconv_workspace_bytes = tileconv::conv2d_workspace_size(problem, device_);
      TILECONV_BENCH_TRY(ensure_workspace(cs.tileconv_workspace_bytes));
      tileconv::LaunchPlan plan;
      cudaError_t cuda_error = cudaSuccess;
      tileconv::Status const status =
          tileconv::plan_conv2d(problem, device_, &plan, cs.tileconv_workspace_bytes, &cuda_error);
      if (status != tileconv::Status::kSuccess) {
        return status_check(status, cuda_error, "tileconv");
      }
      char text[200];
      char const* const name = plan.policy_name != nullptr ? plan.policy_name : "?";
      if (plan.block_oc == 0) { // the direct kernel: no tile policy
        std::snprintf(text, sizeof(text), "%s kernel, %.2f waves", name, plan.waves());
      } else {
        std::snprintf(text, sizeof(text), "%s, %s gather, tile %dx%dx%d, %d stages, split-K %d, %.2f waves", name,
                      tileconv::to_string(plan.gather), plan.block_oc, plan.block_ow, plan.block_r, plan.stages,
                      plan.split_k, plan.waves());
      }
      cs.label = text;
    } else if (contender == Contender::kTileconvAutotuned) {
      // the default launcher's workspace; the tuning itself (it synchronizes) happens here, outside timing
      cs.tileconv_workspace_bytes = tileconv::conv2d_workspace_size(problem, device_);
      TILECONV_BENCH_TRY(ensure_workspace(cs.tileconv_workspace_bytes));
      tileconv::Conv2dArguments const args{
          problem,          s.nchw.input(0),   s.nchw.filter(0),           s.bias.get<float>(),
          s.nchw.output(0), s.workspace.get(), cs.tileconv_workspace_bytes};
      if (tileconv::DirectConv2d::takes(problem, device_)) {
        cs.label = "direct kernel, nothing to tune";
      } else {
        tileconv::KernelChoice best;
        cudaError_t cuda_error = cudaSuccess;
        TILECONV_BENCH_TRY(status_check(tileconv::autotune_conv2d(args, stream_, &best, &cuda_error), cuda_error,
                                        "tileconv::autotune_conv2d"));
        tileconv::KernelChoice const model = tileconv::choose_kernel(problem, device_, cs.tileconv_workspace_bytes);
        cs.label = std::string(tileconv::to_string(best.policy)) + ", split-K " + std::to_string(best.split_k) +
                   " (the model's: " + tileconv::to_string(model.policy) + ", split-K " +
                   std::to_string(model.split_k) + ")";
      }
    } else {
      if (is_nhwc(contender)) {
        TILECONV_BENCH_TRY(ensure_nhwc());
      }
      OperandSet const& operands = is_nhwc(contender) ? s.nhwc : s.nchw;
      cs.cudnn = std::make_unique<CudnnConv>();
      TILECONV_BENCH_TRY(cs.cudnn->init(problem, is_nhwc(contender) ? Layout::kNhwc : Layout::kNchw,
                                        contender == Contender::kCudnnNchwFp32 ? Math::kFp32 : Math::kTf32,
                                        s.shape.bias));
      std::size_t const search_bytes = cs.cudnn->max_workspace(cudnn_, options_.workspace_cap);
      TILECONV_BENCH_TRY(ensure_workspace(search_bytes));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> candidates;
      TILECONV_BENCH_TRY(cs.cudnn->candidates(cudnn_, operands.input(0), operands.filter(0), operands.output(0),
                                              s.workspace.get(), search_bytes, &candidates));
      TILECONV_BENCH_TRY(choose_algorithm(contender, cs, candidates));
      cs.label = cs.cudnn->description() + " (fastest of " + std::to_string(candidates.size()) + ")";
    }
    if (s.copies > 1) {
      cs.label += ", " + std::to_string(s.copies) + " operand copies";
    }

    // One run on copy 0 over a NaN-filled output (an element the contender misses cannot pass), then the error.
    OperandSet const& operands = is_nhwc(contender) ? s.nhwc : s.nchw;
    std::size_t const output_bytes = sizeof(float) * static_cast<std::size_t>(problem.output_elements());
    TILECONV_BENCH_TRY(cuda_check(cudaMemsetAsync(operands.output(0), 0xFF, output_bytes, stream_), "cudaMemsetAsync"));
    TILECONV_BENCH_TRY(launch(contender, 0));
    float const* result = operands.output(0);
    if (is_nhwc(contender)) {
      // compare in NCHW: the NCHW set's output of copy 0 is free as scratch here
      TILECONV_BENCH_TRY(nhwc_to_nchw(operands.output(0), s.nchw.output(0), problem.batch, problem.out_channels,
                                      std::int64_t{problem.out_h()} * problem.out_w(), stream_));
      result = s.nchw.output(0);
    }
    if (contender == Contender::kCudnnNchwFp32 && s.reference_error.empty()) {
      // the first run of the reference contender is the reference; compare a second run with it (run-to-run noise)
      TILECONV_BENCH_TRY(cuda_check(
          cudaMemcpyAsync(s.reference.get(), result, output_bytes, cudaMemcpyDeviceToDevice, stream_), "cudaMemcpy"));
      TILECONV_BENCH_TRY(launch(contender, 0));
    }
    if (!s.reference_error.empty()) {
      cs.label += ", " + s.reference_error;
    } else {
      TILECONV_BENCH_TRY(error_stats(result, &cs.stats));
      cs.have_stats = true;
    }
    return cuda_check(cudaStreamSynchronize(stream_), "first run");
  }

  /// Times each of cuDNN's candidate algorithms as the benchmark will time the winner (warm-up launches, then
  /// kSelectionLaunches gated launches over the rotated operand copies) and keeps the one with the lowest median.
  /// Timed with a warm L2 instead, or after flushing it by writing a scratch buffer (whose write-backs then land in
  /// the timed launch), the choice differed from the benchmark's ranking on some shapes (0.37 vs 0.33 ms).
  std::string choose_algorithm(Contender contender, ContenderState& cs,
                               std::vector<cudnnConvolutionFwdAlgoPerf_t> const& candidates) {
    int const copies = session_->copies;
    float best_ms = 0.0f;
    int best = -1;
    std::string last_error;
    for (int i = 0; i < static_cast<int>(candidates.size()); ++i) {
      std::string error = cs.cudnn->use(candidates[i]);
      if (error.empty()) {
        error = warm_up(contender, &cs);
      }
      float times[kSelectionLaunches];
      for (int k = 0; k < kSelectionLaunches && error.empty(); ++k) {
        error = timed_launch(contender, cs.gated, k % copies, &times[k]);
      }
      if (!error.empty()) {
        last_error = error;
        continue;
      }
      std::sort(times, times + kSelectionLaunches);
      float const median = times[kSelectionLaunches / 2];
      if (best < 0 || median < best_ms) {
        best = i;
        best_ms = median;
      }
    }
    if (best < 0) {
      return "no cuDNN algorithm ran: " + last_error;
    }
    return cs.cudnn->use(candidates[best]);
  }

  std::string error_stats(float const* actual, tileconv::reference::ErrorStats* stats) {
    Session& s = *session_;
    std::int64_t const n = s.shape.problem.output_elements();
    float const* expected = s.reference.get<float>();
    auto* result = s.reduce_result.get<tileconv::reference::ErrorStats>();
    std::size_t temp_bytes = 0;
    cudaError_t cuda_error = cudaSuccess;
    TILECONV_BENCH_TRY(status_check(
        tileconv::reference::error_stats_device(nullptr, temp_bytes, actual, expected, n, result, stream_, &cuda_error),
        cuda_error, "error_stats_device"));
    if (s.reduce_temp.bytes() < temp_bytes) {
      TILECONV_BENCH_TRY(cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"));
      TILECONV_BENCH_TRY(s.reduce_temp.allocate(temp_bytes, "cudaMalloc(reduction)"));
    }
    TILECONV_BENCH_TRY(status_check(tileconv::reference::error_stats_device(s.reduce_temp.get(), temp_bytes, actual,
                                                                            expected, n, result, stream_, &cuda_error),
                                    cuda_error, "error_stats_device"));
    TILECONV_BENCH_TRY(cuda_check(cudaMemcpyAsync(stats, result, sizeof(*stats), cudaMemcpyDeviceToHost, stream_),
                                  "cudaMemcpyAsync(error stats)"));
    return cuda_check(cudaStreamSynchronize(stream_), "error statistics");
  }

  /// Launches outside the measured loop; also finds out whether the stream gate works with this contender.
  std::string warm_up(Contender contender, ContenderState* cs) {
    int const copies = session_->copies;
    gate_.timed_out(); // clear
    for (int i = 0; i < kWarmupLaunches; ++i) {
      if (cs->gated) {
        TILECONV_BENCH_TRY(gate_.close(stream_));
      }
      std::string const error = launch(contender, i % copies);
      gate_.open();
      TILECONV_BENCH_TRY(error);
      TILECONV_BENCH_TRY(cuda_check(cudaStreamSynchronize(stream_), "warm-up"));
      if (cs->gated && gate_.timed_out()) {
        cs->gated = false; // the launch blocked the host until the GPU moved on: time it without the gate
      }
    }
    return std::string();
  }

  /// One launch between two CUDA events; its time in `*ms`.
  std::string timed_launch(Contender contender, bool gated, int copy, float* ms) {
    if (gated) {
      TILECONV_BENCH_TRY(gate_.close(stream_));
    }
    std::string error = cuda_check(cudaEventRecord(start_, stream_), "cudaEventRecord");
    if (error.empty()) {
      error = launch(contender, copy);
    }
    if (error.empty()) {
      error = cuda_check(cudaEventRecord(stop_, stream_), "cudaEventRecord");
    }
    gate_.open();
    TILECONV_BENCH_TRY(error);
    TILECONV_BENCH_TRY(cuda_check(cudaEventSynchronize(stop_), "cudaEventSynchronize"));
    return cuda_check(cudaEventElapsedTime(ms, start_, stop_), "cudaEventElapsedTime");
  }

  static std::string nvidia_driver_version() {
    // "NVRM version: NVIDIA UNIX [Open Kernel Module for] x86_64 [Kernel Module]  580.159.04  <date>" on Linux: the
    // first word of digits and dots with at least one dot. The runtime API only knows the CUDA version.
    std::ifstream file("/proc/driver/nvidia/version");
    std::string line;
    if (std::getline(file, line)) {
      std::istringstream words(line);
      std::string word;
      while (words >> word) {
        if (word.find('.') != std::string::npos && word.find_first_not_of("0123456789.") == std::string::npos &&
            std::isdigit(static_cast<unsigned char>(word[0]))) {
          return word;
        }
      }
    }
    return "unknown";
  }

  std::vector<Shape> shapes_;
  Options options_;
  tileconv::DeviceInfo device_;
  int l2_bytes_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  StreamGate gate_;
  std::unique_ptr<Session> session_;
};

void print_usage() {
  std::printf("tileconv_bench: tileconv against cuDNN on the shapes of bench/shapes.csv (Google Benchmark).\n"
              "Own flags (the rest are Google Benchmark's, listed below):\n"
              "  --shapes=PATH        shape list to read (default: %s)\n"
              "  --workspace_mb=MIB   cap on cuDNN's workspace during the algorithm search (default 4096)\n"
              "Benchmarks are conv2d/<contender>/<shape>, contenders tileconv, cudnn_nchw_tf32, cudnn_nhwc_tf32,\n"
              "cudnn_nchw_fp32; e.g. --benchmark_filter=tileconv/r50 runs tileconv on the ResNet-50 shapes.\n"
              "Default minimum time per repetition: %s (not Google Benchmark's 0.5 s).\n"
              "bench/run_suite.sh OUTDIR runs the whole suite with the flags of the published results.\n\n",
              TILECONV_BENCH_SHAPES_CSV, kDefaultMinTimeFlag);
}

bool starts_with(char const* text, char const* prefix) { return std::strncmp(text, prefix, std::strlen(prefix)) == 0; }

/// Takes tileconv_bench's own flags out of argv (Google Benchmark rejects flags it does not know).
std::string parse_options(int* argc, char** argv, Options* options) {
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    char const* arg = argv[i];
    char* end = nullptr;
    if (starts_with(arg, "--shapes=")) {
      options->shapes_path = arg + std::strlen("--shapes=");
      continue;
    }
    if (starts_with(arg, "--workspace_mb=")) {
      long long const mib = std::strtoll(arg + std::strlen("--workspace_mb="), &end, 10);
      if (end == nullptr || *end != '\0' || mib < 0) {
        return std::string("bad value in '") + arg + "': want MiB >= 0";
      }
      options->workspace_cap = static_cast<std::size_t>(mib) << 20;
      continue;
    }
    if (starts_with(arg, "--benchmark_min_time")) {
      options->min_time_given = true;
    }
    if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
      options->help = true;
    }
    argv[kept++] = argv[i];
  }
  *argc = kept;
  argv[kept] = nullptr;
  return std::string();
}

} // namespace
} // namespace tileconv_bench

int main(int argc, char** argv) {
  using namespace tileconv_bench;
  Options options;
  std::string error = parse_options(&argc, argv, &options);
  if (!error.empty()) {
    std::fprintf(stderr, "tileconv_bench: %s\n", error.c_str());
    return 1;
  }
  if (options.help) {
    print_usage(); // Google Benchmark prints its flags and exits
  }
  std::vector<char*> args(argv, argv + argc);
  std::string min_time_flag = kDefaultMinTimeFlag;
  if (!options.min_time_given) {
    args.insert(args.begin() + 1, &min_time_flag[0]); // first, so that nothing the user gives is overridden
  }
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) {
    return 1;
  }

  // The shape list is read (and checked) before the GPU is looked for, so that a broken CSV fails everywhere.
  std::vector<Shape> shapes;
  error = read_shapes(options.shapes_path, &shapes);
  if (!error.empty()) {
    std::fprintf(stderr, "tileconv_bench: %s\n", error.c_str());
    return 1;
  }

  int device_count = 0;
  cudaError_t const cuda_error = cudaGetDeviceCount(&device_count);
  if (cuda_error != cudaSuccess || device_count == 0) {
    std::printf("tileconv_bench: no CUDA device, nothing to measure (%s)\n",
                cuda_error != cudaSuccess ? cudaGetErrorString(cuda_error) : "0 devices");
    return 0;
  }

  {
    Bench bench(shapes, options);
    error = bench.init();
    if (!error.empty()) {
      std::fprintf(stderr, "tileconv_bench: %s\n", error.c_str());
      return 1;
    }
    bench.add_context();
    for (std::size_t s = 0; s < shapes.size(); ++s) {
      for (Contender const contender : kContenders) {
        std::string const name = std::string("conv2d/") + contender_name(contender) + "/" + shapes[s].name;
        benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(
            name.c_str(), [&bench, s, contender](benchmark::State& state) { bench.run(state, s, contender); });
        b->UseManualTime()->Unit(benchmark::kMillisecond);
      }
    }
    benchmark::RunSpecifiedBenchmarks();
    bench.close_shape();
  }
  benchmark::Shutdown();
  return 0;
}
