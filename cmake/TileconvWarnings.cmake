# Warnings (as errors, unless -DTILECONV_WERROR=OFF) and CUDA flags for tileconv's OWN targets: tests, examples,
# benchmarks. Never applied to the tileconv INTERFACE target, so projects that consume the headers keep their flags.
#
#   host compiler : -Wall -Wextra (+ -Werror); for CUDA sources passed through -Xcompiler, with one exception:
#                   -Wno-parentheses, because nvcc's front end rewrites `int T::*member;` to `int (T::*member);`
#                   before the host compiler sees it, and GCC 13 reports those parentheses. nvcc's own
#                   diagnostics still catch `if (a = b)` (#187-D).
#   nvcc          : -Werror=all-warnings turns nvcc's own diagnostics (front end, ptxas, nvlink) into errors.
#                   Catch2 and Google Benchmark come in through imported targets, hence as -isystem, where the CUDA
#                   front end reports nothing: checked with Catch2 2.13 / 3.4 and Google Benchmark 1.7 / 1.8.
#   -lineinfo     : source lines in SASS for Nsight Compute and compute-sanitizer, at no run-time cost.
#   TILECONV_SM90A: defined where the target's CUDA_ARCHITECTURES list 90a (and so, for a valid build, no plain 90):
#                   the launchers then plan the wgmma policies on sm_90 devices (host/launch_plan.cuh).
function(tileconv_target_warnings target)
  set(host_warnings -Wall -Wextra)
  set(cuda_warnings "")
  if(TILECONV_WERROR)
    list(APPEND host_warnings -Werror)
    list(APPEND cuda_warnings -Werror=all-warnings)
  endif()
  list(JOIN host_warnings "," host_warnings_csv)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${host_warnings}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${host_warnings_csv},-Wno-parentheses ${cuda_warnings} -lineinfo>)
  set(archs "$<TARGET_PROPERTY:${target},CUDA_ARCHITECTURES>")
  target_compile_definitions(${target} PRIVATE
    $<$<OR:$<IN_LIST:90a,${archs}>,$<IN_LIST:90a-real,${archs}>,$<IN_LIST:90a-virtual,${archs}>>:TILECONV_SM90A>)
endfunction()
