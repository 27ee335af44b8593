# Where to look for the CCCL (Thrust/CUB/libcu++) package config that ships with the CUDA Toolkit.
# Shared by the build (CMakeLists.txt) and the installed package (tileconvConfig.cmake), so both look in the same
# places. CUDA 12.x and 13 keep it in <toolkit>/lib64/cmake/cccl (or targets/<arch>/lib/cmake/cccl); a user's
# CCCL_DIR or CMAKE_PREFIX_PATH still wins over these hints. Call after find_package(CUDAToolkit).
function(tileconv_cccl_hints out_var)
  set(hints "")
  foreach(dir IN ITEMS "${CUDAToolkit_LIBRARY_DIR}" "${CUDAToolkit_TARGET_DIR}/lib64" "${CUDAToolkit_TARGET_DIR}/lib"
                       "${CUDAToolkit_LIBRARY_ROOT}/lib64" "${CUDAToolkit_LIBRARY_ROOT}/lib")
    if(IS_DIRECTORY "${dir}/cmake")
      list(APPEND hints "${dir}/cmake")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES hints)
  set(${out_var} "${hints}" PARENT_SCOPE)
endfunction()
