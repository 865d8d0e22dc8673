# Host (C++) sources of linreg_core. CUDA-build-only host files go to LINREG_CUDA_SOURCES.
list(APPEND LINREG_HOST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/config.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dataset.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cpu_trainer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/step_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/permutation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/trainer_factory.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/io/atomic_file.cpp
)
list(APPEND LINREG_CUDA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/gpu/gpu_trainer.cpp
)
