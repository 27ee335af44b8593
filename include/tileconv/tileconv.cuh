#pragma once

/// \file tileconv.cuh
/// Everything a user of tileconv needs: `#include <tileconv/tileconv.cuh>`.

#include <tileconv/device_info.cuh>
#include <tileconv/host/conv2d.cuh>
#include <tileconv/host/launch_plan.cuh>
#include <tileconv/policy/default_policies.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/policy/tile_policy.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>
