// CSV in and out. A header row names the columns; every data cell of a selected column is a number
// as C or Python prints it (1e-3, -0.5, 2.0, 7). NaN, inf, empty cells, ragged rows and text in a
// selected column are refused with one line naming the file, line and column.
//
// Format accepted (docs/DATA.md): comma-separated; LF or CRLF line ends; an optional UTF-8 BOM;
// spaces or tabs around a cell are ignored; a cell may be quoted ("1.5", "a,b" with "" for a
// quote); blank lines are skipped. Columns that are not selected are not parsed as numbers, so a
// text column can be left out with --columns.
//
// Values: every cell is kept twice, both correctly rounded from its decimal text: in float32 in X
// (n, d) and y (n), which SGD trains on, and in double in X64 and y64 (same layout), which the
// exact solvers, metrics and predictions use. The float32 rules decide what is accepted: a value
// too small for float32 becomes 0 or a subnormal there (its double keeps it, down to where
// double underflows too: 0), one too large for float32 is refused.
//
// Speed: the whole file is read at once; each cell is parsed once to its double (a fast path for
// short decimals, else std::from_chars; no locale) and its float rounded from that double except
// in the rare cases where that could differ from reading the text as float; rows are split into
// chunks parsed on several threads when the file has no quotes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "host/core/dataset.hpp"
#include "host/data/read_input.hpp"

namespace linreg::data {

struct CsvOptions {
  std::string target;                // empty: the last column
  std::vector<std::string> columns;  // feature columns by name; empty: every column but the target
  bool target_required = true;       // false (predict): a missing target column leaves y empty
  // The column of per-row weights (empty: none), read into HostDataset::weights in double. It must
  // exist; it cannot be the target or one of `columns`, and is left out of the default features.
  // Every weight is finite and >= 0, and not all of them are 0.
  std::string weights;
  // false: the file has no header row; its columns are named c1, c2, ... and the first row is data.
  // true: the first row names the columns, and a first row of numbers only is refused as
  // probably data (quoted cells always count as names).
  bool header = true;
  int threads = 0;                   // 0: up to hardware_concurrency (capped); 1: single-threaded
  // Flag names used in messages about names that do not exist.
  std::string target_flag = "--target";
  std::string columns_flag = "--columns";
  std::string no_header_flag = "--no-header";
  std::string weights_flag = "--weights";
  ReadOptions read;                  // how read_csv reads the file (limits, waiting on a FIFO)
};

struct CsvRead {
  HostDataset data;          // X, X64 (n, d), y, y64 (n) or empty, weights (n) or empty, names
  bool has_target = false;   // false only when !target_required and the target column is absent
  int64_t header_columns = 0;
  // The file's rows, and the first of them in `data` (an .npy shard; CSV reads them all).
  int64_t total_rows = 0, first_row = 0;
};

// The whole file as bytes (read_input: "-" is stdin, bounded, never mapped). Throws InputError
// naming the path (missing, unreadable, a directory, binary, too large).
std::string read_whole_file(const std::string& path, const ReadOptions& opt = {});

// Parses CSV text; `source` names it in messages (a path). Throws InputError, and only that.
// The names of the columns used (features and target) must be UTF-8 without control characters:
// they go into the model file, the plot and the terminal.
CsvRead parse_csv(std::string_view text, const std::string& source, const CsvOptions& opt);

// read_input + parse_csv.
CsvRead read_csv(const std::string& path, const CsvOptions& opt);

// Why `name` cannot be a column name in linreg's outputs ("" when it can): not UTF-8, or a
// control character.
std::string name_problem(std::string_view name);

// "a,b,c" → {"a","b","c"} (spaces around names trimmed); an empty item is an error naming `flag`.
std::vector<std::string> split_names(const std::string& text, const std::string& flag);

// CSV text of columns of floats (shortest round-trip form, so reading it back gives the same
// floats). cols[c] has `rows` values; names quoted only when they need it.
std::string format_csv(const std::vector<std::string>& names, const std::vector<const float*>& cols, int64_t rows);

// Shortest decimal that reads back as the same value (std::to_chars).
std::string shortest(float v);
std::string shortest(double v);

}  // namespace linreg::data
