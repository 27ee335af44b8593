// main() of tileconv_gpu_tests: runs the Catch2 session only where a usable CUDA device exists. Otherwise it prints
// one line saying why and exits with 77, which CTest reports as skipped (SKIP_RETURN_CODE), so that the test suite
// passes on machines without a GPU (CI) and tells the reader nothing was run.
#define TILECONV_CATCH_MAIN
#include "catch.hpp"

#include <cstdio>
#include <cstring>
#include <cuda_runtime.h>

namespace {

constexpr int kSkipReturnCode = 77;
constexpr int kMinComputeMajor = 8; // TF32 mma.sync needs sm_80

int skip(char const* why, char const* detail) {
  std::printf("tileconv_gpu_tests: SKIPPED, no usable CUDA device (%s: %s)\n", why, detail);
  std::fflush(stdout);
  return kSkipReturnCode;
}

// Listing or help needs no device: lets CI check that the GPU tests register.
bool needs_no_device(int argc, char* argv[]) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--list", 6) == 0 || std::strcmp(argv[i], "-h") == 0 ||
        std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-?") == 0) {
      return true;
    }
  }
  return false;
}

} // namespace

int main(int argc, char* argv[]) {
  if (!needs_no_device(argc, argv)) {
    int count = 0;
    cudaError_t error = cudaGetDeviceCount(&count);
    if (error != cudaSuccess) {
      return skip("cudaGetDeviceCount", cudaGetErrorString(error));
    }
    if (count == 0) {
      return skip("cudaGetDeviceCount", "0 devices");
    }
    // Creates the context: catches a driver that lists a device but cannot use it.
    error = cudaFree(nullptr);
    if (error != cudaSuccess) {
      return skip("cudaFree(0)", cudaGetErrorString(error));
    }
    int device = 0;
    cudaDeviceProp prop{};
    error = cudaGetDevice(&device);
    if (error == cudaSuccess) {
      error = cudaGetDeviceProperties(&prop, device);
    }
    if (error != cudaSuccess) {
      return skip("cudaGetDeviceProperties", cudaGetErrorString(error));
    }
    if (prop.major < kMinComputeMajor) {
      char detail[sizeof(prop.name) + 64];
      std::snprintf(detail, sizeof(detail), "%s is sm_%d%d, tileconv needs sm_80 or newer", prop.name, prop.major,
                    prop.minor);
      return skip("compute capability", detail);
    }
    std::printf("tileconv_gpu_tests: device %d: %s, compute capability %d.%d, %d SMs\n", device, prop.name, prop.major,
                prop.minor, prop.multiProcessorCount);
    std::fflush(stdout);
  }
  return Catch::Session().run(argc, argv);
}
