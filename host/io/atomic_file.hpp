// Output files appear whole or not at all: written to a temporary name beside the target and
// renamed on success, so a failure never leaves a half-written file behind.
#pragma once

#include <string>

namespace linreg {

// Throws InputError naming `path` when the file cannot be written.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace linreg
