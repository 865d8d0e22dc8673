# CUDA sources (kernels and their launchers), compiled only in CUDA builds.
list(APPEND LINREG_CUDA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/cuda_check.cpp
  ${CMAKE_CURRENT_LIST_DIR}/generate.cu
  ${CMAKE_CURRENT_LIST_DIR}/shuffle.cu
  ${CMAKE_CURRENT_LIST_DIR}/sgd_kernels.cu
)
