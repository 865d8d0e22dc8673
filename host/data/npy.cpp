// NumPy .npy input and output (see npy.hpp). The header is a Python dict literal; the few forms
// np.save writes are parsed here (a small hand-written reader: no library for .npy is packaged
// for C++ in Debian, and the format is one page of NumPy's documentation).
#include "host/data/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .npy reader and writer assume a little-endian host");

namespace linreg::data {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

[[noreturn]] void fail(const std::string& source, const std::string& why) { throw InputError(source + ": " + why); }

// --- the header's dict literal ---------------------------------------------------------------

class DictReader {
 public:
  DictReader(std::string_view text, const std::string& source) : s_(text), source_(source) {}

  void expect(char c) {
    skip();
    if (at_ >= s_.size() || s_[at_] != c) bad(std::string("expected '") + c + "'");
    ++at_;
  }
  bool accept(char c) {
    skip();
    if (at_ < s_.size() && s_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  std::string string() {
    skip();
    if (at_ >= s_.size() || (s_[at_] != '\'' && s_[at_] != '"')) bad("expected a quoted string");
    const char q = s_[at_++];
    const size_t end = s_.find(q, at_);
    if (end == std::string_view::npos) bad("an unterminated string");
    std::string out(s_.substr(at_, end - at_));
    at_ = end + 1;
    return out;
  }
  bool boolean() {
    skip();
    if (s_.substr(at_, 4) == "True") {
      at_ += 4;
      return true;
    }
    if (s_.substr(at_, 5) == "False") {
      at_ += 5;
      return false;
    }
    bad("expected True or False");
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> out;
    while (!accept(')')) {
      skip();
      int64_t v = 0;
      size_t digits = 0;
      while (at_ < s_.size() && s_[at_] >= '0' && s_[at_] <= '9') {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) bad("a dimension too large");
        v = v * 10 + (s_[at_++] - '0');
        ++digits;
      }
      if (digits == 0) bad("expected a dimension (a non-negative integer)");
      out.push_back(v);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return out;
  }
  [[noreturn]] void bad(const std::string& what) const {
    fail(source_, "not a readable .npy header (" + what + " at character " + std::to_string(at_) + " of '" +
                      std::string(s_.substr(0, 120)) + "')");
  }

 private:
  void skip() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\n' || s_[at_] == '\t')) ++at_;
  }
  std::string_view s_;
  const std::string& source_;
  size_t at_ = 0;
};

// --- where the bytes come from -----------------------------------------------------------------

// A regular file read with pread at offsets, or any other input (stdin, a pipe) read whole.
class Source {
 public:
  Source(const std::string& path, const ReadOptions& read) : name_(input_name(path)) {
    if (path != "-") {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (fd_ < 0) fail(name_, std::string("cannot open: ") + std::strerror(errno));
      struct stat st {};
      if (::fstat(fd_, &st) != 0) fail(name_, std::string("cannot stat: ") + std::strerror(errno));
      if (S_ISDIR(st.st_mode)) fail(name_, "is a folder, not a file");
      if (S_ISREG(st.st_mode)) {
        size_ = static_cast<uint64_t>(st.st_size);
        return;
      }
      ::close(fd_);
      fd_ = -1;
    }
    ReadOptions binary = read;
    binary.binary = true;
    whole_ = read_input(path, binary);
    size_ = whole_.size();
  }
  ~Source() {
    if (fd_ >= 0) ::close(fd_);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  uint64_t size() const { return size_; }
  const std::string& name() const { return name_; }

  // Exactly `len` bytes at `offset` into dst.
  void read(uint64_t offset, size_t len, char* dst) const {
    if (offset + len > size_) fail(name_, "the file ends early (it was shortened while being read?)");
    if (fd_ < 0) {
      std::memcpy(dst, whole_.view().data() + offset, len);
      return;
    }
    size_t got = 0;
    while (got < len) {
      const ssize_t k = ::pread(fd_, dst + got, len - got, static_cast<off_t>(offset + got));
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) fail(name_, std::string("cannot read: ") + std::strerror(errno));
      if (k == 0) fail(name_, "the file ends early (it was shortened while being read?)");
      got += static_cast<size_t>(k);
    }
  }

  // A regular file must still be the size it had when opened.
  void check_unchanged() const {
    if (fd_ < 0) return;
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) != size_)
      fail(name_, "the file changed while it was read; is it still being written? read it again when it is complete");
  }

 private:
  std::string name_;
  int fd_ = -1;
  uint64_t size_ = 0;
  InputBytes whole_;
};

NpyHeader read_header(const Source& src) {
  const uint64_t first = std::min<uint64_t>(src.size(), 12);
  std::string head(static_cast<size_t>(first), '\0');
  src.read(0, head.size(), head.data());
  if (!is_npy(head)) fail(src.name(), "not an .npy file (it does not start with NumPy's magic string \\x93NUMPY)");
  if (head.size() < 10) fail(src.name(), "the .npy header is cut short");
  const int major = static_cast<unsigned char>(head[6]);
  const size_t len_bytes = major == 1 ? 2 : 4, start = 8 + len_bytes;
  if ((major == 2 || major == 3) && head.size() < 12) fail(src.name(), "the .npy header is cut short");
  uint64_t len = 0;
  if (major >= 1 && major <= 3)
    for (size_t k = 0; k < len_bytes; ++k) len |= static_cast<uint64_t>(static_cast<unsigned char>(head[8 + k])) << (8 * k);
  if (len > (uint64_t{1} << 24)) fail(src.name(), "the .npy header claims " + std::to_string(len) + " bytes; not a real header");
  if (start + len > src.size()) fail(src.name(), "the .npy header is cut short (the file ends inside it)");
  std::string whole(static_cast<size_t>(start + len), '\0');
  src.read(0, whole.size(), whole.data());
  return parse_npy_header(whole, src.name());
}

void check_data_size(const NpyHeader& h, const Source& src) {
  const int64_t rows = h.rows(), cols = h.cols();
  const long double want = static_cast<long double>(rows) * static_cast<long double>(cols) * h.itemsize;
  const uint64_t have = src.size() - h.data_offset;
  if (want != static_cast<long double>(have)) {
    const std::string what = "its header says " + std::to_string(rows) + (h.shape.size() == 2 ? " x " + std::to_string(cols) : std::string()) +
                             " values of " + (h.itemsize == 4 ? "float32" : "float64") + " (" +
                             std::to_string(static_cast<uint64_t>(want)) + " bytes of data) but the file has " +
                             std::to_string(have);
    fail(src.name(), static_cast<long double>(have) < want ? "truncated: " + what : "extra bytes after the data: " + what);
  }
}

// Decodes `count` values of the file's type from raw bytes (swapping the bytes of a big-endian
// file). One loop per type and byte order, so that each is a plain vectorisable copy.
template <typename Bits, typename Value>
void decode_as(const char* raw, size_t count, bool swap, double* out) {
  for (size_t k = 0; k < count; ++k) {
    Bits u;
    std::memcpy(&u, raw + sizeof(Bits) * k, sizeof(Bits));
    if (swap) {
      if constexpr (sizeof(Bits) == 4) u = __builtin_bswap32(u);
      else u = __builtin_bswap64(u);
    }
    Value v;
    std::memcpy(&v, &u, sizeof v);
    out[k] = static_cast<double>(v);
  }
}

void decode(const NpyHeader& h, const char* raw, size_t count, double* out) {
  if (h.itemsize == 4) {
    if (h.big_endian) decode_as<uint32_t, float>(raw, count, true, out);
    else decode_as<uint32_t, float>(raw, count, false, out);
  } else {
    if (h.big_endian) decode_as<uint64_t, double>(raw, count, true, out);
    else decode_as<uint64_t, double>(raw, count, false, out);
  }
}

// The checks every value of the data passes, as for CSV: finite, and within float32's range.
// The message is built only for a value that fails (this runs once per value read).
[[noreturn]] void refuse_value(double v, const std::string& source, int64_t row, int64_t col, bool matrix) {
  const std::string where = "row " + std::to_string(row + 1) + (matrix ? ", column " + std::to_string(col) : "");
  if (!std::isfinite(v)) fail(source, where + ": " + (std::isnan(v) ? "NaN" : "an infinite value") + ", not a number linreg can fit");
  if (std::fabs(v) > static_cast<double>(FLT_MAX))
    fail(source, where + ": " + shortest(v) + " is too large for float32 (SGD trains on float32 copies of the values)");
  throw std::logic_error("refuse_value: the value is fine");
}

inline void check_value(double v, const std::string& source, int64_t row, int64_t col, bool matrix) {
  if (!(std::fabs(v) <= static_cast<double>(FLT_MAX))) refuse_value(v, source, row, col, matrix);  // NaN fails too
}

// Rows [begin, end) of src in chunks; f(row, values of that row as doubles).
template <typename F>
void each_row(const Source& src, const NpyHeader& h, int64_t begin, int64_t end, const F& f) {
  const int64_t rows = end, cols = h.cols();
  const size_t row_bytes = static_cast<size_t>(cols) * static_cast<size_t>(h.itemsize);
  // 256 KiB at a time: the raw bytes and their decoded doubles stay in the core's cache between
  // the decoding and the caller's copy (16 MiB pieces ran 4x slower, out of memory).
  const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>((size_t{256} << 10) / std::max<size_t>(row_bytes, 1)));
  std::vector<char> raw;
  std::vector<double> vals;
  for (int64_t r0 = begin; r0 < rows; r0 += chunk) {
    const int64_t m = std::min(chunk, rows - r0);
    raw.resize(static_cast<size_t>(m) * row_bytes);
    vals.resize(static_cast<size_t>(m * cols));
    src.read(h.data_offset + static_cast<uint64_t>(r0) * row_bytes, raw.size(), raw.data());
    decode(h, raw.data(), vals.size(), vals.data());
    for (int64_t r = 0; r < m; ++r) f(r0 + r, vals.data() + r * cols);
  }
  src.check_unchanged();
}

// Rows [begin, end) of src in pieces of 256 KiB; f(first row, rows, their raw bytes).
template <typename F>
void each_piece(const Source& src, const NpyHeader& h, int64_t begin, int64_t end, const F& f) {
  const size_t row_bytes = static_cast<size_t>(h.cols()) * static_cast<size_t>(h.itemsize);
  const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>((size_t{256} << 10) / std::max<size_t>(row_bytes, 1)));
  std::vector<char> raw;
  for (int64_t r0 = begin; r0 < end; r0 += chunk) {
    const int64_t m = std::min(chunk, end - r0);
    raw.resize(static_cast<size_t>(m) * row_bytes);
    src.read(h.data_offset + static_cast<uint64_t>(r0) * row_bytes, raw.size(), raw.data());
    f(r0, m, raw.data());
  }
  src.check_unchanged();
}

void write_header(std::string& out, const char* descr, int64_t rows, int64_t cols) {
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(rows) +
                     (cols == 0 ? std::string(",") : ", " + std::to_string(cols)) + "), }";
  // Padded with spaces and ended by a newline so that the data start at a multiple of 64 bytes.
  const size_t total = ((10 + dict.size() + 1 + 63) / 64) * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  out.append(kMagic, kMagicLen);
  out += '\x01';
  out += '\x00';
  const uint16_t len = static_cast<uint16_t>(dict.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  out += dict;
}

template <typename T>
std::string format(const T* data, int64_t rows, int64_t cols, const char* descr) {
  if (rows < 0 || cols < 0) throw InputError("format_npy: a negative size");
  std::string out;
  write_header(out, descr, rows, cols);
  const size_t bytes = static_cast<size_t>(rows) * static_cast<size_t>(std::max<int64_t>(cols, 1)) * sizeof(T);
  const size_t at = out.size();
  out.resize(at + bytes);
  if (bytes) std::memcpy(out.data() + at, data, bytes);
  return out;
}

}  // namespace

bool is_npy(std::string_view head) { return head.size() >= kMagicLen && head.substr(0, kMagicLen) == std::string_view(kMagic, kMagicLen); }

bool file_is_npy(const std::string& path) {
  if (path == "-") return false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  char head[kMagicLen] = {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const bool ok = regular && ::pread(fd, head, kMagicLen, 0) == static_cast<ssize_t>(kMagicLen);
  ::close(fd);
  return ok && is_npy(std::string_view(head, kMagicLen));
}

bool npy_path(const std::string& path) { return path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0; }

NpyHeader parse_npy_header(std::string_view head, const std::string& source) {
  if (!is_npy(head)) fail(source, "not an .npy file (it does not start with NumPy's magic string \\x93NUMPY)");
  if (head.size() < 10) fail(source, "the .npy header is cut short");
  const int major = static_cast<unsigned char>(head[6]);
  if (major < 1 || major > 3)
    fail(source, "an .npy file of format version " + std::to_string(major) + "." +
                     std::to_string(static_cast<unsigned char>(head[7])) + "; linreg reads versions 1.0 to 3.0");
  const size_t len_bytes = major == 1 ? 2 : 4, start = 8 + len_bytes;
  if (head.size() < start) fail(source, "the .npy header is cut short");
  uint64_t len = 0;
  for (size_t k = 0; k < len_bytes; ++k) len |= static_cast<uint64_t>(static_cast<unsigned char>(head[8 + k])) << (8 * k);
  if (head.size() < start + len) fail(source, "the .npy header is cut short");
  DictReader r(head.substr(start, static_cast<size_t>(len)), source);
  NpyHeader h;
  h.data_offset = start + len;
  std::string descr;
  bool fortran = false, have_descr = false, have_order = false, have_shape = false;
  r.expect('{');
  while (!r.accept('}')) {
    const std::string key = r.string();
    r.expect(':');
    if (key == "descr") {
      descr = r.string();
      have_descr = true;
    } else if (key == "fortran_order") {
      fortran = r.boolean();
      have_order = true;
    } else if (key == "shape") {
      h.shape = r.tuple();
      have_shape = true;
    } else {
      r.bad("an unknown key '" + key + "'");
    }
    if (!r.accept(',')) {
      r.expect('}');
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape) r.bad("a key missing: descr, fortran_order and shape are needed");
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '>' || descr[0] == '=') && descr[1] == 'f' &&
      (descr[2] == '4' || descr[2] == '8')) {
    h.itemsize = descr[2] - '0';
    h.big_endian = descr[0] == '>';
  } else {
    fail(source, "an .npy array of dtype '" + descr + "'; linreg reads float32 ('<f4') or float64 ('<f8'): convert it "
                 "with a.astype(np.float32) or np.float64");
  }
  if (fortran)
    fail(source, "an .npy array in Fortran (column-major) order; linreg reads C order: save np.ascontiguousarray(a)");
  if (h.shape.size() != 1 && h.shape.size() != 2)
    fail(source, "an .npy array with " + std::to_string(h.shape.size()) +
                     " dimensions; linreg reads a matrix (rows, columns) or a vector (rows,)");
  return h;
}

struct NpyRows::Impl {
  std::unique_ptr<Source> src, lsrc;  // the matrix, and the labels file when given
  NpyHeader h, lh;
  bool matrix = false, wide = false, wide_y = false;
  int64_t target = -1;                // the target's column in the matrix, or -1
  std::vector<int64_t> features;      // the feature columns, in order
  std::vector<std::string> names;
};

NpyRows::NpyRows(const std::string& path, const NpyOptions& opt) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.src = std::make_unique<Source>(path, opt.read);
  const Source& src = *m.src;
  m.h = read_header(src);
  const NpyHeader& h = m.h;
  check_data_size(h, src);
  const int64_t n = h.rows(), cols = h.cols();
  m.matrix = h.shape.size() == 2;
  if (n == 0) fail(src.name(), "no rows (shape " + std::to_string(n) + (m.matrix ? ", " + std::to_string(cols) : "") + ")");
  // The target: a second file, a column of this one, or (predict) none.
  int64_t& target = m.target;
  if (!opt.labels.empty()) {
    if (opt.target_column >= 0) throw InputError(opt.target_flag + " and " + opt.labels_flag + ": give one (the target is a column, or a file)");
    m.lsrc = std::make_unique<Source>(opt.labels, opt.read);
    m.lh = read_header(*m.lsrc);
    check_data_size(m.lh, *m.lsrc);
    if (m.lh.cols() != 1)
      fail(m.lsrc->name(), "the labels must be one value per row: shape (" + std::to_string(m.lh.rows()) + ", " +
                               std::to_string(m.lh.cols()) + ")");
    if (m.lh.rows() != n)
      fail(m.lsrc->name(), std::to_string(m.lh.rows()) + " labels for the " + std::to_string(n) + " rows of " + src.name());
  } else if (!opt.target_required && opt.target_column < 0 && !opt.columns.empty()) {
    // predict: the last column is the target when it is not one of the model's features.
    if (std::find(opt.columns.begin(), opt.columns.end(), cols - 1) == opt.columns.end()) target = cols - 1;
  } else if (opt.target_required || opt.target_column >= 0) {
    target = opt.target_column < 0 ? cols - 1 : opt.target_column;
    if (target >= cols)
      throw InputError(opt.target_flag + ": column " + std::to_string(target) + " does not exist: " + src.name() +
                       " has " + std::to_string(cols) + " column" + (cols == 1 ? "" : "s") + " (0 to " +
                       std::to_string(cols - 1) + ")");
    if (cols < 2)
      fail(src.name(), "one column only: it cannot hold both features and the target (give the target with " +
                           opt.labels_flag + ")");
  }
  m.features = opt.columns;
  if (m.features.empty())
    for (int64_t j = 0; j < cols; ++j)
      if (j != target) m.features.push_back(j);
  for (int64_t j : m.features) {
    if (j < 0 || j >= cols)
      fail(src.name(), "has no column " + std::to_string(j) + " (it has " + std::to_string(cols) + ": 0 to " +
                           std::to_string(cols - 1) + ")");
    if (j == target) throw InputError(opt.target_flag + ": column " + std::to_string(j) + " is also a feature");
    m.names.push_back("x" + std::to_string(j));
  }
  if (m.features.empty()) fail(src.name(), "no feature columns (shape " + std::to_string(n) + ", " + std::to_string(cols) + ")");
  m.wide = h.itemsize == 8;
  m.wide_y = m.lsrc ? m.lh.itemsize == 8 : m.wide;
}

NpyRows::~NpyRows() = default;

int64_t NpyRows::rows() const { return impl_->h.rows(); }
int64_t NpyRows::features() const { return static_cast<int64_t>(impl_->features.size()); }
int64_t NpyRows::header_columns() const { return impl_->h.cols(); }
bool NpyRows::has_target() const { return impl_->target >= 0 || impl_->lsrc != nullptr; }
bool NpyRows::wide() const { return impl_->wide; }
const std::string& NpyRows::name() const { return impl_->src->name(); }

void NpyRows::read(int64_t r0, int64_t count, HostDataset& ds, bool floats_only) const {
  const Impl& m = *impl_;
  if (r0 < 0 || count < 0 || r0 + count > rows()) throw std::logic_error("NpyRows::read: rows out of range");
  ds.n = count;
  ds.d = features();
  ds.feature_names = m.names;
  ds.target_name = "y";
  const bool wide = m.wide && !floats_only, wide_y = m.wide_y && !floats_only;
  ds.X.resize(static_cast<size_t>(count * ds.d));
  ds.X64.resize(wide ? ds.X.size() : 0);
  const bool has_y = has_target();
  ds.y.resize(has_y ? static_cast<size_t>(count) : 0);
  ds.y64.resize(has_y && wide_y ? ds.y.size() : 0);
  decode(r0, count, ds.X.data(), wide ? ds.X64.data() : nullptr, has_y ? ds.y.data() : nullptr,
         has_y && wide_y ? ds.y64.data() : nullptr);
}

void NpyRows::read_floats(int64_t r0, int64_t count, float* X, float* y) const {
  if (r0 < 0 || count < 0 || r0 + count > rows()) throw std::logic_error("NpyRows::read_floats: rows out of range");
  if (!has_target()) throw std::logic_error("NpyRows::read_floats: the file has no target");
  decode(r0, count, X, nullptr, y, nullptr);
}

void NpyRows::decode(int64_t r0, int64_t count, float* X_out, double* X64_out, float* y_out, double* y64_out) const {
  const Impl& m = *impl_;
  const Source& src = *m.src;
  const bool wide = X64_out != nullptr, wide_y = y64_out != nullptr;
  const int64_t d = features(), target = m.target;
  const int64_t* cols = m.features.data();
  // The copy, with the float64 copies or without (two instances: no test of `wide` per value).
  const auto copy_rows = [&](auto keep_doubles) {
    constexpr bool kWide = decltype(keep_doubles)::value;
    float* X = X_out;
    double* X64 = kWide ? X64_out : nullptr;
    each_row(src, m.h, r0, r0 + count, [&](int64_t row_index, const double* row) {
      const int64_t i = row_index - r0;
      bool ok = true;
      for (int64_t k = 0; k < d; ++k) {
        const double v = row[cols[k]];
        ok &= std::fabs(v) <= static_cast<double>(FLT_MAX);  // false for NaN too
        X[i * d + k] = static_cast<float>(v);
        if constexpr (kWide) X64[i * d + k] = v;
      }
      if (!ok)  // name the first bad value
        for (int64_t k = 0; k < d; ++k) check_value(row[cols[k]], src.name(), row_index, cols[k], m.matrix);
      if (target >= 0) {
        const double v = row[target];
        check_value(v, src.name(), row_index, target, m.matrix);
        y_out[i] = static_cast<float>(v);
        if (wide_y) y64_out[i] = v;
      }
    });
  };
  // The common file (little-endian float32, the features side by side, as generate writes):
  // the bytes are the floats, copied as they are and then checked, with no double in between.
  bool side_by_side = m.h.itemsize == 4 && !m.h.big_endian && d > 0;
  for (int64_t k = 1; k < d && side_by_side; ++k) side_by_side = cols[k] == cols[0] + k;
  if (side_by_side && !wide) {
    const int64_t stride = m.h.cols();
    // A float is finite unless its exponent bits are all ones: tested on the bits, over the whole
    // piece at once (vectorised); only a piece with a bad value is scanned again to name it.
    const auto nonfinite = [](const char* bytes, size_t count, size_t step) {
      uint32_t bad = 0;
      for (size_t k = 0; k < count; ++k) {
        uint32_t u;
        std::memcpy(&u, bytes + k * step, 4);
        bad |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
      }
      return bad != 0;
    };
    each_piece(src, m.h, r0, r0 + count, [&](int64_t first, int64_t rows, const char* raw) {
      float* x0 = X_out + (first - r0) * d;
      // Copied and checked in one loop over the words (vectorised; a memcpy call a row cost
      // more than the copy itself at a few features).
      uint32_t nonfinite_bits = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const char* in = raw + (r * stride + cols[0]) * 4;
        float* out = x0 + r * d;
        for (int64_t k = 0; k < d; ++k) {
          uint32_t u;
          std::memcpy(&u, in + k * 4, 4);
          nonfinite_bits |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
          std::memcpy(out + k, &u, 4);
        }
      }
      bool bad = nonfinite_bits != 0;
      if (target >= 0) {
        bad = bad || nonfinite(raw + target * 4, static_cast<size_t>(rows), static_cast<size_t>(stride) * 4);
        for (int64_t r = 0; r < rows; ++r) {
          float v;
          std::memcpy(&v, raw + (r * stride + target) * 4, 4);
          y_out[first - r0 + r] = v;
          if (wide_y) y64_out[first - r0 + r] = v;
        }
      }
      if (bad)  // the first bad value in the file's order: a row's features, then its target
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t k = 0; k < d; ++k) check_value(x0[r * d + k], src.name(), first + r, cols[k], m.matrix);
          if (target >= 0) check_value(y_out[first - r0 + r], src.name(), first + r, target, m.matrix);
        }
    });
  } else if (wide) {
    copy_rows(std::true_type{});
  } else {
    copy_rows(std::false_type{});
  }
  if (m.lsrc)
    each_row(*m.lsrc, m.lh, r0, r0 + count, [&](int64_t row_index, const double* row) {
      const int64_t i = row_index - r0;
      check_value(row[0], m.lsrc->name(), row_index, 0, false);
      y_out[i] = static_cast<float>(row[0]);
      if (wide_y) y64_out[i] = row[0];
    });
}

CsvRead read_npy(const std::string& path, const NpyOptions& opt) {
  const NpyRows file(path, opt);
  CsvRead out;
  // A rank's shard of the rows (all of them for one process): only these are read.
  const Shard shard = shard_of(file.rows(), opt.shard_index, opt.shard_count);
  file.read(shard.begin, shard.rows(), out.data);
  out.total_rows = file.rows();
  out.first_row = shard.begin;
  out.header_columns = file.header_columns();
  out.has_target = file.has_target();
  return out;
}

std::string format_npy(const float* data, int64_t rows, int64_t cols) { return format(data, rows, cols, "<f4"); }
std::string format_npy(const double* data, int64_t rows, int64_t cols) { return format(data, rows, cols, "<f8"); }

}  // namespace linreg::data
