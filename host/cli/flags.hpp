// What every subcommand shares about flags: the error type for a wrong command line, decimal-only
// number flags, the --true-w list, and plain-English counts.
//
// Exit status (main.cpp): 0 success; 1 the run failed (a file, the data, the device, a write,
// divergence); 2 the command line is wrong (an unknown command or flag, a malformed or
// out-of-range value, flags that conflict); 128 + N killed by signal N.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "host/core/config.hpp"
#include "host/core/error.hpp"

namespace linreg::cli {

// The command line itself is wrong (exit status 2). Thrown by the command layer for flags and
// how they relate; library code throws SettingError for a setting's value, which main treats
// the same way.
class UsageError : public InputError {
 public:
  using InputError::InputError;
};

// An integer flag in decimal: digits with an optional sign, leading zeros allowed and meaning
// nothing (010 is ten, never octal), no hexadecimal, no exponent, no empty value. The value is
// rewritten in canonical form before CLI11 converts it. non_negative: a sign '-' is refused.
CLI::Validator decimal_integer(bool non_negative = false);

// A real-number flag in decimal (1, -0.5, .5, 2e-3): no hexadecimal, no nan or inf, and within
// float32's range when `float32` (values too small for it round to 0 or a subnormal).
CLI::Validator decimal_number(bool float32);

// "2,-3.4" → floats, each item a decimal number as decimal_number(true) accepts; throws
// UsageError naming `flag` and the item.
// A size in bytes: a decimal integer, optionally followed by K, M, G or T (powers of 1024; "KiB",
// "MB" and the like read the same). Throws UsageError naming `flag`.
uint64_t parse_byte_size(const std::string& text, const std::string& flag);

std::vector<float> parse_decimal_list(const std::string& text, const std::string& flag);

// Labels of the synthetic problem must fit float32: |y| <= B·Σ|w_j| + |b| + B·noise, where B
// bounds |x| (Box-Muller from uniforms no smaller than 2^-32 gives |x| <= sqrt(2·32·ln 2) < 6.67).
// Weights that could overflow are refused (UsageError naming --true-w) before any work: an
// infinite label would be written as "inf", which no CSV reader accepts, or make training
// "diverge" for no fault of --lr.
void check_labels_fit_float32(const SyntheticSpec& spec);

// "1 row", "3 rows" (`plural` defaults to singular + "s").
std::string count_of(int64_t n, const std::string& singular, const std::string& plural = "");

// The shortest decimal that reads back as `v` ("1", "0.25", "1e+20").
std::string shortest_text(double v);

}  // namespace linreg::cli
