#pragma once

/// \file ptx.cuh
/// The few sm_80 instructions the mainloop needs that CCCL does not wrap: 4- and 16-byte cp.async with zero-fill
/// (cuda::memcpy_async has no zero-fill, and padding taps are zeros we do not want to branch around),
/// ldmatrix, the TF32 rounding conversion and the TF32 mma.sync; and the shared-space address that instructions with
/// a shared-memory operand take.

#include <cstdint>

namespace tileconv {
namespace detail {

/// The shared-space address of `object`, which must lie in shared memory: what the instructions with a shared-memory
/// operand take.
__device__ inline std::uint32_t shared_address(void const* object) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(object));
}

/// Asynchronously copies kBytes (4: one float, 16: four floats, both operands 16-byte aligned) from global memory to
/// shared-space address `dst`; writes zeros instead when `valid` is false, in which case nothing is read from `src`
/// (the PTX ignore-src predicate, a predicate on the copy instruction itself rather than a src-size register that ptxas
/// turns into address arithmetic). Cached in L1 (.ca): the filter tiles are re-read by every block on the SM, and a
/// gather's neighbouring taps re-read the same input lines.
template <int kBytes> __device__ inline void cp_async_zfill(std::uint32_t dst, float const* src, bool valid) {
  static_assert(kBytes == 4 || kBytes == 16, "the gathers copy one float or 16 bytes at a time");
  asm volatile("{\n"
               "  .reg .pred ignore_src;\n"
               "  setp.eq.u32 ignore_src, %2, 0;\n"
               "  cp.async.ca.shared.global [%0], [%1], %3, ignore_src;\n"
               "}\n" ::"r"(dst),
               "l"(src), "r"(static_cast<std::uint32_t>(valid)), "n"(kBytes));
}

/// `cp_async_zfill` to shared memory named by a generic pointer.
template <int kBytes> __device__ inline void cp_async_zfill(float* dst, float const* src, bool valid) {
  cp_async_zfill<kBytes>(shared_address(dst), src, valid);
}

/// Closes the group of cp.async issued by this thread since the last commit.
__device__ inline void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

/// Waits until at most `kPending` of this thread's committed cp.async groups are still in flight.
template <int kPending> __device__ inline void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

/// Loads four 8 x 8 matrices of 16-bit elements from shared memory, i.e. four 8-row x 4-column matrices of
/// 32-bit elements: lanes 8 j .. 8 j + 7 give the row addresses (16-byte aligned) of matrix j, and lane l receives
/// element (l / 4, l % 4) of matrix j in d[j]. For 32-bit data that is exactly the TF32 mma's A fragment layout.
__device__ inline void ldmatrix_x4(std::uint32_t (&d)[4], float const* row) {
  std::uint32_t const addr = shared_address(row);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
               : "r"(addr));
}

/// Rounds a float to the nearest TF32 value (ties away from zero), the operand format of the TF32 mma.
__device__ inline std::uint32_t to_tf32(float value) {
  std::uint32_t result;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(result) : "f"(value));
  return result;
}

/// `value` rounded to the nearest TF32 value (ties away from zero) in its upper 19 bits, the low 13 bits left as
/// garbage: an operand for instructions that ignore them (wgmma reads TF32 by truncation), two instructions cheaper
/// than `to_tf32`, which also clears them. Adds half a TF32 unit in the last place, sign(value) * 2^(exponent - 11),
/// as one fma of `value` and its own sign-and-exponent bits, exact wherever the sum is still a float of the same
/// exponent (and truncated to the same TF32 value where it carries into the next). Infinities and NaNs pass as
/// infinities and NaNs (their sign-and-exponent bits are an infinity); zeros and subnormals, whose exponent bits are
/// zero, pass unchanged, so subnormals are truncated.
__device__ inline float to_tf32_operand(float value) {
  float const sign_and_exponent = __uint_as_float(__float_as_uint(value) & 0xFF800000u);
  return fmaf(sign_and_exponent, 0x1p-11f, value);
}

/// `value` rounded to TF32 as a float (low 13 bits zero), for operands rounded once in memory instead of per use.
__device__ inline float round_to_tf32(float value) { return __uint_as_float(to_tf32(value)); }

/// d += a * b for one m16n8k8 TF32 tile, float accumulators. Fragment layout (g = lane / 4, t = lane % 4):
/// a = {A[g][t], A[g + 8][t], A[g][t + 4], A[g + 8][t + 4]}, b = {B[t][g], B[t + 4][g]},
/// d = {D[g][2t], D[g][2t + 1], D[g + 8][2t], D[g + 8][2t + 1]}.
__device__ inline void mma_tf32_m16n8k8(float (&d)[4], std::uint32_t const (&a)[4], std::uint32_t const (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

} // namespace detail
} // namespace tileconv
