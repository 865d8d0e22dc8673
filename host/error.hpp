// Exceptions thrown by library code. Only main() catches, prints one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace linreg {

// Something the user asked for is invalid (a flag, a file, a shape). The message names it.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The requested device cannot be used (no driver, no device, CPU-only build).
class DeviceUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A CUDA / cuBLAS / cuRAND / cuSOLVER call failed. Thrown by LINREG_CHECK.
class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace linreg
