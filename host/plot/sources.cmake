# The SVG chart writer (used by the tutorial's scatter plot and the bench charts).
list(APPEND LINREG_HOST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/svg_plot.cpp
)
