#pragma once

/// \file shared_storage.cuh
/// Where a kernel's shared-memory storage starts within its dynamic shared memory.

#include <tileconv/device/ptx.cuh>

namespace tileconv {
namespace detail {

/// The dynamic shared memory itself, which is 16-byte aligned, or the next kAlignment boundary in the slack a policy's
/// kSmemBytes leaves for it (the wgmma swizzle needs 1024). An offset from shared_bytes, not a pointer rebuilt from an
/// integer, so that the compiler still knows it is shared memory (fragment reads stay LDS).
template <int kAlignment> __device__ unsigned char* aligned_shared_storage(unsigned char* shared_bytes) {
  if constexpr (kAlignment == 16) {
    return shared_bytes; // offsets from the kernel's own symbol fold into the instructions
  } else {
    int const misalignment = static_cast<int>(shared_address(shared_bytes) % kAlignment);
    return shared_bytes + (misalignment == 0 ? 0 : kAlignment - misalignment);
  }
}

} // namespace detail
} // namespace tileconv
