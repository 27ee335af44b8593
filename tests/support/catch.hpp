// Catch2 v2 or v3, whichever the build found: tests include this header, never Catch2's own.
//
// tests/CMakeLists.txt defines TILECONV_CATCH2_MAJOR (2 or 3). The translation unit that holds main() defines
// TILECONV_CATCH_MAIN before including this header, to get Catch::Session (v2 compiles its runner there).
//
// Portable spellings for the tests:
//   Catch::Approx                     v3's name; v2 calls it Catch::Detail::Approx (aliased below)
//   Catch::Matchers::WithinRel/Abs    both versions
//   GENERATE, TEMPLATE_TEST_CASE      both versions
//   TILECONV_SKIP(msg)                skips the rest of the test case; reported as skipped with v3.3+, as a warning
//                                     before v3.3 (v2 has no skipped state)
#pragma once

#ifndef TILECONV_CATCH2_MAJOR
#error "TILECONV_CATCH2_MAJOR must be 2 or 3 (set by tests/CMakeLists.txt)"
#endif

#if TILECONV_CATCH2_MAJOR == 3
#include <catch2/catch_approx.hpp>
#include <catch2/catch_template_test_macros.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/catch_version_macros.hpp>
#include <catch2/generators/catch_generators_all.hpp>
#include <catch2/matchers/catch_matchers_floating_point.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <catch2/matchers/catch_matchers_vector.hpp>
#ifdef TILECONV_CATCH_MAIN
#include <catch2/catch_session.hpp>
#endif
// Catch2 v3 wraps every assertion in _Pragma("nv_diagnostic push") / ("nv_diagnostic pop") under nvcc. With many
// assertions in inline functions (tests/support/gpu_harness.hpp) nvcc 13's front end (cudafe++) did not finish one
// test file in 9 minutes; without the pragmas it takes 15 s (Catch2 3.4, nvcc 13.0). They only scope Catch2's own
// warning suppressions, so they are dropped here; Catch2 v2 emits none.
#if defined(__CUDACC__) && !defined(__clang__)
#undef CATCH_INTERNAL_START_WARNINGS_SUPPRESSION
#define CATCH_INTERNAL_START_WARNINGS_SUPPRESSION
#undef CATCH_INTERNAL_STOP_WARNINGS_SUPPRESSION
#define CATCH_INTERNAL_STOP_WARNINGS_SUPPRESSION
#endif
#if CATCH_VERSION_MAJOR > 3 || (CATCH_VERSION_MAJOR == 3 && CATCH_VERSION_MINOR >= 3)
#define TILECONV_SKIP(msg) SKIP(msg)
#else
#define TILECONV_SKIP(msg)                                                                                             \
  do {                                                                                                                 \
    WARN(msg);                                                                                                         \
    return;                                                                                                            \
  } while (0)
#endif

#elif TILECONV_CATCH2_MAJOR == 2
#ifdef TILECONV_CATCH_MAIN
#define CATCH_CONFIG_RUNNER
#endif
#include <catch2/catch.hpp>
namespace Catch {
using Detail::Approx;
} // namespace Catch
#define TILECONV_SKIP(msg)                                                                                             \
  do {                                                                                                                 \
    WARN(msg);                                                                                                         \
    return;                                                                                                            \
  } while (0)

#else
#error "TILECONV_CATCH2_MAJOR must be 2 or 3"
#endif
