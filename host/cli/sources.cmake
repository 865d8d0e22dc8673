# The subcommands and how runs are presented. Each *_cmd.cpp registers one (see commands.hpp).
list(APPEND LINREG_HOST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/train_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/generate_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/predict_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tutorial_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/flags.cpp
  ${CMAKE_CURRENT_LIST_DIR}/output_plan.cpp
)
