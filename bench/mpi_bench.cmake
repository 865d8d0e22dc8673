# linreg_mpi_bench: MPI_Allgather / MPI_Allreduce latency and bandwidth (docs/SCALING.md).
# Included by the top CMakeLists.txt when MPI is found (MPI::MPI_C).
add_executable(linreg_mpi_bench ${CMAKE_CURRENT_LIST_DIR}/mpi_collectives_bench.cpp)
target_link_libraries(linreg_mpi_bench PRIVATE MPI::MPI_C)
set_target_properties(linreg_mpi_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
