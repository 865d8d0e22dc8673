// nn::Linear, nn::MSELoss, optim::SGD and data::DataLoader (see nn.hpp).
#include "host/tensor/nn.hpp"

#include <cmath>
#include <numeric>
#include <string>

namespace linreg::tensor {

namespace nn {

Linear::Linear(int64_t in_features, int64_t out_features, Generator* gen) {
  if (in_features <= 0 || out_features <= 0)
    throw TensorError("Linear: in_features and out_features must be positive, got " + std::to_string(in_features) +
                      " and " + std::to_string(out_features));
  Generator& g = gen ? *gen : default_generator();
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  std::vector<float> w(static_cast<size_t>(in_features * out_features)), b(static_cast<size_t>(out_features));
  for (float& v : w) v = static_cast<float>((2 * g.uniform() - 1) * bound);
  for (float& v : b) v = static_cast<float>((2 * g.uniform() - 1) * bound);
  weight = from_vector(w, {out_features, in_features}).requires_grad_(true);
  bias = from_vector(b, {out_features}).requires_grad_(true);
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

}  // namespace nn

namespace optim {

SGD::SGD(std::vector<Tensor> params, double lr) : params_(std::move(params)), lr_(lr) {
  if (!(lr >= 0)) throw TensorError("Invalid learning rate: " + python_float_repr(lr));
  for (const Tensor& p : params_)
    if (!p.defined() || !p.requires_grad() || !p.is_leaf())
      throw TensorError("SGD: every parameter must be a leaf tensor that requires grad");
}

void SGD::zero_grad(bool set_to_none) {
  for (Tensor& p : params_) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else p.grad().zero_();
  }
}

void SGD::step() {
  NoGradGuard no_grad;
  for (Tensor& p : params_) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    p -= g * lr_;
  }
}

}  // namespace optim

namespace data {

DataLoader::DataLoader(Tensor data, Tensor target, int64_t batch_size, bool shuffle, uint64_t seed)
    : data_(std::move(data)), target_(std::move(target)), batch_size_(batch_size), shuffle_(shuffle), gen_(seed) {
  if (data_.dim() == 0 || target_.dim() == 0)
    throw TensorError("DataLoader: data and target need a first (example) dimension");
  if (data_.size(0) != target_.size(0))
    throw TensorError("Size mismatch between tensors: data has " + std::to_string(data_.size(0)) +
                      " examples and target " + std::to_string(target_.size(0)));
  if (batch_size <= 0) throw TensorError("DataLoader: batch_size must be positive, got " + std::to_string(batch_size));
  n_ = data_.size(0);
  order_.resize(static_cast<size_t>(n_));
  std::iota(order_.begin(), order_.end(), 0);
}

DataLoader::Iterator DataLoader::begin() {
  if (shuffle_) {
    if (perm_fn_) {
      order_ = perm_fn_(n_, epoch_);
      if (static_cast<int64_t>(order_.size()) != n_)
        throw TensorError("DataLoader: the permutation function returned " + std::to_string(order_.size()) +
                          " indices for " + std::to_string(n_) + " examples");
    } else {
      std::iota(order_.begin(), order_.end(), 0);
      for (int64_t i = n_ - 1; i > 0; --i) {  // Fisher-Yates with our own generator
        const int64_t j = static_cast<int64_t>(gen_.next_u64() % static_cast<uint64_t>(i + 1));
        std::swap(order_[static_cast<size_t>(i)], order_[static_cast<size_t>(j)]);
      }
    }
  }
  ++epoch_;
  return Iterator(this, 0);
}

Example DataLoader::batch_at(int64_t pos) const {
  const int64_t e = std::min(n_, pos + batch_size_);
  const std::vector<int64_t> idx(order_.begin() + pos, order_.begin() + e);
  const Tensor index = from_vector(idx, {e - pos});
  return Example{data_.index_select(0, index), target_.index_select(0, index)};
}

}  // namespace data

}  // namespace linreg::tensor
