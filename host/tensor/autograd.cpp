// The reverse-mode engine: Tensor::backward(). Nodes reachable from the root are ordered by
// dependency count (Kahn), so each node runs once, after every consumer of its output has
// added its share of the gradient. Leaves accumulate into .grad (created on first use, then
// added in place, as PyTorch's AccumulateGrad). Backward closures run in no-grad mode.
#include <unordered_map>
#include <vector>

#include "host/tensor/tensor.hpp"
#include "host/tensor/tensor_impl.hpp"

namespace linreg::tensor {

namespace {

using detail::Node;
using detail::TensorImpl;

void accumulate_leaf(TensorImpl& leaf, Tensor g) {
  if (g.dtype() != leaf.storage->dtype) g = g.to(leaf.storage->dtype);
  if (g.sizes() != leaf.sizes)
    throw TensorError("internal autograd error: gradient of shape " + detail::shape_str(g.sizes()) +
                      " for a leaf of shape " + detail::shape_str(leaf.sizes));
  if (!leaf.grad) {
    Tensor fresh = detail::make_tensor(leaf.sizes, leaf.storage->dtype, leaf.storage->device);
    fresh.copy_(g);
    fresh.unsafe_impl()->storage->version = 0;
    leaf.grad = fresh.impl();
  } else {
    Tensor(leaf.grad).add_(g);
  }
}

void check_saved(const Node& n) {
  for (const auto& [storage, version] : n.saved)
    if (storage->version != version)
      throw TensorError("one of the variables needed for gradient computation has been modified by an inplace "
                        "operation: it is an input or output of " + n.name + " and is at version " +
                        std::to_string(storage->version) + "; expected version " + std::to_string(version) + " instead.");
}

}  // namespace

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  if (!defined()) throw TensorError("backward() on an undefined tensor");
  if (!requires_grad())
    throw TensorError("element 0 of tensors does not require grad and does not have a grad_fn");
  Tensor seed;
  if (gradient.defined()) {
    if (gradient.sizes() != sizes())
      throw TensorError("backward(): gradient has shape " + detail::shape_str(gradient.sizes()) +
                        " but the tensor has shape " + detail::shape_str(sizes()));
    seed = gradient.detach();
  } else {
    if (numel() != 1)
      throw TensorError("grad can be implicitly created only for scalar outputs (this tensor has shape " +
                        detail::shape_str(sizes()) + "; call .sum() first or pass a gradient)");
    seed = ones_like(*this);
  }
  NoGradGuard no_grad;
  TensorImpl& root = *unsafe_impl();
  if (!root.grad_fn) {
    accumulate_leaf(root, seed);
    return;
  }

  // Dependency counts: how many edges of the reachable graph point at each node.
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack = {root.grad_fn.get()};
  deps[root.grad_fn.get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Tensor& in : n->inputs) {
      if (!in.defined()) continue;
      Node* child = in.unsafe_impl()->grad_fn.get();
      if (!child) continue;
      auto it = deps.find(child);
      if (it == deps.end()) {
        deps[child] = 1;
        stack.push_back(child);
      } else {
        ++it->second;
      }
    }
  }

  std::unordered_map<Node*, Tensor> pending;
  pending[root.grad_fn.get()] = seed;
  std::vector<Node*> ready = {root.grad_fn.get()};
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    // A node that received no gradient (every path to it was cut) still releases its inputs.
    auto pit = pending.find(n);
    std::vector<Tensor> grads;
    if (pit != pending.end()) {
      if (!n->backward)
        throw TensorError("Trying to backward through the graph a second time (or directly access saved tensors "
                          "after they have already been freed). Specify retain_graph=true if you need to backward "
                          "through the graph a second time.");
      check_saved(*n);
      const Tensor g = pit->second;
      pending.erase(pit);
      grads = n->backward(g);
    }
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const Tensor& in = n->inputs[i];
      if (!in.defined()) continue;
      TensorImpl& ii = *in.unsafe_impl();
      Node* child = ii.grad_fn.get();
      const bool has_grad = i < grads.size() && grads[i].defined() && ii.requires_grad;
      if (child) {
        if (has_grad) {
          Tensor gi = grads[i];
          if (gi.dtype() != in.dtype()) gi = gi.to(in.dtype());
          auto it = pending.find(child);
          if (it == pending.end()) pending[child] = gi;
          else it->second = it->second + gi;
        }
        if (--deps[child] == 0) ready.push_back(child);
      } else if (has_grad) {
        accumulate_leaf(ii, grads[i]);
      }
    }
    if (!retain_graph && !grads.empty()) {
      n->backward = nullptr;
      n->saved.clear();
    }
  }
}

}  // namespace linreg::tensor
