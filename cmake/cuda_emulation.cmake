# cuda_emulation.cmake: -DSEQNET_CUDA_EMULATION=ON builds the custom CUDA kernels of kernels/cuda
# as C++ against HIP-CPU (third_party/hip-cpu), so the CUDA path runs, slowly, on the CPU
# (docs/CUDA-EMULATION.md). The sources stay CUDA: at build time hipify-perl translates each one
# (launches <<<...>>> to hipLaunchKernelGGL, cuda* names to hip*) into the build folder, and
# kernels/cuda_emulation/cuda_on_cpu.h supplies what HIP-CPU lacks. cuDNN and cuBLAS are not in
# this build (they need a GPU). Defines the static library seqnet_cuda_emulated.

find_package(TBB QUIET)
seqnet_require(TBB_FOUND "Intel TBB (HIP-CPU's thread pool, for SEQNET_CUDA_EMULATION)" "libtbb-dev")
find_program(SEQNET_PERL perl)
seqnet_require(SEQNET_PERL "perl (runs third_party/hipify/hipify-perl)" "perl")

set(seqnet_hipify ${CMAKE_SOURCE_DIR}/third_party/hipify/hipify-perl)
set(seqnet_hipified_dir ${CMAKE_BINARY_DIR}/hipified)

# Every custom kernel and the headers they include; cuDNN and cuBLAS stay CUDA-only.
file(GLOB seqnet_emulated_inputs CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/kernels/cuda/*.cu ${CMAKE_SOURCE_DIR}/kernels/cuda/*.cuh ${CMAKE_SOURCE_DIR}/kernels/cuda/*.h)
list(FILTER seqnet_emulated_inputs EXCLUDE REGEX "/(cudnn|cublas)[^/]*$")

set(seqnet_hipified_sources "")
set(seqnet_hipified_headers "")
foreach(input ${seqnet_emulated_inputs})
  get_filename_component(name ${input} NAME)
  if(name MATCHES "\\.cu$")
    set(output ${seqnet_hipified_dir}/kernels/cuda/${name}.cpp)  # compiled as C++
    list(APPEND seqnet_hipified_sources ${output})
  else()
    set(output ${seqnet_hipified_dir}/kernels/cuda/${name})
    list(APPEND seqnet_hipified_headers ${output})
  endif()
  add_custom_command(OUTPUT ${output}
    COMMAND ${SEQNET_PERL} ${seqnet_hipify} -hip-kernel-execution-syntax -quiet-warnings -o=${output} ${input}
    DEPENDS ${input} ${seqnet_hipify}
    COMMENT "hipify-perl kernels/cuda/${name}"
    VERBATIM)
endforeach()
add_custom_target(seqnet_hipified DEPENDS ${seqnet_hipified_headers})

add_library(seqnet_cuda_emulated STATIC ${seqnet_hipified_sources})
add_dependencies(seqnet_cuda_emulated seqnet_hipified)
# The hipified headers come before the originals, so a hipified kernel sees hipified headers.
target_include_directories(seqnet_cuda_emulated BEFORE PRIVATE ${seqnet_hipified_dir})
target_include_directories(seqnet_cuda_emulated PRIVATE ${CMAKE_SOURCE_DIR})
target_include_directories(seqnet_cuda_emulated SYSTEM PRIVATE ${CMAKE_SOURCE_DIR}/third_party/hip-cpu/include)
target_compile_options(seqnet_cuda_emulated PRIVATE
  -include ${CMAKE_SOURCE_DIR}/kernels/cuda_emulation/cuda_on_cpu.h
  ${SEQNET_MARCH_FLAGS})
target_compile_definitions(seqnet_cuda_emulated PUBLIC SEQNET_WITH_CUDA=1 SEQNET_CUDA_EMULATION=1)
target_link_libraries(seqnet_cuda_emulated PUBLIC TBB::tbb Threads::Threads)
