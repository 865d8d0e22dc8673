# `linreg tutorial`: the lab's sections 2-5 with the host Tensor library.
list(APPEND LINREG_HOST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/tutorial.cpp
)
