#pragma once

/// \file fast_divmod.cuh
/// Division by a run-time constant as a multiply-high and a shift, for index math in inner loops.

#include <tileconv/config.cuh>

#include <cstdint>

namespace tileconv {
namespace detail {

/// Divides non-negative 32-bit integers below 2^31 by a fixed divisor d >= 1 without an integer division:
/// with l = ceil(log2 d) and m = floor(2^32 (2^l - d) / d) + 1, n / d = (umulhi(m, n) + n) >> l
/// (Granlund and Montgomery, "Division by invariant integers using multiplication", 1994, fig. 4.1).
/// Built on the host, where the division is done once; used on the device.
class FastDivmod {
public:
  FastDivmod() = default;

  explicit FastDivmod(int divisor) : divisor_(divisor) {
    std::uint32_t const d = static_cast<std::uint32_t>(divisor);
    while ((std::uint64_t{1} << shift_) < d) {
      ++shift_;
    }
    multiplier_ = static_cast<std::uint32_t>(((std::uint64_t{1} << 32) * ((std::uint64_t{1} << shift_) - d)) / d + 1);
  }

  TILECONV_HOST_DEVICE int divisor() const { return divisor_; }

  /// n / divisor, for 0 <= n < 2^31.
  TILECONV_HOST_DEVICE int div(int n) const {
    std::uint32_t const un = static_cast<std::uint32_t>(n);
    return static_cast<int>((umulhi(multiplier_, un) + un) >> shift_);
  }

  /// Sets quotient and remainder of n / divisor, for 0 <= n < 2^31.
  TILECONV_HOST_DEVICE void divmod(int n, int& quotient, int& remainder) const {
    quotient = div(n);
    remainder = n - quotient * divisor_;
  }

private:
  TILECONV_HOST_DEVICE static std::uint32_t umulhi(std::uint32_t a, std::uint32_t b) {
#if defined(__CUDA_ARCH__)
    return __umulhi(a, b);
#else
    return static_cast<std::uint32_t>((std::uint64_t{a} * b) >> 32);
#endif
  }

  int divisor_ = 1;
  std::uint32_t multiplier_ = 1; // divisor 1: umulhi(1, n) = 0, so the quotient is n
  int shift_ = 0;
};

} // namespace detail
} // namespace tileconv
