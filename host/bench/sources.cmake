# `linreg bench`: grid, runner, probes, report. The GPU probe is CUDA-build-only.
list(APPEND LINREG_HOST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/bench_math.cpp
  ${CMAKE_CURRENT_LIST_DIR}/grid.cpp
  ${CMAKE_CURRENT_LIST_DIR}/probes.cpp
  ${CMAKE_CURRENT_LIST_DIR}/runner.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_chart.cpp
)
list(APPEND LINREG_CUDA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/gpu_probes.cpp
)
