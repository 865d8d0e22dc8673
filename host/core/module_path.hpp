// Where the binary's optional modules live (the GPU module, the MPI module): the path in the
// override variable when set, else beside the binary, else in ../lib/linreg/ (an install).
#pragma once

#include <string>

namespace linreg {

std::string module_path(const std::string& file_name, const char* override_variable);
bool is_regular_file(const std::string& path);

}  // namespace linreg
