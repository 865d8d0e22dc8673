// Exceptions thrown by library code. Only main() catches, prints one line and exits non-zero.
// The error types have default visibility: the GPU module throws them too, and the binary that
// loaded it must catch them as the same types.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace linreg {

#define LINREG_VISIBLE __attribute__((visibility("default")))

// Something the user asked for is invalid (a setting, a file, a shape). The message names it.
class LINREG_VISIBLE InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An invalid setting. `setting` is its name in the configuration structs (e.g. "batch_size"),
// so that the command layer can say which flag it came from; the message names the setting in
// words and the value, and reads well on its own.
class LINREG_VISIBLE SettingError : public InputError {
 public:
  SettingError(std::string setting, const std::string& message)
      : InputError(message), setting_(std::move(setting)) {}
  const std::string& setting() const { return setting_; }

 private:
  std::string setting_;
};

// The requested device cannot be used (no driver, no device, CPU-only build).
class LINREG_VISIBLE DeviceUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A CUDA / cuBLAS / cuRAND / cuSOLVER call failed. Thrown by LINREG_CHECK.
class LINREG_VISIBLE CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace linreg
