// Lets Catch2 print a tileconv::Status by name in failure messages ("kErrorInvalidStride (invalid stride: ...)")
// instead of the enum's integer.
#pragma once

#include "catch.hpp"

#include <tileconv/status.cuh>

#include <string>

namespace Catch {
template <> struct StringMaker<tileconv::Status> {
  static std::string convert(tileconv::Status status) {
    return "Status " + std::to_string(static_cast<int>(status)) + " (" + tileconv::to_string(status) + ")";
  }
};
} // namespace Catch
