#pragma once

/// \file config.cuh
/// Macros shared by the headers.

/// Marks functions callable from host and device code; plain host functions when a host compiler reads the
/// header, so that the host-only parts of tileconv (problem, status, plan) also build in .cpp files.
#if defined(__CUDACC__)
#define TILECONV_HOST_DEVICE __host__ __device__
#else
#define TILECONV_HOST_DEVICE
#endif
