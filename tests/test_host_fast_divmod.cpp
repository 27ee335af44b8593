// detail::FastDivmod against the / and % operators on its whole documented domain (0 <= n < 2^31, 1 <= d < 2^31):
// every divisor up to 2000 and a set of large and power-of-two ones, on numerators at the quotient boundaries (where
// a multiply-shift division is off by one if it is wrong at all) and random ones. The host path is the same code as
// the device path except for __umulhi, which computes the same 64-bit product's high half.
#include "support/catch.hpp"

#include <tileconv/device/fast_divmod.cuh>

#include <cstdint>
#include <random>
#include <vector>

namespace tileconv {
namespace test {
namespace {

constexpr int kMaxNumerator = 2147483647; // 2^31 - 1

/// Numerators where n / d changes or is largest: 0, around each multiple of d near 0 and near 2^31, and the top.
std::vector<int> boundary_numerators(int d) {
  std::vector<std::int64_t> candidates = {0,
                                          1,
                                          2,
                                          d - 1,
                                          d,
                                          std::int64_t{d} + 1,
                                          2 * std::int64_t{d} - 1,
                                          2 * std::int64_t{d},
                                          kMaxNumerator,
                                          kMaxNumerator - 1};
  std::int64_t const last_multiple = kMaxNumerator / d * std::int64_t{d};
  for (std::int64_t m = last_multiple; m > last_multiple - 4 * std::int64_t{d} && m >= 0; m -= d) {
    candidates.push_back(m - 1);
    candidates.push_back(m);
    candidates.push_back(m + 1);
  }
  std::vector<int> numerators;
  for (std::int64_t n : candidates) {
    if (n >= 0 && n <= kMaxNumerator) {
      numerators.push_back(static_cast<int>(n));
    }
  }
  return numerators;
}

/// Checks one divisor on the boundary numerators and `random_count` random ones; reports only the first mismatch,
/// so that a broken divisor gives one readable failure instead of thousands.
void check_divisor(int d, int random_count, std::mt19937& rng) {
  detail::FastDivmod const fast(d);
  REQUIRE(fast.divisor() == d);
  std::vector<int> numerators = boundary_numerators(d);
  std::uniform_int_distribution<int> any(0, kMaxNumerator);
  std::uniform_int_distribution<int> small(0, 1 << 20);
  for (int i = 0; i < random_count; ++i) {
    numerators.push_back(i % 2 == 0 ? any(rng) : small(rng)); // index math mostly divides small numbers
  }
  for (int n : numerators) {
    int quotient = -1;
    int remainder = -1;
    fast.divmod(n, quotient, remainder);
    if (quotient != n / d || remainder != n % d || fast.div(n) != n / d) {
      INFO("n = " << n << ", d = " << d << ": got " << quotient << " r " << remainder << ", expected " << n / d << " r "
                  << n % d);
      REQUIRE(quotient == n / d);
      REQUIRE(remainder == n % d);
      REQUIRE(fast.div(n) == n / d);
    }
  }
}

} // namespace

TEST_CASE("FastDivmod matches / and % for every divisor 1..2000", "[divmod]") {
  std::mt19937 rng(20240601);
  for (int d = 1; d <= 2000; ++d) {
    check_divisor(d, 200, rng);
  }
}

TEST_CASE("FastDivmod matches / and % for large divisors and powers of two", "[divmod]") {
  std::mt19937 rng(7);
  std::vector<int> divisors = {2001,       4095,       4097,       46341,      65535,      65536,      65537,
                               521220,     1000000,    16777215,   16777217,   123456789,  1000000007, 1073741823,
                               1073741824, 1073741825, 1234567891, 2147483645, 2147483646, 2147483647};
  for (int shift = 0; shift <= 30; ++shift) {
    divisors.push_back(1 << shift);
    if (shift >= 2) {
      divisors.push_back((1 << shift) - 1);
      divisors.push_back((1 << shift) + 1);
    }
  }
  for (int d : divisors) {
    check_divisor(d, 20000, rng);
  }
}

TEST_CASE("FastDivmod on every numerator of a small range, for the divisors of the shared shapes' index math",
          "[divmod]") {
  // filter taps (1, 3, 9, 15, 49), filter widths, output widths (7, 28, 112, 1022) and group counts (2, 4, 32)
  for (int d : {1, 2, 3, 4, 5, 7, 9, 15, 28, 32, 49, 112, 1022}) {
    detail::FastDivmod const fast(d);
    int mismatches = 0;
    for (int n = 0; n < (1 << 20); ++n) {
      int quotient = 0;
      int remainder = 0;
      fast.divmod(n, quotient, remainder);
      mismatches += (quotient != n / d || remainder != n % d) ? 1 : 0;
    }
    INFO("divisor " << d);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("a default FastDivmod divides by 1", "[divmod]") {
  detail::FastDivmod const fast;
  CHECK(fast.divisor() == 1);
  for (int n : {0, 1, 12345, kMaxNumerator}) {
    int quotient = -1;
    int remainder = -1;
    fast.divmod(n, quotient, remainder);
    CHECK(quotient == n);
    CHECK(remainder == 0);
  }
}

} // namespace test
} // namespace tileconv
