#pragma once

/// \file status.cuh
/// The error vocabulary of tileconv: every host entry point returns a `Status`, never throws or prints.

#include <cuda_runtime_api.h>

namespace tileconv {

/// Result of a host-side tileconv call. Anything but `kSuccess` means nothing was launched.
enum class Status {
  kSuccess = 0,
  kErrorInvalidSize,          ///< a tensor dimension (batch, channels, height, width, filter size) is <= 0
  kErrorInvalidStride,        ///< a stride is <= 0
  kErrorInvalidDilation,      ///< a dilation is <= 0
  kErrorInvalidPadding,       ///< a padding is < 0 (pad_h_end / pad_w_end: other than kSymmetric)
  kErrorInvalidGroups,        ///< groups <= 0, or channels / out_channels not divisible by groups
  kErrorEmptyOutput,          ///< the output height or width by PyTorch's formula is <= 0
  kErrorProblemTooLarge,      ///< an input or output plane, or the filter, has 2^31 elements or more
  kErrorNullPointer,          ///< input, filter or output is null
  kErrorMisalignedPointer,    ///< a tensor pointer is not aligned to its element size (with the pointwise gather:
                              ///< the input, filter or output not to 16 bytes; with the tap-shifted one the input,
                              ///< output or workspace)
  kErrorOverlappingBuffers,   ///< the output overlaps the input, filter or bias
  kErrorGridTooLarge,         ///< the launch grid exceeds the device's grid limits
  kErrorSharedMemoryExceeded, ///< the tile policy needs more shared memory per block than the device allows
  kErrorArchNotSupported,     ///< the device is older than sm_80 (no TF32 mma.sync), or a wgmma policy's device is
                              ///< not sm_90 or the build has no sm_90a code (TILECONV_SM90A undefined)
  kErrorNotSupported,         ///< the requested kernel variant cannot run this problem (see to_string)
  kErrorNoKernelImage,        ///< the binary holds no code for this device's architecture (check CUDA_ARCHITECTURES)
  kErrorInvalidDevice,        ///< no CUDA device, or the device ordinal is out of range
  kErrorCudaRuntime,          ///< another CUDA runtime call failed; the cudaError_t is reported where asked for
  kErrorInvalidSplitK,        ///< a split-K count < 1, or one that leaves a split of the reduction empty
  kErrorWorkspaceTooSmall,    ///< split-K needs workspace: null, or fewer bytes than the workspace-size query says
};

/// A short, stable description of a `Status`, suitable for logs.
constexpr char const* to_string(Status status) {
  switch (status) {
  case Status::kSuccess:
    return "success";
  case Status::kErrorInvalidSize:
    return "invalid size: batch, channels, height, width and filter size must be > 0";
  case Status::kErrorInvalidStride:
    return "invalid stride: stride_h and stride_w must be > 0";
  case Status::kErrorInvalidDilation:
    return "invalid dilation: dilation_h and dilation_w must be > 0";
  case Status::kErrorInvalidPadding:
    return "invalid padding: pad_h and pad_w must be >= 0, pad_h_end and pad_w_end >= 0 or kSymmetric";
  case Status::kErrorInvalidGroups:
    return "invalid groups: groups must be > 0 and divide in_channels and out_channels";
  case Status::kErrorEmptyOutput:
    return "empty output: the output height or width is <= 0 for this input, filter, padding and dilation";
  case Status::kErrorProblemTooLarge:
    return "problem too large: an input plane (padded), an output plane or the filter has 2^31 elements or more";
  case Status::kErrorNullPointer:
    return "null pointer: input, filter and output must be device pointers";
  case Status::kErrorMisalignedPointer:
    return "misaligned pointer: tensors must be aligned to 4 bytes (float); the pointwise gather's input, filter and "
           "output to 16 bytes, the tap-shifted gather's input, output and workspace";
  case Status::kErrorOverlappingBuffers:
    return "overlapping buffers: the output must not overlap the input, filter or bias";
  case Status::kErrorGridTooLarge:
    return "grid too large: batch * groups or the output-channel tiles exceed the device's grid limits";
  case Status::kErrorSharedMemoryExceeded:
    return "shared memory exceeded: the tile policy needs more shared memory per block than the device has";
  case Status::kErrorArchNotSupported:
    return "architecture not supported: tileconv needs compute capability 8.0 or newer, and a wgmma tile policy "
           "compute capability 9.0 and a build for sm_90a (TILECONV_SM90A)";
  case Status::kErrorNotSupported:
    return "not supported by this kernel variant: the channel-tiled gather needs in_channels / groups to be a "
           "multiple of BLOCK_R (use GatherKind::kAuto or kAnalytic)";
  case Status::kErrorNoKernelImage:
    return "no kernel image: the binary was not compiled for this GPU's architecture";
  case Status::kErrorInvalidDevice:
    return "invalid device: no usable CUDA device";
  case Status::kErrorCudaRuntime:
    return "CUDA runtime error";
  case Status::kErrorInvalidSplitK:
    return "invalid split-K count: it must be >= 1 and leave no split of the reduction empty";
  case Status::kErrorWorkspaceTooSmall:
    return "workspace too small: split-K needs Conv2dArguments::workspace of at least the bytes the workspace-size "
           "query returns";
  }
  return "unknown status";
}

namespace detail {

/// Maps a failed CUDA runtime call to the most specific `Status`, keeping the raw error for the caller.
inline Status status_from_cuda(cudaError_t error, cudaError_t* cuda_error) {
  if (cuda_error != nullptr) {
    *cuda_error = error;
  }
  switch (error) {
  case cudaSuccess:
    return Status::kSuccess;
  case cudaErrorNoKernelImageForDevice:
  case cudaErrorInvalidDeviceFunction:
    return Status::kErrorNoKernelImage;
  case cudaErrorNoDevice:
  case cudaErrorInvalidDevice:
  case cudaErrorInsufficientDriver:
    return Status::kErrorInvalidDevice;
  default:
    return Status::kErrorCudaRuntime;
  }
}

/// The error an earlier, unrelated call left pending in this thread, as a `Status`; `kSuccess` where none is. Peeks
/// without clearing: the error stays for the code that caused it (docs/errors.md). Launchers call this after
/// validating and before their first CUDA call, and launch nothing when it fails.
inline Status pending_cuda_error(cudaError_t* cuda_error) {
  cudaError_t const pending = cudaPeekAtLastError();
  return pending == cudaSuccess ? Status::kSuccess : status_from_cuda(pending, cuda_error);
}

/// The result of one of tileconv's own runtime calls (not a launch: `cudaGetLastError` after a launch reads and
/// clears in one). A failure is returned and cleared, so that the caller's next `cudaGetLastError` does not find
/// tileconv's error and blame its own code for it; a sticky error stays whatever anyone clears.
inline Status own_cuda_call(cudaError_t error, cudaError_t* cuda_error) {
  if (error != cudaSuccess) {
    (void)cudaGetLastError();
  }
  return status_from_cuda(error, cuda_error);
}

} // namespace detail
} // namespace tileconv
