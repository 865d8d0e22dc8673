# Host (C++) sources of linreg_core: everything the `linreg` binary runs without CUDA.
list(APPEND LINREG_HOST_SOURCES
  # Basics every part uses (the GPU module too): configuration, datasets, the shared formulas.
  ${CMAKE_CURRENT_LIST_DIR}/core/config.cpp
  ${CMAKE_CURRENT_LIST_DIR}/core/dataset.cpp
  ${CMAKE_CURRENT_LIST_DIR}/core/module_path.cpp
  # Data-parallel jobs: the communicator, its collectives, joining a launcher's job.
  ${CMAKE_CURRENT_LIST_DIR}/cluster/communicator.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cluster/cluster.cpp
  # Training: the fitting interface, the route of a run, the device choice and module loader,
  # the CPU backend, permutations, and the exact solver.
  ${CMAKE_CURRENT_LIST_DIR}/train/trainer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/fit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/pipeline.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/sharded_pipeline.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/streamed_pipeline.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/device.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/cpu_trainer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/step_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/permutation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/normal_solver.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/least_squares.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/lapack.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/inference.cpp
  ${CMAKE_CURRENT_LIST_DIR}/io/atomic_file.cpp
)
# The GPU module's host side (CUDA builds only): the GPU trainer and the module's entry point.
list(APPEND LINREG_GPU_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/gpu/gpu_trainer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gpu/streamed_trainer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gpu/nccl_collective.cpp
)
