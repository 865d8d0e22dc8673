// NumPy's .npy files (what np.save writes): binary data made for size, read without parsing and
// written for NumPy to read back. Format versions 1.0, 2.0 and 3.0; float32 ('<f4') and float64
// ('<f8') in either byte order; C order; 1-D (n,) or 2-D (n, c) arrays (docs/DATA.md).
//
// As training data: a matrix whose columns are the features and, by default, the last column the
// target (what `linreg generate --out data.npy` writes), or a matrix of features with the target
// in a second file (`--labels y.npy`, n values). Columns have no names in the format: a feature
// from column j is called x<j> (the model file and the coefficient table use that name), the
// target y. Values are kept as for CSV (csv.hpp): float32 in X and y for SGD, and for a float64
// file the values as stored in X64 and y64 too (a float32 file's values are exact in X and y);
// NaN, inf and values too large for float32 are refused, naming the row and column.
//
// A regular file is read in chunks of rows straight into those arrays (never memory-mapped, so a
// file truncated while it is read is an error, not SIGBUS); stdin and pipes are read whole first.
// The data must fill the file exactly as its header says.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "host/data/csv.hpp"
#include "host/data/read_input.hpp"

namespace linreg::data {

// Whether bytes start with the .npy magic string "\x93NUMPY".
bool is_npy(std::string_view head);
// Whether a file starts with it (false when it cannot be read: the reader then says why).
bool file_is_npy(const std::string& path);
// Whether an output path asks for .npy (it ends in ".npy").
bool npy_path(const std::string& path);

struct NpyHeader {
  int itemsize = 4;            // 4: float32, 8: float64
  bool big_endian = false;
  std::vector<int64_t> shape;  // 1 or 2 dimensions
  uint64_t data_offset = 0;    // bytes before the data
  int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  int64_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
};

// The header at the start of `head` (at least the first 10 bytes, and the whole header when it
// is there). Throws InputError naming `source`: not .npy, an unknown version, a dtype other than
// float32/float64, Fortran order, a shape of another rank, a header cut short.
NpyHeader parse_npy_header(std::string_view head, const std::string& source);

struct NpyOptions {
  int64_t target_column = -1;  // the target's column in the matrix; -1: the last
  std::string labels;          // a second .npy with the target (n values): every column is a feature
  // false (predict): with `columns` given, the last column is the target when it is not one of
  // them (what generate writes); no target otherwise.
  bool target_required = true;
  // For predict: the feature columns by index (empty: every column but the target).
  std::vector<int64_t> columns;
  std::string target_flag = "--target-column";
  std::string labels_flag = "--labels";
  ReadOptions read;
  // Read only shard `shard_index` of `shard_count` of the rows (a rank of a data-parallel job,
  // host/cluster/communicator.hpp: shard_of); the other rows are never read. The header and
  // the file's size are checked whole either way.
  int shard_index = 0, shard_count = 1;
};

// The dataset in an .npy file (and its labels file). Throws InputError naming the file.
CsvRead read_npy(const std::string& path, const NpyOptions& opt);

// An .npy training file (and its labels file) opened for reading rows by range, for data read
// in chunks (streamed training): the header, the file sizes and the columns are checked once
// (the errors of read_npy), and read() decodes and checks rows [r0, r0 + count) into ds (n, d,
// names, X and y; X64 and y64 too for float64 values unless floats_only). read() may be called
// from several threads at once.
class NpyRows {
 public:
  NpyRows(const std::string& path, const NpyOptions& opt);
  ~NpyRows();
  NpyRows(const NpyRows&) = delete;
  NpyRows& operator=(const NpyRows&) = delete;
  int64_t rows() const;  // of the whole file (options' shard fields are not used here)
  int64_t features() const;
  int64_t header_columns() const;
  bool has_target() const;
  bool wide() const;     // float64 values
  const std::string& name() const;
  void read(int64_t r0, int64_t count, HostDataset& ds, bool floats_only = false) const;
  // The same rows' float32 values straight into X (count × features()) and y (count): for
  // buffers that are not a dataset's (pinned memory the GPU copies from). The file must have a
  // target.
  void read_floats(int64_t r0, int64_t count, float* X, float* y) const;

 private:
  // Rows [r0, r0 + count) into X and y, and into X64 and y64 where they are not null.
  void decode(int64_t r0, int64_t count, float* X, double* X64, float* y, double* y64) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The bytes of an .npy file (version 1.0, little-endian, C order) holding a (rows, cols) matrix,
// or a 1-D array of `rows` values when cols is 0.
std::string format_npy(const float* data, int64_t rows, int64_t cols);
std::string format_npy(const double* data, int64_t rows, int64_t cols);

}  // namespace linreg::data
