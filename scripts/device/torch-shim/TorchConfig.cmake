# A stand-in for LibTorch's own TorchConfig.cmake, for the GPU check (cuda-check.sh) when
# that one cannot be used (it insists on finding a complete CUDA toolkit through CMake).
# It describes a pip-installed PyTorch's LibTorch: TORCH_ROOT is the torch package folder.
if(NOT TORCH_ROOT)
  message(FATAL_ERROR "torch-shim: set TORCH_ROOT to the torch package folder")
endif()
set(_lib ${TORCH_ROOT}/lib)
# c10/cuda's headers include the CUDA runtime's.
find_path(TORCH_SHIM_CUDA_INCLUDE cuda_runtime_api.h
  HINTS ${CUDAToolkit_ROOT}/include ${CUDAToolkit_ROOT}/targets/x86_64-linux/include /usr/local/cuda/include
        ${TORCH_ROOT}/../nvidia/cuda_runtime/include ${TORCH_ROOT}/../nvidia/cu13/include)
add_library(torch INTERFACE IMPORTED)
set_target_properties(torch PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES
    "${TORCH_ROOT}/include;${TORCH_ROOT}/include/torch/csrc/api/include;${TORCH_SHIM_CUDA_INCLUDE}"
  INTERFACE_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=1"
  # libtorch_cuda registers the CUDA kernels from static initialisers: nothing refers to
  # it by name, so it must be kept against the linker's --as-needed.
  INTERFACE_LINK_LIBRARIES
    "${_lib}/libtorch.so;${_lib}/libtorch_cpu.so;-Wl,--no-as-needed;${_lib}/libtorch_cuda.so;-Wl,--as-needed;${_lib}/libc10_cuda.so;${_lib}/libc10.so")
set(TORCH_LIBRARIES torch)
set(C10_CUDA_LIBRARY ${_lib}/libc10_cuda.so)
set(Torch_FOUND TRUE)
