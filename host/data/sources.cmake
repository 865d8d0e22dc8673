# Data in, models out: CSV, standardisation, validation split, metrics, model files, the
# normal-equation solver (CPU in double; GPU with cuBLAS + cuSOLVER in CUDA builds), fit plots.
list(APPEND LINREG_HOST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/csv.cpp
  ${CMAKE_CURRENT_LIST_DIR}/prep.cpp
  ${CMAKE_CURRENT_LIST_DIR}/metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/normal_solver.cpp
  ${CMAKE_CURRENT_LIST_DIR}/model_io.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fit_plot.cpp
)
list(APPEND LINREG_CUDA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/../../kernels/normal_equations.cu
)
