// A small host-side Tensor with reverse-mode autograd, shaped after libtorch's C++ API
// (torch::Tensor, torch::arange, torch::NoGradGuard, ...). It exists so that `linreg tutorial`
// can do every exercise of the lab's sections 2-5 in C++ and print each result exactly as
// PyTorch prints it (see format.cpp). It favours clarity and exactness over speed: elements are
// visited through strides one at a time, floating results are computed in double and rounded
// once to the tensor's dtype.
//
// Model: a Tensor is a handle (shared_ptr) to a TensorImpl = {Storage, sizes, strides, offset,
// requires_grad, grad, grad_fn}. Views (reshape of contiguous data, select, slice, t, expand)
// share the Storage, so X.index_put_({Slice(0, 2), Slice()}, 12) writes into X. Every
// differentiable op records a Node holding its inputs and a backward closure; backward() walks
// the graph in reverse topological order and accumulates gradients into leaves.
//
// The tutorial's C++ lines write `torch::` for this namespace, as a learner would with
// `namespace torch = linreg::tensor;`.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace linreg::tensor {

// Thrown for every misuse (shape mismatch, bad index, backward on a non-scalar, ...). The
// message names the shapes or indices involved.
class TensorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- dtypes ---------------------------------------------------------------------------------
enum class Dtype { Bool, Int64, Float32, Float64 };
inline constexpr Dtype kBool = Dtype::Bool;
inline constexpr Dtype kInt64 = Dtype::Int64;
inline constexpr Dtype kLong = Dtype::Int64;
inline constexpr Dtype kFloat32 = Dtype::Float32;
inline constexpr Dtype kFloat = Dtype::Float32;
inline constexpr Dtype kFloat64 = Dtype::Float64;
inline constexpr Dtype kDouble = Dtype::Float64;

bool is_floating_point(Dtype t);
// PyTorch's promote_types on the lattice bool < int64 < float32 < float64.
Dtype promote_types(Dtype a, Dtype b);
// "torch.float32", ...
std::string dtype_name(Dtype t);
// The default dtype for floating values (float32, as PyTorch's get_default_dtype()).
inline constexpr Dtype kDefaultFloat = Dtype::Float32;

// A number from C++ code: the analogue of a Python scalar (bool, int or float).
class Scalar {
 public:
  enum class Kind { Bool, Int, Float };
  Scalar(bool v) : kind_(Kind::Bool), i_(v ? 1 : 0), d_(v ? 1.0 : 0.0) {}
  Scalar(int v) : kind_(Kind::Int), i_(v), d_(static_cast<double>(v)) {}
  Scalar(long v) : kind_(Kind::Int), i_(v), d_(static_cast<double>(v)) {}
  Scalar(long long v) : kind_(Kind::Int), i_(static_cast<int64_t>(v)), d_(static_cast<double>(v)) {}
  Scalar(float v) : kind_(Kind::Float), i_(0), d_(static_cast<double>(v)) {}
  Scalar(double v) : kind_(Kind::Float), i_(0), d_(v) {}
  Kind kind() const { return kind_; }
  bool is_floating_point() const { return kind_ == Kind::Float; }
  double to_double() const { return d_; }
  // Truncates toward zero like Python's int(); throws for non-finite or out-of-range values.
  int64_t to_int() const;
  bool to_bool() const { return kind_ == Kind::Float ? d_ != 0.0 : i_ != 0; }
  template <class T> T to() const {
    if constexpr (std::is_same_v<T, bool>) return to_bool();
    else if constexpr (std::is_integral_v<T>) return static_cast<T>(to_int());
    else return static_cast<T>(to_double());
  }
  // The dtype a wrapped number of this kind takes part in promotion with (float → float32).
  Dtype dtype() const;

 private:
  Kind kind_;
  int64_t i_;
  double d_;
};

// ---- shapes, options, nested data ---------------------------------------------------------------
using IntList = std::vector<int64_t>;

// torch.Size: prints as "torch.Size([3, 4])".
struct Size {
  IntList dims;
  int64_t operator[](int64_t i) const;
  size_t size() const { return dims.size(); }
  bool operator==(const Size& o) const { return dims == o.dims; }
  bool operator!=(const Size& o) const { return dims != o.dims; }
};

// ---- devices ----------------------------------------------------------------------------------
// torch.device: "cpu" or "cuda:0" (the one GPU the GPU module drives). A cuda tensor's storage is
// device memory owned through the GPU module (device_ops.hpp); its ops run as kernels there.
enum class DeviceType { CPU, CUDA };
inline constexpr DeviceType kCPU = DeviceType::CPU;
inline constexpr DeviceType kCUDA = DeviceType::CUDA;

class Device {
 public:
  Device(DeviceType type = DeviceType::CPU, int index = -1);  // NOLINT: implicit, as libtorch's
  // "cpu", "cuda", "cuda:0"; throws TensorError for anything else (or another GPU index).
  Device(const std::string& spec);  // NOLINT
  Device(const char* spec) : Device(std::string(spec)) {}  // NOLINT
  DeviceType type() const { return type_; }
  int index() const { return type_ == DeviceType::CUDA ? 0 : -1; }
  bool is_cuda() const { return type_ == DeviceType::CUDA; }
  bool is_cpu() const { return type_ == DeviceType::CPU; }
  std::string str() const { return is_cuda() ? "cuda:0" : "cpu"; }  // str(torch.device)
  bool operator==(const Device& o) const { return type_ == o.type_; }
  bool operator!=(const Device& o) const { return type_ != o.type_; }

 private:
  DeviceType type_;
};

namespace cuda {
// torch.cuda.is_available(): a GPU is usable (the driver, a device and the GPU module load).
bool is_available();
// Why not, in one line (the device probe's reason); "" when available.
std::string unavailable_reason();
}  // namespace cuda

// Where factories put tensors when no device is given (torch.set_default_device). CPU unless set.
Device default_device();
void set_default_device(const Device& d);
// Sets the default device for a scope (the tutorial's --device gpu).
class DefaultDeviceGuard {
 public:
  explicit DefaultDeviceGuard(const Device& d);
  ~DefaultDeviceGuard();
  DefaultDeviceGuard(const DefaultDeviceGuard&) = delete;
  DefaultDeviceGuard& operator=(const DefaultDeviceGuard&) = delete;

 private:
  Device prev_;
};

struct TensorOptions {
  std::optional<Dtype> dtype_;
  std::optional<Device> device_;
  bool requires_grad_ = false;
  TensorOptions() = default;
  TensorOptions(Dtype t) : dtype_(t) {}  // NOLINT: implicit, as libtorch's
  TensorOptions(Device d) : device_(d) {}  // NOLINT
  TensorOptions(DeviceType d) : device_(Device(d)) {}  // NOLINT
  TensorOptions(const char* d) : device_(Device(d)) {}  // NOLINT
  TensorOptions dtype(Dtype t) const { TensorOptions o = *this; o.dtype_ = t; return o; }
  TensorOptions device(const Device& d) const { TensorOptions o = *this; o.device_ = d; return o; }
  TensorOptions requires_grad(bool r = true) const { TensorOptions o = *this; o.requires_grad_ = r; return o; }
};
inline TensorOptions dtype(Dtype t) { return TensorOptions(t); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }
inline TensorOptions device(const Device& d) { return TensorOptions(d); }

// Nested braced lists of numbers, as torch.tensor([[2.0, 1], [1, 2]]): tensor({{2.0, 1}, {1, 2}}).
// Any float element makes the tensor float32, else any int makes it int64, else bool.
class TensorData {
 public:
  TensorData(bool v) : scalar_(v) {}
  TensorData(int v) : scalar_(v) {}
  TensorData(long v) : scalar_(v) {}
  TensorData(long long v) : scalar_(v) {}
  TensorData(float v) : scalar_(v) {}
  TensorData(double v) : scalar_(v) {}
  TensorData(std::initializer_list<TensorData> list) : list_(list) {}
  bool is_scalar() const { return scalar_.has_value(); }
  const Scalar& scalar() const { return *scalar_; }
  const std::vector<TensorData>& list() const { return list_; }

 private:
  std::optional<Scalar> scalar_;
  std::vector<TensorData> list_;
};

// ---- random numbers -------------------------------------------------------------------------------
// A seeded generator: std::mt19937_64 and our own Box-Muller, so that the same seed gives the
// same numbers with every standard library (std::normal_distribution is implementation-defined).
class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : eng_(seed) {}
  void manual_seed(uint64_t seed) { eng_.seed(seed); has_spare_ = false; }
  double uniform();  // in (0, 1]
  double normal();   // N(0, 1)
  uint64_t next_u64() { return eng_(); }

 private:
  std::mt19937_64 eng_;
  bool has_spare_ = false;
  double spare_ = 0;
};
Generator& default_generator();
void manual_seed(uint64_t seed);  // torch.manual_seed

// ---- indexing ----------------------------------------------------------------------------------
// Python's start:stop:step. Bounds clamp like Python/PyTorch; step must be positive.
struct Slice {
  std::optional<int64_t> start, stop;
  int64_t step = 1;
  Slice() = default;
  Slice(std::optional<int64_t> start_, std::optional<int64_t> stop_, int64_t step_ = 1)
      : start(start_), stop(stop_), step(step_) {}
};
inline constexpr std::nullopt_t None = std::nullopt;

class Tensor;
class TensorIndex;

namespace detail {
struct TensorImpl;
struct Node;
struct Storage;
}  // namespace detail

// ---- the Tensor ------------------------------------------------------------------------------
class Tensor {
 public:
  Tensor() = default;  // undefined (prints as None)
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  // Python's bool(t): the single element's truth; throws for more than one element.
  explicit operator bool() const;

  // shape
  int64_t dim() const;
  int64_t numel() const;
  const IntList& sizes() const;
  const IntList& strides() const;
  int64_t size(int64_t d) const;
  Size shape() const { return Size{sizes()}; }
  Dtype dtype() const;
  Dtype scalar_type() const { return dtype(); }
  bool is_floating_point() const { return tensor::is_floating_point(dtype()); }
  bool is_contiguous() const;
  Device device() const;
  bool is_cuda() const { return device().is_cuda(); }

  // autograd
  bool requires_grad() const;
  Tensor& requires_grad_(bool r = true);
  Tensor grad() const;  // undefined until backward() reached this leaf
  void set_grad(const Tensor& g);
  bool is_leaf() const;
  std::string grad_fn_name() const;  // "" when there is no grad_fn
  // Gradient of this tensor w.r.t. the leaves. Without `gradient` the tensor must hold one
  // element (as PyTorch). The graph is freed unless retain_graph.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // shares storage, no grad
  Tensor data() const { return detach(); }

  // conversion and copies
  Tensor clone() const;
  Tensor to(Dtype t) const;
  // A copy on `d` (this tensor when already there); differentiable (ToCopyBackward0). Throws
  // TensorError naming the reason when d is cuda and no GPU is usable.
  Tensor to(const Device& d) const;
  Tensor to(const Device& d, Dtype t) const;
  Tensor to(const char* d) const { return to(Device(d)); }
  Tensor to(const char* d, Dtype t) const { return to(Device(d), t); }
  Tensor cuda() const { return to(Device(DeviceType::CUDA)); }
  Tensor cpu() const { return to(Device(DeviceType::CPU)); }
  Tensor contiguous() const;
  Scalar item() const;
  template <class T> T item() const { return item().to<T>(); }
  template <class T> std::vector<T> to_vector() const;  // row-major copy of all elements

  // views and shape ops
  Tensor reshape(IntList shape) const;
  Tensor view(IntList shape) const;
  Tensor t() const;  // 2-D transpose (1-D and 0-D returned as is)
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor expand(IntList shape) const;
  Tensor unsqueeze(int64_t d) const;
  Tensor squeeze(int64_t d) const;
  Tensor select(int64_t d, int64_t index) const;
  Tensor slice(int64_t d, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step = 1) const;
  Tensor narrow(int64_t d, int64_t start, int64_t length) const;  // throws when out of range
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor index(const std::vector<TensorIndex>& indices) const;
  // Rows picked by an int64 index tensor (features[batch_indices]).
  Tensor index_select(int64_t d, const Tensor& index) const;

  // in-place (not allowed on tensors that require grad while grad mode is on)
  Tensor& index_put_(const std::vector<TensorIndex>& indices, const Scalar& v);
  Tensor& index_put_(const std::vector<TensorIndex>& indices, const Tensor& v);
  Tensor& zero_();
  Tensor& fill_(const Scalar& v);
  Tensor& copy_(const Tensor& src);  // src broadcast to this shape
  Tensor& normal_(double mean = 0, double std = 1, Generator* gen = nullptr);
  Tensor& add_(const Tensor& o);
  Tensor& sub_(const Tensor& o);
  Tensor& mul_(const Tensor& o);
  Tensor& div_(const Tensor& o);
  Tensor& operator+=(const Tensor& o) { return add_(o); }
  Tensor& operator-=(const Tensor& o) { return sub_(o); }
  Tensor& operator*=(const Tensor& o) { return mul_(o); }
  Tensor& operator/=(const Tensor& o) { return div_(o); }
  Tensor& operator+=(const Scalar& o);
  Tensor& operator-=(const Scalar& o);
  Tensor& operator*=(const Scalar& o);
  Tensor& operator/=(const Scalar& o);

  // math
  Tensor exp() const;
  Tensor log() const;
  Tensor neg() const;
  Tensor abs() const;
  Tensor sqrt() const;
  Tensor pow(const Tensor& e) const;
  Tensor pow(const Scalar& e) const;
  Tensor sum() const;
  Tensor sum(int64_t d, bool keepdim = false) const;
  Tensor sum(const IntList& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(int64_t d, bool keepdim = false) const;
  Tensor mean(const IntList& dims, bool keepdim = false) const;
  Tensor norm() const;  // 2-norm of all elements
  Tensor dot(const Tensor& o) const;
  Tensor matmul(const Tensor& o) const;
  Tensor mm(const Tensor& o) const;
  Tensor eq(const Tensor& o) const;
  Tensor ne(const Tensor& o) const;
  Tensor lt(const Tensor& o) const;
  Tensor le(const Tensor& o) const;
  Tensor gt(const Tensor& o) const;
  Tensor ge(const Tensor& o) const;
  bool equal(const Tensor& o) const;  // same shape and elements (torch.equal)

  // Raw row-major element access for contiguous CPU tensors of matching type (tests, I/O).
  template <class T> T* data_ptr() const;

  detail::TensorImpl* unsafe_impl() const { return impl_.get(); }
  const std::shared_ptr<detail::TensorImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<detail::TensorImpl> impl_;
};

// One entry of Tensor::index / index_put_: an integer (select), a Slice, or an int64 tensor
// (only as the first entry: picks rows).
class TensorIndex {
 public:
  TensorIndex(int v) : kind_(Kind::Int), i_(v) {}
  TensorIndex(long v) : kind_(Kind::Int), i_(v) {}
  TensorIndex(long long v) : kind_(Kind::Int), i_(static_cast<int64_t>(v)) {}
  TensorIndex(Slice s) : kind_(Kind::Slice), slice_(s) {}
  TensorIndex(Tensor t) : kind_(Kind::Tensor), tensor_(std::move(t)) {}
  enum class Kind { Int, Slice, Tensor };
  Kind kind() const { return kind_; }
  int64_t integer() const { return i_; }
  const Slice& slice() const { return slice_; }
  const Tensor& tensor() const { return tensor_; }

 private:
  Kind kind_;
  int64_t i_ = 0;
  Slice slice_;
  Tensor tensor_;
};

// ---- creation -----------------------------------------------------------------------------------
Tensor tensor(const TensorData& data, const TensorOptions& opts = {});
Tensor scalar_tensor(const Scalar& v, const TensorOptions& opts = {});
Tensor arange(const Scalar& end, const TensorOptions& opts = {});
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1, const TensorOptions& opts = {});
Tensor zeros(const IntList& shape, const TensorOptions& opts = {});
Tensor ones(const IntList& shape, const TensorOptions& opts = {});
Tensor full(const IntList& shape, const Scalar& v, const TensorOptions& opts = {});
Tensor empty(const IntList& shape, const TensorOptions& opts = {});
Tensor zeros_like(const Tensor& t, const TensorOptions& opts = {});
Tensor ones_like(const Tensor& t, const TensorOptions& opts = {});
Tensor full_like(const Tensor& t, const Scalar& v, const TensorOptions& opts = {});
Tensor randn(const IntList& shape, const TensorOptions& opts = {}, Generator* gen = nullptr);
Tensor normal(double mean, double std, const IntList& shape, const TensorOptions& opts = {},
              Generator* gen = nullptr);
// A tensor holding a copy of `values` with the given shape (numel must match).
Tensor from_vector(const std::vector<float>& values, const IntList& shape, const TensorOptions& opts = {});
Tensor from_vector(const std::vector<double>& values, const IntList& shape, const TensorOptions& opts = {});
Tensor from_vector(const std::vector<int64_t>& values, const IntList& shape, const TensorOptions& opts = {});

// ---- ops (free-function forms) -------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Scalar& b);
Tensor pow(const Scalar& a, const Tensor& b);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor neg(const Tensor& a);
Tensor dot(const Tensor& a, const Tensor& b);
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// out = bias + x @ w.t() for 2-D x (nn.Linear); grad_fn AddmmBackward0 as PyTorch.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);
// mean((input - target)²), shapes must be equal; grad_fn MseLossBackward0.
Tensor mse_loss(const Tensor& input, const Tensor& target);
// The gradient of a broadcast operand: g summed down to `shape`.
Tensor sum_to(const Tensor& g, const IntList& shape);
IntList broadcast_shapes(const IntList& a, const IntList& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, const Scalar& b);
Tensor operator-(const Tensor& a, const Scalar& b);
Tensor operator*(const Tensor& a, const Scalar& b);
Tensor operator/(const Tensor& a, const Scalar& b);
Tensor operator+(const Scalar& a, const Tensor& b);
Tensor operator-(const Scalar& a, const Tensor& b);
Tensor operator*(const Scalar& a, const Tensor& b);
Tensor operator/(const Scalar& a, const Tensor& b);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, const Scalar& b);
Tensor operator!=(const Tensor& a, const Scalar& b);
Tensor operator<(const Tensor& a, const Scalar& b);
Tensor operator<=(const Tensor& a, const Scalar& b);
Tensor operator>(const Tensor& a, const Scalar& b);
Tensor operator>=(const Tensor& a, const Scalar& b);

// ---- grad mode --------------------------------------------------------------------------------
bool is_grad_enabled();
// `with torch.no_grad():` — ops inside record no graph.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// ---- printing as Python/PyTorch print them (format.cpp) --------------------------------------------
std::string repr(const Tensor& t);   // "tensor([1., 2.])", "None" when undefined
// t printed as if it lived on `shown` (device='cuda:0' for cuda): the GPU step's reference text,
// made and tested on machines without a GPU. t's values are read wherever t lives.
std::string repr_as(const Tensor& t, const Device& shown);
std::string repr(const Size& s);     // "torch.Size([3, 4])"
std::string repr(const Scalar& s);   // Python's repr of the number: 3.5, 3, True
std::string repr(bool b);            // True / False
std::string repr(int64_t v);
std::string python_float_repr(double v);  // shortest round-trip, as Python's repr(float)
// NumPy's repr of t.numpy(): "array([[12., 12.], ...], dtype=float32)". A cuda tensor throws,
// as PyTorch's numpy() does (copy it with .cpu() first).
std::string numpy_repr(const Tensor& t);
std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::ostream& operator<<(std::ostream& os, const Size& s);
std::ostream& operator<<(std::ostream& os, const Device& d);

}  // namespace linreg::tensor
