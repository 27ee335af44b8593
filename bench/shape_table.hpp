#pragma once

/// \file shape_table.hpp
/// The benchmark's shape list, read at run time from bench/shapes.csv: the one place the repository keeps it.
/// Columns are found by name from the header line, so a reordered or extended CSV still reads.

#include <tileconv/problem.cuh>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace tileconv_bench {

/// One row of shapes.csv.
struct Shape {
  std::string name;
  tileconv::Conv2dProblem problem;
  bool bias = false;
};

namespace detail {

inline std::vector<std::string> split_csv_line(std::string const& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, ',')) {
    // trim spaces and a CR left by a file with Windows line ends
    std::size_t const first = field.find_first_not_of(" \t\r");
    std::size_t const last = field.find_last_not_of(" \t\r");
    fields.push_back(first == std::string::npos ? std::string() : field.substr(first, last - first + 1));
  }
  if (!line.empty() && line.back() == ',') {
    fields.emplace_back();
  }
  return fields;
}

inline bool parse_int(std::string const& text, int* value) {
  if (text.empty()) {
    return false;
  }
  char* end = nullptr;
  errno = 0;
  long const parsed = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0' || parsed < -2147483647L || parsed > 2147483647L) {
    return false;
  }
  *value = static_cast<int>(parsed);
  return true;
}

} // namespace detail

/// Reads `path` into `shapes`. Returns an empty string on success, else what is wrong and where.
/// Blank lines and lines starting with '#' are skipped; every row must pass `Conv2dProblem::validate`.
inline std::string read_shapes(std::string const& path, std::vector<Shape>* shapes) {
  std::ifstream file(path);
  if (!file) {
    return "cannot open shape list '" + path + "'";
  }
  // CSV column -> Conv2dProblem member, in the order of bench/shapes.csv
  using Field = int tileconv::Conv2dProblem::*;
  struct Column {
    char const* name;
    Field member;
  };
  static Column const kColumns[] = {
      {"N", &tileconv::Conv2dProblem::batch},
      {"C", &tileconv::Conv2dProblem::in_channels},
      {"H", &tileconv::Conv2dProblem::in_h},
      {"W", &tileconv::Conv2dProblem::in_w},
      {"K", &tileconv::Conv2dProblem::out_channels},
      {"R", &tileconv::Conv2dProblem::filter_h},
      {"S", &tileconv::Conv2dProblem::filter_w},
      {"stride_h", &tileconv::Conv2dProblem::stride_h},
      {"stride_w", &tileconv::Conv2dProblem::stride_w},
      {"pad_h", &tileconv::Conv2dProblem::pad_h},
      {"pad_w", &tileconv::Conv2dProblem::pad_w},
      {"dil_h", &tileconv::Conv2dProblem::dilation_h},
      {"dil_w", &tileconv::Conv2dProblem::dilation_w},
      {"groups", &tileconv::Conv2dProblem::groups},
  };
  constexpr int kNumColumns = sizeof(kColumns) / sizeof(kColumns[0]);

  std::vector<Shape> result;
  std::vector<int> index(kNumColumns, -1); // CSV field of each kColumns entry
  int name_index = -1;
  int bias_index = -1;
  bool have_header = false;
  std::string line;
  for (int line_number = 1; std::getline(file, line); ++line_number) {
    std::string const where = path + ":" + std::to_string(line_number) + ": ";
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[line.find_first_not_of(" \t\r")] == '#') {
      continue;
    }
    std::vector<std::string> const fields = detail::split_csv_line(line);
    if (!have_header) {
      for (int f = 0; f < static_cast<int>(fields.size()); ++f) {
        if (fields[f] == "name") {
          name_index = f;
        } else if (fields[f] == "bias") {
          bias_index = f;
        }
        for (int c = 0; c < kNumColumns; ++c) {
          if (fields[f] == kColumns[c].name) {
            index[c] = f;
          }
        }
      }
      if (name_index < 0) {
        return where + "the header has no 'name' column";
      }
      for (int c = 0; c < kNumColumns; ++c) {
        if (index[c] < 0) {
          return where + "the header has no '" + kColumns[c].name + "' column";
        }
      }
      have_header = true;
      continue;
    }
    Shape shape;
    if (name_index >= static_cast<int>(fields.size()) || fields[name_index].empty()) {
      return where + "no shape name";
    }
    shape.name = fields[name_index];
    for (int c = 0; c < kNumColumns; ++c) {
      if (index[c] >= static_cast<int>(fields.size()) ||
          !detail::parse_int(fields[index[c]], &(shape.problem.*kColumns[c].member))) {
        return where + "column '" + kColumns[c].name + "' is not an integer";
      }
    }
    if (bias_index >= 0 && bias_index < static_cast<int>(fields.size()) && !fields[bias_index].empty()) {
      int bias = 0;
      if (!detail::parse_int(fields[bias_index], &bias) || (bias != 0 && bias != 1)) {
        return where + "column 'bias' must be 0 or 1";
      }
      shape.bias = bias != 0;
    }
    tileconv::Status const status = shape.problem.validate();
    if (status != tileconv::Status::kSuccess) {
      return where + "shape '" + shape.name + "': " + tileconv::to_string(status);
    }
    for (Shape const& other : result) {
      if (other.name == shape.name) {
        return where + "shape name '" + shape.name + "' appears twice";
      }
    }
    result.push_back(shape);
  }
  if (!have_header) {
    return "shape list '" + path + "' is empty";
  }
  *shapes = std::move(result);
  return std::string();
}

} // namespace tileconv_bench
