# CUDA sources (kernels and their launchers), compiled only in CUDA builds, into the GPU module.
list(APPEND LINREG_GPU_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/cuda_check.cpp
  ${CMAKE_CURRENT_LIST_DIR}/device_limits.cpp
  ${CMAKE_CURRENT_LIST_DIR}/generate.cu
  ${CMAKE_CURRENT_LIST_DIR}/shuffle.cu
  ${CMAKE_CURRENT_LIST_DIR}/sgd_kernels.cu
  ${CMAKE_CURRENT_LIST_DIR}/sgd_rules.cu
  ${CMAKE_CURRENT_LIST_DIR}/design_reduction.cu
  ${CMAKE_CURRENT_LIST_DIR}/stream_kernels.cu
  ${CMAKE_CURRENT_LIST_DIR}/tensor_kernels.cu
)
