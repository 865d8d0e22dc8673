// Printing exactly as Python prints: PyTorch's tensor repr (the rules of torch/_tensor_str.py:
// int mode, scientific mode, precision 4, width of the widest element, line width 80,
// summarisation above 1000 elements with 3 edge items, the dtype / grad_fn suffixes),
// Python's repr of a float (shortest round-trip) and NumPy's array repr (for X.numpy()).
// One subject, kept in one file past 500 lines: the three printers share the float-formatting
// core, and PyTorch's rules read best in one place beside each other.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "host/tensor/tensor.hpp"
#include "host/tensor/tensor_impl.hpp"

namespace linreg::tensor {

namespace {

std::string printf_str(const char* fmt, double v) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}
std::string printf_str(const char* fmt, int width, double v) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, width, v);
  return buf;
}

std::string nonfinite_str(double v) { return std::isnan(v) ? "nan" : (v < 0 ? "-inf" : "inf"); }

// Shortest decimal digits that round-trip to v (as a float when as_float): v = 0.d1d2...dn × 10^decpt.
void shortest_digits(double v, bool as_float, std::string& digits, int& decpt, bool& negative) {
  negative = std::signbit(v);
  const double a = std::fabs(v);
  if (a == 0) {
    digits = "0";
    decpt = 1;
    return;
  }
  const int max_p = as_float ? 9 : 17;
  char buf[64];
  for (int p = 1; p <= max_p; ++p) {
    std::snprintf(buf, sizeof buf, "%.*e", p - 1, a);
    const bool ok = as_float ? std::strtof(buf, nullptr) == static_cast<float>(a) : std::strtod(buf, nullptr) == a;
    if (ok || p == max_p) break;
  }
  const std::string s = buf;
  const size_t e = s.find('e');
  digits.clear();
  for (size_t i = 0; i < e; ++i)
    if (s[i] != '.') digits += s[i];
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  decpt = std::atoi(s.c_str() + e + 1) + 1;
}

}  // namespace

std::string python_float_repr(double v) {
  if (!std::isfinite(v)) return nonfinite_str(v);
  std::string digits;
  int decpt = 0;
  bool neg = false;
  shortest_digits(v, false, digits, decpt, neg);
  std::string out = neg ? "-" : "";
  const int n = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    } else if (decpt >= n) {
      out += digits + std::string(static_cast<size_t>(decpt - n), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (n > 1) out += "." + digits.substr(1);
  const int e = decpt - 1;
  char buf[16];
  std::snprintf(buf, sizeof buf, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
  return out + buf;
}

std::string repr(bool b) { return b ? "True" : "False"; }
std::string repr(int64_t v) { return std::to_string(v); }

std::string repr(const Scalar& s) {
  switch (s.kind()) {
    case Scalar::Kind::Bool: return repr(s.to_bool());
    case Scalar::Kind::Int: return std::to_string(s.to_int());
    case Scalar::Kind::Float: return python_float_repr(s.to_double());
  }
  return "?";
}

std::string repr(const Size& s) {
  std::string out = "torch.Size([";
  for (size_t i = 0; i < s.dims.size(); ++i) out += (i ? ", " : "") + std::to_string(s.dims[i]);
  return out + "])";
}

// ================================ PyTorch's tensor repr ================================

namespace {

constexpr int kLineWidth = 80;   // PRINT_OPTS.linewidth
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;

// The values of a tensor in row-major order, as doubles (floating), or int64 (int/bool).
struct Flat {
  IntList sizes;
  IntList strides;  // contiguous strides of sizes
  Dtype dtype;
  std::vector<double> d;
  std::vector<int64_t> i;
  bool floating() const { return is_floating_point(dtype); }
};

Flat flatten(const Tensor& t) {
  Flat f;
  f.sizes = t.sizes();
  f.strides = detail::contiguous_strides(f.sizes);
  f.dtype = t.dtype();
  if (f.floating()) f.d = t.to_vector<double>();
  else f.i = t.to_vector<int64_t>();
  return f;
}

// Row indices shown along a dimension of size n (all, or the edge items when summarising).
std::vector<int64_t> shown(int64_t n, bool summarize) {
  std::vector<int64_t> r;
  if (summarize && n > 2 * kEdgeItems) {
    for (int64_t k = 0; k < kEdgeItems; ++k) r.push_back(k);
    for (int64_t k = n - kEdgeItems; k < n; ++k) r.push_back(k);
  } else {
    for (int64_t k = 0; k < n; ++k) r.push_back(k);
  }
  return r;
}

// Flat positions of the elements that get printed (get_summarized_data).
void collect(const Flat& f, size_t d, int64_t base, bool summarize, std::vector<int64_t>& out) {
  if (d == f.sizes.size()) {
    out.push_back(base);
    return;
  }
  for (int64_t k : shown(f.sizes[d], summarize)) collect(f, d + 1, base + k * f.strides[d], summarize, out);
}

class Formatter {
 public:
  Formatter(const Flat& f, const std::vector<int64_t>& positions) : floating_(f.floating()), dtype_(f.dtype) {
    if (!floating_) {
      for (int64_t p : positions) width_ = std::max(width_, int_str(f.i[static_cast<size_t>(p)]).size());
      return;
    }
    std::vector<double> vals;
    for (int64_t p : positions) {
      const double v = f.d[static_cast<size_t>(p)];
      if (std::isfinite(v) && v != 0) vals.push_back(v);
    }
    if (vals.empty()) return;
    double mx = 0, mn = INFINITY;
    for (double v : vals) {
      mx = std::max(mx, std::fabs(v));
      mn = std::min(mn, std::fabs(v));
    }
    for (double v : vals)
      if (v != std::ceil(v)) {
        int_mode_ = false;
        break;
      }
    if (int_mode_) {
      if (mx / mn > 1000.0 || mx > 1.0e8) {
        sci_mode_ = true;
        for (double v : vals) width_ = std::max(width_, printf_str("%.4e", v).size());
      } else {
        for (double v : vals) width_ = std::max(width_, printf_str("%.0f", v).size() + 1);
      }
    } else if (mx / mn > 1000.0 || mx > 1.0e8 || mn < 1.0e-4) {
      sci_mode_ = true;
      for (double v : vals) width_ = std::max(width_, printf_str("%.4e", v).size());
    } else {
      for (double v : vals) width_ = std::max(width_, printf_str("%.4f", v).size());
    }
  }

  size_t width() const { return width_; }

  std::string format_int(int64_t v) const { return pad(int_str(v)); }

  std::string format_float(double v) const {
    std::string r;
    if (!std::isfinite(v)) r = nonfinite_str(v);
    else if (sci_mode_) r = printf_str("%*.4e", static_cast<int>(width_), v);
    else if (int_mode_) r = printf_str("%.0f", v) + ".";
    else r = printf_str("%.4f", v);
    return pad(r);
  }

 private:
  std::string int_str(int64_t v) const { return dtype_ == Dtype::Bool ? repr(v != 0) : std::to_string(v); }
  std::string pad(const std::string& s) const {
    return s.size() >= width_ ? s : std::string(width_ - s.size(), ' ') + s;
  }

  bool floating_;
  Dtype dtype_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  size_t width_ = 1;
};

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t k = 0; k < parts.size(); ++k) out += (k ? sep : "") + parts[k];
  return out;
}

struct TensorPrinter {
  const Flat& f;
  const Formatter& fmt;
  bool summarize;

  std::string value(int64_t pos) const {
    return f.floating() ? fmt.format_float(f.d[static_cast<size_t>(pos)]) : fmt.format_int(f.i[static_cast<size_t>(pos)]);
  }

  std::string vector_str(size_t d, int64_t base, int indent) const {
    const int64_t element_length = static_cast<int64_t>(fmt.width()) + 2;
    const int64_t per_line = std::max<int64_t>(1, (kLineWidth - indent) / element_length);
    const int64_t n = f.sizes[d];
    std::vector<std::string> data;
    if (summarize && n > 2 * kEdgeItems) {
      for (int64_t k = 0; k < kEdgeItems; ++k) data.push_back(value(base + k * f.strides[d]));
      data.push_back(" ...");
      for (int64_t k = n - kEdgeItems; k < n; ++k) data.push_back(value(base + k * f.strides[d]));
    } else {
      for (int64_t k = 0; k < n; ++k) data.push_back(value(base + k * f.strides[d]));
    }
    std::vector<std::string> lines;
    for (size_t k = 0; k < data.size(); k += static_cast<size_t>(per_line)) {
      const size_t e = std::min(data.size(), k + static_cast<size_t>(per_line));
      lines.push_back(join(std::vector<std::string>(data.begin() + static_cast<std::ptrdiff_t>(k),
                                                    data.begin() + static_cast<std::ptrdiff_t>(e)), ", "));
    }
    return "[" + join(lines, ",\n" + std::string(static_cast<size_t>(indent + 1), ' ')) + "]";
  }

  std::string tensor_str(size_t d, int64_t base, int indent) const {
    const size_t left = f.sizes.size() - d;
    if (left == 0) return value(base);
    if (left == 1) return vector_str(d, base, indent);
    const int64_t n = f.sizes[d];
    std::vector<std::string> slices;
    if (summarize && n > 2 * kEdgeItems) {
      for (int64_t k = 0; k < kEdgeItems; ++k) slices.push_back(tensor_str(d + 1, base + k * f.strides[d], indent + 1));
      slices.push_back("...");
      for (int64_t k = n - kEdgeItems; k < n; ++k) slices.push_back(tensor_str(d + 1, base + k * f.strides[d], indent + 1));
    } else {
      for (int64_t k = 0; k < n; ++k) slices.push_back(tensor_str(d + 1, base + k * f.strides[d], indent + 1));
    }
    return "[" + join(slices, "," + std::string(left - 1, '\n') + std::string(static_cast<size_t>(indent + 1), ' ')) + "]";
  }
};

std::string add_suffixes(const std::string& tensor_str, const std::vector<std::string>& suffixes, int indent) {
  std::string out = tensor_str;
  const size_t nl = tensor_str.rfind('\n');
  // len(tensor_str) - tensor_str.rfind("\n") + 1, with rfind = -1 when there is no newline
  int64_t last_line_len = static_cast<int64_t>(tensor_str.size()) -
                          (nl == std::string::npos ? -1 : static_cast<int64_t>(nl)) + 1;
  for (const std::string& s : suffixes) {
    const int64_t len = static_cast<int64_t>(s.size());
    if (last_line_len + len + 2 > kLineWidth) {
      out += ",\n" + std::string(static_cast<size_t>(indent), ' ') + s;
      last_line_len = indent + len;
    } else {
      out += ", " + s;
      last_line_len += len + 2;
    }
  }
  return out + ")";
}

std::string tuple_str(const IntList& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

}  // namespace

std::string repr(const Tensor& t) { return t.defined() ? repr_as(t, t.device()) : "None"; }

// PyTorch prints the device first among the suffixes when it is not the default tensor type's
// (cpu): tensor([2., 3.], device='cuda:0', grad_fn=<AddBackward0>). The values of a cuda tensor
// are copied to the host and formatted there, as torch/_tensor_str.py does.
std::string repr_as(const Tensor& shown_tensor, const Device& shown) {
  if (!shown_tensor.defined()) return "None";
  const Tensor t = detail::to_device_raw(shown_tensor, Device());
  const std::string prefix = "tensor(";
  const int indent = static_cast<int>(prefix.size());
  std::vector<std::string> suffixes;
  if (shown.is_cuda()) suffixes.push_back("device='" + shown.str() + "'");
  std::string body;
  if (t.numel() == 0) {
    if (t.dim() != 1) suffixes.push_back("size=" + tuple_str(t.sizes()));
    if (t.dtype() != kDefaultFloat) suffixes.push_back("dtype=" + dtype_name(t.dtype()));
    body = "[]";
  } else {
    if (t.dtype() == Dtype::Float64) suffixes.push_back("dtype=" + dtype_name(t.dtype()));
    const Flat f = flatten(t);
    const bool summarize = t.numel() > kThreshold;
    std::vector<int64_t> positions;
    collect(f, 0, 0, summarize, positions);
    const Formatter fmt(f, positions);
    body = TensorPrinter{f, fmt, summarize}.tensor_str(0, 0, indent);
  }
  const std::string gf = shown_tensor.grad_fn_name();
  if (!gf.empty()) suffixes.push_back("grad_fn=<" + gf + ">");
  else if (shown_tensor.requires_grad()) suffixes.push_back("requires_grad=True");
  return add_suffixes(prefix + body, suffixes, indent);
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << repr(t); }
std::ostream& operator<<(std::ostream& os, const Size& s) { return os << repr(s); }

// ================================ NumPy's array repr ================================

namespace {

constexpr int kNpLineWidth = 75;
constexpr int kNpPrecision = 8;

// dragon4_positional(x, precision=8, unique=True, fractional=True, trim='.') → "12.", "0.5"
std::string np_positional(double v, bool as_float) {
  std::string digits;
  int decpt = 0;
  bool neg = false;
  shortest_digits(v, as_float, digits, decpt, neg);
  const int frac = static_cast<int>(digits.size()) - decpt;
  if (frac > kNpPrecision) {
    // Too many fractional digits for the precision: round the exact value to 8 of them.
    std::string s = printf_str("%.8f", std::fabs(v));
    while (!s.empty() && s.back() == '0') s.pop_back();
    return (neg ? "-" : "") + s;
  }
  std::string out = neg ? "-" : "";
  const int n = static_cast<int>(digits.size());
  if (decpt <= 0) out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
  else if (decpt >= n) out += digits + std::string(static_cast<size_t>(decpt - n), '0') + ".";
  else out += digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
  if (digits == "0") out = (neg ? "-0." : "0.");
  return out;
}

struct NpFloatFormat {
  bool exp_format = false;
  size_t pad_left = 0, pad_right = 0;
  int precision = 0, exp_size = 2;
  bool as_float = true;

  void init(const std::vector<double>& all) {
    std::vector<double> finite;
    for (double v : all)
      if (std::isfinite(v)) finite.push_back(v);
    double mx = 0, mn = INFINITY;
    bool any_nz = false;
    for (double v : finite)
      if (v != 0) {
        any_nz = true;
        mx = std::max(mx, std::fabs(v));
        mn = std::min(mn, std::fabs(v));
      }
    if (any_nz && (mx >= 1.e8 || mn < 0.0001 || mx / mn > 1000.)) exp_format = true;
    if (finite.empty()) {
      pad_left = pad_right = 0;
    } else if (exp_format) {
      for (double v : finite) {
        std::string digits;
        int decpt = 0;
        bool neg = false;
        shortest_digits(v, as_float, digits, decpt, neg);
        digits = digits.substr(0, static_cast<size_t>(kNpPrecision + 1));
        precision = std::max(precision, static_cast<int>(digits.size()) - 1);
        pad_left = std::max(pad_left, static_cast<size_t>(neg ? 2 : 1));
        const int e = v == 0 ? 0 : decpt - 1;
        exp_size = std::max(exp_size, static_cast<int>(std::to_string(e < 0 ? -e : e).size()));
      }
      pad_right = static_cast<size_t>(exp_size + 2 + precision);
    } else {
      for (double v : finite) {
        const std::string s = np_positional(v, as_float);
        const size_t dot = s.find('.');
        pad_left = std::max(pad_left, dot);
        pad_right = std::max(pad_right, s.size() - dot - 1);
      }
    }
    if (finite.size() != all.size()) {
      bool neginf = false;
      for (double v : all) neginf = neginf || (std::isinf(v) && v < 0);
      const int64_t offset = static_cast<int64_t>(pad_right) + 1;
      pad_left = static_cast<size_t>(std::max<int64_t>({static_cast<int64_t>(pad_left), 3 - offset, 3 + (neginf ? 1 : 0) - offset}));
    }
  }

  std::string format(double v) const {
    if (!std::isfinite(v)) {
      const std::string r = nonfinite_str(v);
      const size_t w = pad_left + pad_right + 1;
      return w > r.size() ? std::string(w - r.size(), ' ') + r : r;
    }
    if (exp_format) {
      // mantissa with `precision` fraction digits (zeros kept), exponent with exp_size digits
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.*e", precision, v);
      std::string s = buf;
      const size_t e = s.find('e');
      std::string mant = s.substr(0, e);
      if (mant.find('.') == std::string::npos) mant += ".";
      const int ex = std::atoi(s.c_str() + e + 1);
      std::string es = std::to_string(ex < 0 ? -ex : ex);
      if (static_cast<int>(es.size()) < exp_size) es = std::string(static_cast<size_t>(exp_size) - es.size(), '0') + es;
      const size_t dot = mant.find('.');
      const std::string ip = mant.substr(0, dot);
      return std::string(pad_left > ip.size() ? pad_left - ip.size() : 0, ' ') + mant + "e" + (ex < 0 ? "-" : "+") + es;
    }
    const std::string s = np_positional(v, as_float);
    const size_t dot = s.find('.');
    const size_t frac = s.size() - dot - 1;
    return std::string(pad_left > dot ? pad_left - dot : 0, ' ') + s + std::string(pad_right > frac ? pad_right - frac : 0, ' ');
  }
};

struct NpPrinter {
  const Flat& f;
  const NpFloatFormat& ff;
  size_t int_width = 0;
  bool summarize = false;
  std::string sep = ", ";

  std::string value(int64_t pos) const {
    if (f.floating()) return ff.format(f.d[static_cast<size_t>(pos)]);
    const int64_t v = f.i[static_cast<size_t>(pos)];
    std::string s = f.dtype == Dtype::Bool ? repr(v != 0) : std::to_string(v);
    return s.size() >= int_width ? s : std::string(int_width - s.size(), ' ') + s;
  }

  static void extend_line(std::string& s, std::string& line, const std::string& word, size_t line_width,
                          const std::string& next_line_prefix) {
    bool needs_wrap = line.size() + word.size() > line_width;
    if (line.size() <= next_line_prefix.size()) needs_wrap = false;
    if (needs_wrap) {
      size_t end = line.find_last_not_of(' ');
      s += (end == std::string::npos ? std::string() : line.substr(0, end + 1)) + "\n";
      line = next_line_prefix;
    }
    line += word;
  }

  std::string recurse(size_t axis, int64_t base, const std::string& hanging_indent, size_t curr_width) const {
    const size_t axes_left = f.sizes.size() - axis;
    if (axes_left == 0) return value(base);
    const std::string next_hanging = hanging_indent + " ";
    const size_t next_width = curr_width - 1;  // len(']')
    const int64_t n = f.sizes[axis];
    const bool show_summary = summarize && 2 * kEdgeItems < n;
    const int64_t leading = show_summary ? kEdgeItems : 0;
    const int64_t trailing = show_summary ? kEdgeItems : n;
    const int64_t st = f.strides[axis];
    std::string s;
    if (axes_left == 1) {
      const size_t elem_width = curr_width - std::max<size_t>(1, 1);  // max(len(sep.rstrip()), len(']'))
      std::string line = hanging_indent;
      for (int64_t k = 0; k < leading; ++k) {
        extend_line(s, line, recurse(axis + 1, base + k * st, next_hanging, next_width), elem_width, hanging_indent);
        line += sep;
      }
      if (show_summary) {
        extend_line(s, line, "...", elem_width, hanging_indent);
        line += sep;
      }
      for (int64_t k = trailing; k > 1; --k) {
        extend_line(s, line, recurse(axis + 1, base + (n - k) * st, next_hanging, next_width), elem_width, hanging_indent);
        line += sep;
      }
      extend_line(s, line, recurse(axis + 1, base + (n - 1) * st, next_hanging, next_width), elem_width, hanging_indent);
      s += line;
    } else {
      const std::string line_sep = "," + std::string(axes_left - 1, '\n');
      for (int64_t k = 0; k < leading; ++k) s += hanging_indent + recurse(axis + 1, base + k * st, next_hanging, next_width) + line_sep;
      if (show_summary) s += hanging_indent + "..." + line_sep;
      for (int64_t k = trailing; k > 1; --k)
        s += hanging_indent + recurse(axis + 1, base + (n - k) * st, next_hanging, next_width) + line_sep;
      s += hanging_indent + recurse(axis + 1, base + (n - 1) * st, next_hanging, next_width);
    }
    return "[" + s.substr(hanging_indent.size()) + "]";
  }
};

}  // namespace

std::string numpy_repr(const Tensor& t) {
  if (!t.defined()) return "None";
  if (t.is_cuda())
    throw TensorError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host "
                      "memory first.");
  const Flat f = flatten(t);
  const bool skip_dtype = t.dtype() != Dtype::Float32;
  const std::string prefix = "array(";
  const std::string suffix = skip_dtype ? ")" : ",";
  std::string body;
  if (t.numel() == 0) {
    body = t.dim() == 1 ? "[]" : "[], shape=" + tuple_str(t.sizes());
  } else if (t.dim() == 0) {
    // array(3.5, dtype=float32): the element alone, formatted as NumPy formats a 0-d array.
    NpFloatFormat ff;
    ff.as_float = t.dtype() == Dtype::Float32;
    if (f.floating()) ff.init(f.d);
    NpPrinter p{f, ff};
    body = p.value(0);
    if (f.floating()) {
      const size_t b = body.find_first_not_of(' '), e = body.find_last_not_of(' ');
      body = body.substr(b, e - b + 1);
    }
  } else {
    const bool summarize = t.numel() > kThreshold;
    std::vector<int64_t> positions;
    collect(f, 0, 0, summarize, positions);
    NpFloatFormat ff;
    ff.as_float = t.dtype() == Dtype::Float32;
    size_t int_width = 0;
    if (f.floating()) {
      std::vector<double> vals;
      for (int64_t p : positions) vals.push_back(f.d[static_cast<size_t>(p)]);
      ff.init(vals);
    } else {
      for (int64_t p : positions) {
        const int64_t v = f.i[static_cast<size_t>(p)];
        int_width = std::max(int_width, (f.dtype == Dtype::Bool ? repr(v != 0) : std::to_string(v)).size());
      }
      if (f.dtype == Dtype::Bool) int_width = 5;
    }
    NpPrinter p{f, ff, int_width, summarize};
    body = p.recurse(0, 0, std::string(1 + prefix.size(), ' '), static_cast<size_t>(kNpLineWidth) - suffix.size());
  }
  std::string arr = prefix + body + suffix;
  if (skip_dtype) return arr;
  const std::string dtype_str = "dtype=float32)";
  const size_t nl = arr.rfind('\n');
  const size_t last_line_len = arr.size() - (nl == std::string::npos ? 0 : nl + 1);
  const std::string spacer = last_line_len + dtype_str.size() + 1 > static_cast<size_t>(kNpLineWidth)
                                 ? "\n" + std::string(prefix.size(), ' ')
                                 : " ";
  return arr + spacer + dtype_str;
}

}  // namespace linreg::tensor
