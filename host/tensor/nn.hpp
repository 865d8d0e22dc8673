// The pieces of torch.nn / torch.optim / torch.utils.data that the lab's section 5 uses, named
// after libtorch's C++ API: nn::Linear, nn::MSELoss, optim::SGD, data::DataLoader.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "host/tensor/tensor.hpp"

namespace linreg::tensor {

namespace nn {

// y = x·Wᵀ + b with W (out, in) and b (out), both leaves that require grad. Initialised as
// PyTorch does: U(−1/√in, 1/√in) from `gen` (the lab then overwrites them with normal_/fill_).
class Linear {
 public:
  Linear(int64_t in_features, int64_t out_features, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) const;  // x (n, in) → (n, out)
  Tensor operator()(const Tensor& x) const { return forward(x); }
  std::vector<Tensor> parameters() const { return {weight, bias}; }

  Tensor weight;  // (out, in)
  Tensor bias;    // (out)
};

// mean((input − target)²); input and target must have the same shape.
class MSELoss {
 public:
  Tensor operator()(const Tensor& input, const Tensor& target) const { return mse_loss(input, target); }
};

}  // namespace nn

namespace optim {

// Plain minibatch SGD: p ← p − lr·p.grad for every parameter that has a gradient.
class SGD {
 public:
  SGD(std::vector<Tensor> params, double lr);
  // Sets every gradient to None (PyTorch 2's default, set_to_none=True), or to zero.
  void zero_grad(bool set_to_none = true);
  void step();
  double lr() const { return lr_; }
  const std::vector<Tensor>& parameters() const { return params_; }

 private:
  std::vector<Tensor> params_;
  double lr_;
};

}  // namespace optim

namespace data {

struct Example {
  Tensor data;    // (b, ...) rows of the features
  Tensor target;  // (b, ...) the matching labels
};

// Minibatches over (data, target) along dim 0, as DataLoader(TensorDataset(X, y), batch_size,
// shuffle). Each range-for over the loader is one epoch; with shuffle, every epoch draws a new
// order (from `seed`, or from a permutation function set by the caller). The last batch may be
// short.
class DataLoader {
 public:
  // epoch is 0-based; returns a permutation of 0..n-1.
  using PermutationFn = std::function<std::vector<int64_t>(int64_t n, int64_t epoch)>;

  DataLoader(Tensor data, Tensor target, int64_t batch_size, bool shuffle = true, uint64_t seed = 0);
  void set_permutation_fn(PermutationFn fn) { perm_fn_ = std::move(fn); }

  class Iterator {
   public:
    Iterator(const DataLoader* loader, int64_t pos) : loader_(loader), pos_(pos) {}
    Example operator*() const { return loader_->batch_at(pos_); }
    Iterator& operator++() {
      pos_ += loader_->batch_size_;
      if (pos_ > loader_->n_) pos_ = loader_->n_;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return pos_ != o.pos_; }
    bool operator==(const Iterator& o) const { return pos_ == o.pos_; }

   private:
    const DataLoader* loader_;
    int64_t pos_;
  };

  Iterator begin();  // starts the next epoch (draws its order)
  Iterator end() const { return Iterator(this, n_); }
  int64_t batches_per_epoch() const { return (n_ + batch_size_ - 1) / batch_size_; }
  int64_t examples() const { return n_; }
  const std::vector<int64_t>& order() const { return order_; }  // the current epoch's order

 private:
  Example batch_at(int64_t pos) const;

  Tensor data_, target_;
  int64_t n_ = 0, batch_size_ = 1;
  bool shuffle_ = true;
  int64_t epoch_ = 0;
  Generator gen_;
  PermutationFn perm_fn_;
  std::vector<int64_t> order_;
};

}  // namespace data

}  // namespace linreg::tensor
