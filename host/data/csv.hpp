// CSV in and out. A header row names the columns; every data cell of a selected column is a number
// as C or Python prints it (1e-3, -0.5, 2.0, 7). NaN, inf, empty cells, ragged rows and text in a
// selected column are refused with one line naming the file, line and column.
//
// Format accepted (docs/DATA.md): comma-separated; LF or CRLF line ends; an optional UTF-8 BOM;
// spaces or tabs around a cell are ignored; a cell may be quoted ("1.5", "a,b" with "" for a
// quote); blank lines are skipped. Columns that are not selected are not parsed as numbers, so a
// text column can be left out with --columns.
//
// Speed: the whole file is read at once and cells are parsed with std::from_chars (correctly
// rounded float32, no locale); rows are split into chunks parsed on several threads when the file
// has no quotes. Values go straight into the row-major X (n, d) and y (n) of a HostDataset.
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
  // false: the file has no header row; its columns are named c1, c2, ... and the first row is data.
  // true: the first row names the columns, and a first row of numbers only is refused as
  // probably data (quoted cells always count as names).
  bool header = true;
  int threads = 0;                   // 0: up to hardware_concurrency (capped); 1: single-threaded
  // Flag names used in messages about names that do not exist.
  std::string target_flag = "--target";
  std::string columns_flag = "--columns";
  std::string no_header_flag = "--no-header";
  ReadOptions read;                  // how read_csv reads the file (limits, waiting on a FIFO)
};

struct CsvRead {
  HostDataset data;          // X (n, d), y (n) or empty, feature_names, target_name
  bool has_target = false;   // false only when !target_required and the target column is absent
  int64_t header_columns = 0;
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
