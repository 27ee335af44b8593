// Switches for the tests of features that land in parallel with the reliability tests of issue #7 (fuzz, bad input,
// concurrency, errors). Each is off until its API is in the tree; switching one on here (or with
// -DTILECONV_TEST_...=1) turns on every test of it at once. The code each switch guards is marked "HOOK" where it is
// written, and names the API it calls.
#pragma once

/// Epilogue chains: tileconv::conv2d(args, epilogue, stream) and make_epilogue_chain with ScaleShift, Residual,
/// LeakyRelu, Clamp and Mish (include/tileconv/epilogue/). Guards:
/// - test_device_fuzz.cu: launch_with_epilogue, the default launcher with the fuzzed chain against a float64 reference.
/// - test_device_concurrency.cu: an epilogue launch captured into the CUDA graph.
#ifndef TILECONV_TEST_EPILOGUES
#define TILECONV_TEST_EPILOGUES 1
#endif

/// Split-K: tileconv::conv2d_workspace_size(problem, device), Conv2dArguments::workspace used by the default launcher,
/// Conv2d<Policy>::can_implement(args, device, split_k) / run(args, epilogue, device, stream, cuda_error, split_k) and
/// Status::kErrorWorkspaceTooSmall. Guards:
/// - test_device_fuzz.cu: workspace_bytes_for and split_k_launcher, every case offered its workspace and run with an
///   explicit split count.
/// - test_host_bad_input.cpp: a missing, short, misaligned or overlapping workspace for an explicit split count.
/// - test_device_errors.cu: the same through run(), captured, launching nothing.
/// - test_device_concurrency.cu: split-K launches in the no-allocation and graph tests.
#ifndef TILECONV_TEST_SPLIT_K
#define TILECONV_TEST_SPLIT_K 1
#endif
