#pragma once

/// \file tileconv.cuh
/// Everything a user of tileconv needs: `#include <tileconv/tileconv.cuh>`.

#include <tileconv/device_info.cuh>
#include <tileconv/epilogue/epilogue_chain.cuh>
#include <tileconv/epilogue/epilogue_traits.cuh>
#include <tileconv/epilogue/output_coord.cuh>
#include <tileconv/epilogue/piecewise_ops.cuh>
#include <tileconv/epilogue/smooth_activations.cuh>
#include <tileconv/epilogue/tensor_ops.cuh>
#include <tileconv/host/autotune.cuh>
#include <tileconv/host/conv2d.cuh>
#include <tileconv/host/kernel_choice.cuh>
#include <tileconv/host/launch_plan.cuh>
#include <tileconv/host/policy_table.cuh>
#include <tileconv/policy/default_policies.cuh>
#include <tileconv/policy/gather_kind.cuh>
#include <tileconv/policy/mma_kind.cuh>
#include <tileconv/policy/tile_policy.cuh>
#include <tileconv/policy/warpgroup_tile_policy.cuh>
#include <tileconv/problem.cuh>
#include <tileconv/status.cuh>
