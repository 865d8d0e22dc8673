# `linreg bench`: the problem grid, the runner, the machine probes, the report and its chart.
list(APPEND LINREG_HOST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/bench_math.cpp
  ${CMAKE_CURRENT_LIST_DIR}/grid.cpp
  ${CMAKE_CURRENT_LIST_DIR}/probes.cpp
  ${CMAKE_CURRENT_LIST_DIR}/runner.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_chart.cpp
)
