#!/usr/bin/env bash
# Installs what tileconv's build needs from apt, and only what is missing: Catch2 (v2 on Debian 12 / Ubuntu 24.04's
# v3 both work), Google Benchmark, Ninja. Idempotent; runs as root or through sudo. Prints what it does.
# The CUDA toolkit (nvcc) and CMake >= 3.25 are not installed here: see README.md.
set -euo pipefail

# A package counts as present if dpkg knows it or its CMake package / program is already found elsewhere
# (e.g. built from source under /usr/local).
have_cmake_package() { # name of the <Name>Config.cmake / <name>-config.cmake file, without the suffix
  local f
  for f in /usr/{,local/}{lib,lib64,lib/*-linux-gnu,share}/cmake/*/{"$1"Config.cmake,"${1,,}"-config.cmake}; do
    [[ -f "$f" ]] && return 0
  done
  return 1
}
have_dpkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
have_dpkg catch2 || have_cmake_package Catch2 || missing+=(catch2)
have_dpkg libbenchmark-dev || have_cmake_package benchmark || missing+=(libbenchmark-dev)
have_dpkg ninja-build || command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_deps: catch2, libbenchmark-dev, ninja-build: all present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_deps: missing ${missing[*]} and there is no apt-get: install Catch2 (v2 or v3), Google Benchmark" \
    "and Ninja yourself" >&2
  exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install_deps: missing ${missing[*]}; not root and no sudo: install them as root" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "install_deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
