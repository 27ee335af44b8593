#pragma once

/// \file wgmma.cuh
/// The Hopper warpgroup MMA instructions the wgmma mainloop needs, which CCCL does not wrap: the fences and groups
/// that order wgmma.mma_async with the registers and shared memory it reads, its shared-memory descriptor, and the
/// TF32 instruction with A from registers or from shared memory. sm_90a only: `conv2d_kernel` compiles them for no
/// other target.

#include <cstdint>

namespace tileconv {
namespace detail {

/// Orders this warpgroup's earlier register writes (A fragments, accumulators) before the wgmma that read them.
__device__ inline void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }

/// Closes the group of wgmma issued by this warpgroup since the last commit.
__device__ inline void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }

/// Waits until at most `kPending` of this warpgroup's committed wgmma groups are in flight; their accumulators and
/// A registers are then readable and writable again, and their shared-memory operands free.
template <int kPending> __device__ inline void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}

/// The wgmma descriptor of a K-major operand with the 128-byte swizzle: rows of 128 bytes (32 TF32 values of the
/// reduction), 8-row groups 1024 bytes apart (the stride byte offset), the leading byte offset unused (one row
/// spans the whole K of the tile). `tile`, a shared-space address, must be 1024-byte aligned, so that the swizzle
/// phase is the row index; adding n to the descriptor moves its start by 16 n bytes: along the swizzled rows (2 per
/// 8-value k step), or by whole 8-row groups (64 per group, e.g. to the next stage).
__device__ inline std::uint64_t swizzled_k_major_descriptor(std::uint32_t tile) {
  std::uint64_t const address = tile;
  constexpr std::uint64_t kStrideBytes = 1024;
  constexpr std::uint64_t kSwizzle128B = 1;
  return ((address >> 4) & 0x3FFF) | (std::uint64_t{1} << 16) | ((kStrideBytes >> 4) << 32) | (kSwizzle128B << 62);
}

// The 4 x 8 accumulator operands of one wgmma, d[i] .. d[i + 7], and the operand lists of its shapes.
#define TILECONV_WGMMA_D8(i)                                                                                           \
  "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]),          \
      "+f"(d[i + 7])
#define TILECONV_WGMMA_N32_D "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}"
#define TILECONV_WGMMA_N64_D                                                                                           \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, "                             \
  "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define TILECONV_WGMMA_N128_D                                                                                          \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, "    \
  "%24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, "     \
  "%46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"

/// d += a * b for one m64nNk8 TF32 tile of a warpgroup, float accumulators, issued asynchronously (complete after
/// `wgmma_commit` and `wgmma_wait`). a: this thread's A fragment, in registers, laid out as mma.sync.m16n8k8's
/// for the 16 rows of this warp in the warpgroup: {A[g][t], A[g + 8][t], A[g][t + 4], A[g + 8][t + 4]} (g = lane / 4,
/// t = lane % 4). b: descriptor of the (N, 8) K-major tile. d[4 j + e] is D[g + 8 (e / 2)][8 j + 2 t + e % 2].
/// @tparam kN 32, 64 or 128
template <int kN> __device__ inline void wgmma_tf32(float (&d)[kN / 2], std::uint32_t const (&a)[4], std::uint64_t b) {
  static_assert(kN == 32 || kN == 64 || kN == 128,
                "the wgmma shapes tileconv issues with A from registers: m64n32k8, m64n64k8 and m64n128k8");
  if constexpr (kN == 32) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n32k8.f32.tf32.tf32 " TILECONV_WGMMA_N32_D
                 ", {%16, %17, %18, %19}, %20, 1, 1, 1;\n"
                 : TILECONV_WGMMA_D8(0), TILECONV_WGMMA_D8(8)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
  } else if constexpr (kN == 64) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 " TILECONV_WGMMA_N64_D
                 ", {%32, %33, %34, %35}, %36, 1, 1, 1;\n"
                 : TILECONV_WGMMA_D8(0), TILECONV_WGMMA_D8(8), TILECONV_WGMMA_D8(16), TILECONV_WGMMA_D8(24)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
  } else {
    asm volatile("wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 " TILECONV_WGMMA_N128_D
                 ", {%64, %65, %66, %67}, %68, 1, 1, 1;\n"
                 : TILECONV_WGMMA_D8(0), TILECONV_WGMMA_D8(8), TILECONV_WGMMA_D8(16), TILECONV_WGMMA_D8(24),
                   TILECONV_WGMMA_D8(32), TILECONV_WGMMA_D8(40), TILECONV_WGMMA_D8(48), TILECONV_WGMMA_D8(56)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
  }
}

/// `wgmma_tf32` with A from shared memory as well: a is the descriptor of the (64, 8) K-major A tile, whose rows
/// are the M rows of the accumulator layout above. Both operands are truncated to TF32 as stored.
/// @tparam kN 32 (the warp-specialized tiles of 32 output channels), 64 or 128
template <int kN> __device__ inline void wgmma_tf32(float (&d)[kN / 2], std::uint64_t a, std::uint64_t b) {
  static_assert(kN == 32 || kN == 64 || kN == 128,
                "the wgmma shapes tileconv issues from shared memory: m64n32k8, m64n64k8 and m64n128k8");
  if constexpr (kN == 32) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n32k8.f32.tf32.tf32 " TILECONV_WGMMA_N32_D ", %16, %17, 1, 1, 1;\n"
                 : TILECONV_WGMMA_D8(0), TILECONV_WGMMA_D8(8)
                 : "l"(a), "l"(b));
  } else if constexpr (kN == 64) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 " TILECONV_WGMMA_N64_D ", %32, %33, 1, 1, 1;\n"
                 : TILECONV_WGMMA_D8(0), TILECONV_WGMMA_D8(8), TILECONV_WGMMA_D8(16), TILECONV_WGMMA_D8(24)
                 : "l"(a), "l"(b));
  } else {
    asm volatile("wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 " TILECONV_WGMMA_N128_D ", %64, %65, 1, 1, 1;\n"
                 : TILECONV_WGMMA_D8(0), TILECONV_WGMMA_D8(8), TILECONV_WGMMA_D8(16), TILECONV_WGMMA_D8(24),
                   TILECONV_WGMMA_D8(32), TILECONV_WGMMA_D8(40), TILECONV_WGMMA_D8(48), TILECONV_WGMMA_D8(56)
                 : "l"(a), "l"(b));
  }
}

#undef TILECONV_WGMMA_D8
#undef TILECONV_WGMMA_N32_D
#undef TILECONV_WGMMA_N64_D
#undef TILECONV_WGMMA_N128_D

} // namespace detail
} // namespace tileconv
