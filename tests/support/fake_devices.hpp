// DeviceInfo values of real GPUs, written down by hand from their cudaDeviceProp, so that plan and validation
// logic can be tested on a machine without a GPU.
#pragma once

#include <tileconv/device_info.cuh>

#include <vector>

namespace tileconv {
namespace test {

/// H100 SXM: 132 SMs, sm_90, 228 KiB of shared memory per SM, 227 KiB per block by opt-in.
inline DeviceInfo h100() {
  DeviceInfo info;
  info.sm_count = 132;
  info.cc_major = 9;
  info.cc_minor = 0;
  info.smem_per_sm = 233472;
  info.smem_per_block_optin = 232448;
  info.smem_reserved_per_block = 1024;
  info.max_threads_per_sm = 2048;
  info.max_blocks_per_sm = 32;
  info.regs_per_sm = 65536;
  info.max_grid = {2147483647, 65535, 65535};
  return info;
}

/// RTX 4090: 128 SMs, sm_89, 100 KiB of shared memory per SM, 99 KiB per block, 1536 threads per SM.
inline DeviceInfo rtx4090() {
  DeviceInfo info;
  info.sm_count = 128;
  info.cc_major = 8;
  info.cc_minor = 9;
  info.smem_per_sm = 102400;
  info.smem_per_block_optin = 101376;
  info.smem_reserved_per_block = 1024;
  info.max_threads_per_sm = 1536;
  info.max_blocks_per_sm = 24;
  info.regs_per_sm = 65536;
  info.max_grid = {2147483647, 65535, 65535};
  return info;
}

/// A100: 108 SMs, sm_80, 164 KiB of shared memory per SM, 163 KiB per block.
inline DeviceInfo a100() {
  DeviceInfo info;
  info.sm_count = 108;
  info.cc_major = 8;
  info.cc_minor = 0;
  info.smem_per_sm = 167936;
  info.smem_per_block_optin = 166912;
  info.smem_reserved_per_block = 1024;
  info.max_threads_per_sm = 2048;
  info.max_blocks_per_sm = 32;
  info.regs_per_sm = 65536;
  info.max_grid = {2147483647, 65535, 65535};
  return info;
}

/// A fake device with the name tests print for it.
struct NamedDevice {
  char const* name;
  DeviceInfo info;
};

/// The GPUs above, for tests that run over each of them.
inline std::vector<NamedDevice> fake_devices() { return {{"H100", h100()}, {"RTX 4090", rtx4090()}, {"A100", a100()}}; }

} // namespace test
} // namespace tileconv
