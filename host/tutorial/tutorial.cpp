// The lab's sections 2-5, step by step, with host/tensor (see tutorial.hpp). Each step keeps
// the lab's Python as its title and the equivalent C++ beside it, so a learner can read the two
// side by side (`linreg tutorial --show-cpp`). One file for the four sections, in the lab's
// order, so that it reads top to bottom like the lab itself.
#include "host/tutorial/tutorial.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "host/core/error.hpp"
#include "host/io/atomic_file.hpp"
#include "host/plot/svg_plot.hpp"
#include "host/tensor/nn.hpp"
#include "host/tensor/tensor.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/permutation.hpp"
#include "host/train/trainer.hpp"

namespace linreg::tutorial {

namespace T = linreg::tensor;
using T::Slice;
using T::Tensor;

namespace {

// Prints and records the steps of one section.
class Recorder {
 public:
  Recorder(const Options& opt, std::ostream* out) : opt_(opt), out_(out) {}

  template <class F>
  void step(const std::string& id, const std::string& expr, const std::string& cpp, F&& body) {
    Step s{id, expr, cpp, body()};
    if (out_) {
      *out_ << "## " << s.id << ": " << s.expr << '\n';
      if (opt_.show_cpp) *out_ << "// C++: " << s.cpp << '\n';
      *out_ << s.output << '\n';
    }
    steps_.push_back(std::move(s));
  }
  void note(const std::string& text) {
    if (out_) *out_ << "# " << text << '\n';
  }
  std::vector<Step> take() { return std::move(steps_); }

 private:
  const Options& opt_;
  std::ostream* out_;
  std::vector<Step> steps_;
};

std::string fmt_epoch(int64_t epoch, double loss) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "epoch %lld, loss %f", static_cast<long long>(epoch), loss);
  return buf;
}

// ---------------------------------------------------------------- section 2
const char* const kGpuStepExpr =
    "device = torch.device(\"cuda\"); y = torch.ones_like(x, device=device); x = x.to(device); z = x + y; "
    "print(z); print(z.to(\"cpu\", torch.double))";
const char* const kGpuStepCpp =
    "torch::Device device(\"cuda\"); auto y = torch::ones_like(x, device); x = x.to(device); auto z = x + y; "
    "z; z.to(\"cpu\", torch::kDouble)";

void section2(Recorder& r, const Options& opt) {
  r.note("2. Data manipulation (数据操作)");
  Tensor x, X, Y, y, a, b;
  r.step("2.1", "x = torch.arange(12)", "auto x = torch::arange(12);", [&] {
    x = T::arange(12);
    return T::repr(x);
  });
  r.step("2.2", "x.shape", "x.shape()", [&] { return T::repr(x.shape()); });
  r.step("2.3", "x.numel()", "x.numel()", [&] { return std::to_string(x.numel()); });
  r.step("2.4", "X = x.reshape(3, 4)", "auto X = x.reshape({3, 4});", [&] {
    X = x.reshape({3, 4});
    return T::repr(X);
  });
  r.step("2.5", "x.reshape(-1, 4)", "x.reshape({-1, 4})", [&] { return T::repr(x.reshape({-1, 4})); });
  r.step("2.6", "torch.zeros((2, 3, 4))", "torch::zeros({2, 3, 4})", [&] { return T::repr(T::zeros({2, 3, 4})); });
  r.step("2.7", "torch.ones((2, 3, 4))", "torch::ones({2, 3, 4})", [&] { return T::repr(T::ones({2, 3, 4})); });
  r.step("2.8", "torch.randn(3, 4).shape", "torch::manual_seed(seed); torch::randn({3, 4}).shape()", [&] {
    T::manual_seed(opt.seed);
    return T::repr(T::randn({3, 4}).shape());
  });
  r.step("2.9", "torch.tensor([[2, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]])",
         "torch::tensor({{2, 1, 4, 3}, {1, 2, 3, 4}, {4, 3, 2, 1}})",
         [&] { return T::repr(T::tensor({{2, 1, 4, 3}, {1, 2, 3, 4}, {4, 3, 2, 1}})); });
  r.step("2.10", "x = torch.tensor([1.0, 2, 4, 8]); y = torch.tensor([2, 2, 2, 2]); x + y",
         "auto x = torch::tensor({1.0, 2, 4, 8}); auto y = torch::tensor({2, 2, 2, 2}); x + y", [&] {
           x = T::tensor({1.0, 2, 4, 8});
           y = T::tensor({2, 2, 2, 2});
           return T::repr(x + y);
         });
  r.step("2.11", "x - y", "x - y", [&] { return T::repr(x - y); });
  r.step("2.12", "x * y", "x * y", [&] { return T::repr(x * y); });
  r.step("2.13", "x / y", "x / y", [&] { return T::repr(x / y); });
  r.step("2.14", "x ** y", "x.pow(y)", [&] { return T::repr(x.pow(y)); });
  r.step("2.15", "torch.exp(x)", "torch::exp(x)", [&] { return T::repr(T::exp(x)); });
  r.step("2.16",
         "X = torch.arange(12, dtype=torch.float32).reshape((3, 4)); Y = torch.tensor([[2.0, 1, 4, 3], [1, 2, 3, 4], "
         "[4, 3, 2, 1]]); torch.cat((X, Y), dim=0)",
         "auto X = torch::arange(12, torch::kFloat32).reshape({3, 4}); auto Y = torch::tensor({{2.0, 1, 4, 3}, "
         "{1, 2, 3, 4}, {4, 3, 2, 1}}); torch::cat({X, Y}, 0)",
         [&] {
           X = T::arange(12, T::kFloat32).reshape({3, 4});
           Y = T::tensor({{2.0, 1, 4, 3}, {1, 2, 3, 4}, {4, 3, 2, 1}});
           return T::repr(T::cat({X, Y}, 0));
         });
  r.step("2.17", "torch.cat((X, Y), dim=1)", "torch::cat({X, Y}, 1)", [&] { return T::repr(T::cat({X, Y}, 1)); });
  r.step("2.18", "X == Y", "X == Y", [&] { return T::repr(X == Y); });
  r.step("2.19", "X < Y", "X < Y", [&] { return T::repr(X < Y); });
  r.step("2.20", "X.sum()", "X.sum()", [&] { return T::repr(X.sum()); });
  r.step("2.21", "X.sum(dim=0)", "X.sum(0)", [&] { return T::repr(X.sum(0)); });
  r.step("2.22", "X.sum(dim=1, keepdim=True)", "X.sum(1, /*keepdim=*/true)", [&] { return T::repr(X.sum(1, true)); });
  r.step("2.23", "a = torch.arange(3).reshape((3, 1))", "auto a = torch::arange(3).reshape({3, 1});", [&] {
    a = T::arange(3).reshape({3, 1});
    return T::repr(a);
  });
  r.step("2.24", "b = torch.arange(2).reshape((1, 2))", "auto b = torch::arange(2).reshape({1, 2});", [&] {
    b = T::arange(2).reshape({1, 2});
    return T::repr(b);
  });
  r.step("2.25", "a + b", "a + b", [&] { return T::repr(a + b); });
  r.step("2.26", "X[-1]", "X[-1]", [&] { return T::repr(X[-1]); });
  r.step("2.27", "X[1:3]", "X.index({Slice(1, 3)})", [&] { return T::repr(X.index({Slice(1, 3)})); });
  r.step("2.28", "X[1, 2] = 9; X", "X.index_put_({1, 2}, 9); X", [&] {
    X.index_put_({1, 2}, 9);
    return T::repr(X);
  });
  r.step("2.29", "X[0:2, :] = 12; X", "X.index_put_({Slice(0, 2), Slice()}, 12); X", [&] {
    X.index_put_({Slice(0, 2), Slice()}, 12);
    return T::repr(X);
  });
  // .cpu() is a no-op on the host; on the GPU it is the copy that numpy() needs first.
  r.step("2.30", "A = X.numpy(); A", "torch::numpy_repr(X.cpu())", [&] { return T::numpy_repr(X.cpu()); });
  r.step("2.31", "a = torch.tensor([3.5]); a", "auto a = torch::tensor({3.5}); a", [&] {
    a = T::tensor({3.5});
    return T::repr(a);
  });
  r.step("2.32", "a.item()", "a.item()", [&] { return T::repr(a.item()); });
  r.step("2.33", "float(a)", "a.item<double>()", [&] { return T::python_float_repr(a.item<double>()); });
  r.step("2.34", "int(a)", "a.item<int64_t>()", [&] { return std::to_string(a.item<int64_t>()); });
  r.step("2.35", "torch.ones(2, 3).to(torch.double)", "torch::ones({2, 3}).to(torch::kDouble)",
         [&] { return T::repr(T::ones({2, 3}).to(T::kDouble)); });
  // The lab guards this step with `if torch.cuda.is_available():`; so does the tutorial, and it
  // says in one line why it skipped.
  if (opt.device == DeviceChoice::Cpu) {
    r.note("Tensor on GPU: skipped (--device cpu)");
  } else if (!T::cuda::is_available()) {
    r.note("Tensor on GPU: skipped, torch.cuda.is_available() is False here: no usable GPU (" +
           T::cuda::unavailable_reason() + ")");
  } else {
    r.step("2.36", kGpuStepExpr, kGpuStepCpp, [&] {
      const T::Device device("cuda");
      y = T::ones_like(x, device);
      x = x.to(device);
      const Tensor z = x + y;
      return T::repr(z) + "\n" + T::repr(z.to("cpu", T::kDouble));
    });
  }
}

// ---------------------------------------------------------------- section 3
// The lab's f(a): a graph built through ordinary control flow.
Tensor f(const Tensor& a) {
  Tensor b = a * 2;
  while (b.norm() < 1000) b = b * 2;
  Tensor c;
  if (b.sum() > 0) c = b;
  else c = 100 * b;
  return c;
}

void section3(Recorder& r, const Options& opt) {
  r.note("3. Automatic differentiation (自动求导)");
  Tensor x, y, u, z, a, d;
  r.step("3.1", "x = torch.arange(4.0)", "auto x = torch::arange(4.0);", [&] {
    x = T::arange(4.0);
    return T::repr(x);
  });
  r.step("3.2", "x.requires_grad_(True); x.grad", "x.requires_grad_(true); x.grad()", [&] {
    x.requires_grad_(true);
    return T::repr(x.grad());
  });
  r.step("3.3", "y = 2 * torch.dot(x, x)", "auto y = 2 * torch::dot(x, x);", [&] {
    y = 2 * T::dot(x, x);
    return T::repr(y);
  });
  r.step("3.4", "y.backward(); x.grad", "y.backward(); x.grad()", [&] {
    y.backward();
    return T::repr(x.grad());
  });
  r.step("3.5", "x.grad == 4 * x", "x.grad() == 4 * x", [&] { return T::repr(x.grad() == 4 * x); });
  r.step("3.6", "x.grad.zero_(); y = x.sum(); y.backward(); x.grad", "x.grad().zero_(); y = x.sum(); y.backward(); x.grad()",
         [&] {
           x.grad().zero_();
           y = x.sum();
           y.backward();
           return T::repr(x.grad());
         });
  r.step("3.7", "x.grad.zero_(); y = x * x; y.sum().backward(); x.grad",
         "x.grad().zero_(); y = x * x; y.sum().backward(); x.grad()", [&] {
           x.grad().zero_();
           y = x * x;
           y.sum().backward();
           return T::repr(x.grad());
         });
  r.step("3.8", "x.grad.zero_(); y = x * x; u = y.detach(); z = u * x; z.sum().backward(); x.grad == u",
         "x.grad().zero_(); y = x * x; auto u = y.detach(); auto z = u * x; z.sum().backward(); x.grad() == u", [&] {
           x.grad().zero_();
           y = x * x;
           u = y.detach();
           z = u * x;
           z.sum().backward();
           return T::repr(x.grad() == u);
         });
  r.step("3.9", "u.requires_grad", "u.requires_grad()", [&] { return T::repr(u.requires_grad()); });
  r.step("3.10", "x.grad.zero_(); y.sum().backward(); x.grad == 2 * x",
         "x.grad().zero_(); y.sum().backward(); x.grad() == 2 * x", [&] {
           x.grad().zero_();
           y.sum().backward();
           return T::repr(x.grad() == 2 * x);
         });
  const std::pair<const char*, double> starts[] = {{"0.7", 0.7}, {"-0.3", -0.3}, {"1500.0", 1500.0}};
  int id = 11;
  for (const auto& [text, value] : starts) {
    const double v = value;
    r.step("3." + std::to_string(id), std::string("a = torch.tensor(") + text + ", requires_grad=True); d = f(a); d.backward(); a.grad",
           std::string("auto a = torch::tensor(") + text + ", torch::requires_grad()); auto d = f(a); d.backward(); a.grad()",
           [&] {
             a = T::tensor(v, T::requires_grad());
             d = f(a);
             d.backward();
             return T::repr(a.grad());
           });
    r.step("3." + std::to_string(id + 1), "a.grad == d / a", "a.grad() == d / a", [&] { return T::repr(a.grad() == d / a); });
    id += 2;
  }
  r.step("3.17", "with torch.no_grad(): z = x * 2; z.requires_grad",
         "{ torch::NoGradGuard no_grad; z = x * 2; } z.requires_grad()", [&] {
           {
             T::NoGradGuard no_grad;
             z = x * 2;
           }
           return T::repr(z.requires_grad());
         });
  r.step("3.18", "a = torch.randn(size=(), requires_grad=True); d = f(a); d.backward(); a.grad == d / a",
         "torch::manual_seed(seed); auto a = torch::randn({}, torch::requires_grad()); auto d = f(a); d.backward(); "
         "a.grad() == d / a",
         [&] {
           T::manual_seed(opt.seed);
           a = T::randn({}, T::requires_grad());
           d = f(a);
           d.backward();
           return T::repr(a.grad() == d / a);
         });
}

// ---------------------------------------------------------------- sections 4 and 5: data
struct LabData {
  HostDataset ds;
  Tensor features;  // (n, d)
  Tensor labels;    // (n, 1)
  Tensor true_w;    // (d)
  double true_b = 4.2;
};

LabData lab_data(uint64_t seed) {
  LabData L;
  const SyntheticSpec spec = lab_spec(seed);
  L.ds = generate_synthetic_host(spec);
  L.features = T::from_vector(L.ds.X, {L.ds.n, L.ds.d});
  L.labels = T::from_vector(L.ds.y, {L.ds.n, 1});
  L.true_w = T::from_vector(spec.true_w, {L.ds.d});
  L.true_b = spec.true_b;
  return L;
}

std::string shapes(const std::string& n1, const Tensor& t1, const std::string& n2, const Tensor& t2) {
  return n1 + ": " + T::repr(t1.shape()) + ", " + n2 + ": " + T::repr(t2.shape());
}

void write_scatter(const LabData& L, const std::string& path) {
  plot::Chart chart;
  chart.title = "Scatter plot of Feature 1 vs Labels";
  chart.x_label = "Feature 1";
  chart.y_label = "Label";
  chart.width = 800;
  chart.height = 600;
  plot::Series s;
  s.label = "examples";
  s.kind = plot::SeriesKind::Scatter;
  const std::vector<double> f1 = L.features.index({Slice(), 1}).to_vector<double>();
  s.x = f1;
  s.y = L.labels.reshape({-1}).to_vector<double>();
  chart.series.push_back(std::move(s));
  write_output(check_output(path, "--plot"), plot::render_svg(chart));
}

std::vector<Tensor> data_iter(const Tensor& features, const Tensor& labels, const std::vector<int64_t>& order,
                              int64_t pos, int64_t batch) {
  const int64_t n = features.size(0), e = std::min(n, pos + batch);
  const Tensor idx = T::from_vector(std::vector<int64_t>(order.begin() + pos, order.begin() + e), {e - pos});
  return {features.index({idx}), labels.index({idx})};
}

// The lab's model, loss and optimizer of section 4.
Tensor linreg_model(const Tensor& X, const Tensor& w, const Tensor& b) { return T::matmul(X, w) + b; }
Tensor squared_loss(const Tensor& y_hat, const Tensor& y) { return (y_hat - y.reshape(y_hat.sizes())).pow(2) / 2; }
void sgd(std::vector<Tensor> params, double lr, int64_t batch_size) {
  T::NoGradGuard no_grad;
  for (Tensor& p : params) {
    p -= lr * p.grad() / batch_size;
    p.grad().zero_();
  }
}

void section4(Recorder& r, const Options& opt) {
  r.note("4. Linear regression from scratch (从零实现线性回归模型)");
  LabData L;
  r.step("4.1", "true_w = torch.tensor([2, -3.4]); true_b = 4.2; features, labels = synthetic_data(true_w, true_b, 1000)",
         "auto ds = linreg::generate_synthetic_host(spec); auto features = torch::from_vector(ds.X, {1000, 2}); "
         "auto labels = torch::from_vector(ds.y, {1000, 1});",
         [&] {
           L = lab_data(opt.seed);
           return shapes("features", L.features, "labels", L.labels);
         });
  r.step("4.2", "true_w", "true_w", [&] { return T::repr(L.true_w); });
  r.step("4.3", "plt.scatter(features[:, 1].detach().numpy(), labels.detach().numpy(), s=1)",
         "plot::render_svg(chart with features.index({Slice(), 1}) vs labels)", [&] {
           if (opt.plot_path.empty()) return std::string("(run `linreg tutorial --section 4 --plot scatter.svg` to draw it)");
           write_scatter(L, opt.plot_path);
           return opt.plot_path == "-" ? std::string("wrote the plot to stdout") : "wrote " + opt.plot_path;
         });
  const int64_t batch_size = 10;
  const Permutations perms = trainer_permutations(opt.seed);
  r.step("4.4", "for X, y in data_iter(batch_size, features, labels): print(X.shape, y.shape); break",
         "auto [X, y] = data_iter(batch_size, features, labels)[0]; X.shape(), y.shape()", [&] {
           const std::vector<Tensor> xy = data_iter(L.features, L.labels, perms(L.ds.n, 0), 0, batch_size);
           return T::repr(xy[0].shape()) + " " + T::repr(xy[1].shape());
         });
  r.step("4.5", "w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True); b = torch.zeros(1, requires_grad=True); b",
         "auto w = torch::from_vector(linreg::initial_weights(2, seed), {2, 1}).requires_grad_(); "
         "auto b = torch::zeros({1}, torch::requires_grad()); b",
         [&] {
           const Tensor w = T::from_vector(initial_weights(L.ds.d, opt.seed), {L.ds.d, 1});
           return "w: " + T::repr(w.shape()) + ", b: " + T::repr(T::zeros({1}, T::requires_grad()));
         });
  FitResult fit;
  r.step("4.6",
         "for epoch in range(3): for X, y in data_iter(10, features, labels): l = squared_loss(linreg(X, w, b), y); "
         "l.sum().backward(); sgd([w, b], 0.03, 10)",
         "tutorial::train_from_scratch(ds, {batch 10, lr 0.03, 3 epochs}, perms)", [&] {
           TrainOptions t;
           t.batch_size = batch_size;
           t.lr = 0.03f;
           t.epochs = 3;
           t.seed = opt.seed;
           t.loss = LossKind::HalfMse;
           std::string lines;
           fit = train_from_scratch(L.ds, t, perms, [&](int64_t e, double loss) {
             lines += (lines.empty() ? "" : "\n") + fmt_epoch(e, loss);
           });
           return lines;
         });
  r.step("4.7", "print(f'w的估计误差: {true_w - w.reshape(true_w.shape)}'); print(f'b的估计误差: {true_b - b}')",
         "true_w - w.reshape(true_w.sizes()); true_b - b", [&] {
           // Rebuild w and b as leaves to show the grad_fn PyTorch shows for these expressions.
           const Tensor w = T::from_vector(fit.w, {L.ds.d, 1}).requires_grad_();
           const Tensor b = T::from_vector(std::vector<float>{fit.b}, {1}).requires_grad_();
           return "error in estimating w: " + T::repr(L.true_w - w.reshape(L.true_w.sizes())) +
                  "\nerror in estimating b: " + T::repr(L.true_b - b);
         });
}

void section5(Recorder& r, const Options& opt) {
  r.note("5. Concise linear regression (线性回归模型的简单实现)");
  LabData L;
  r.step("5.1", "features, labels = synthetic_data(true_w, true_b, 1000)",
         "auto ds = linreg::generate_synthetic_host(spec); ...", [&] {
           L = lab_data(opt.seed);
           return shapes("features", L.features, "labels", L.labels);
         });
  const Permutations perms = trainer_permutations(opt.seed);
  r.step("5.2", "data_iter = load_array((features, labels), batch_size); X, y = next(iter(data_iter)); X.shape, y.shape",
         "torch::data::DataLoader loader(features, labels, 10, /*shuffle=*/true); auto batch = *loader.begin();", [&] {
           T::data::DataLoader loader(L.features, L.labels, 10, true);
           loader.set_permutation_fn(perms);
           const T::data::Example batch = *loader.begin();
           return "(" + T::repr(batch.data.shape()) + ", " + T::repr(batch.target.shape()) + ")";
         });
  r.step("5.3", "net = nn.Sequential(nn.Linear(2, 1)); net[0].weight.data.normal_(0, 0.01); net[0].bias.data.fill_(0); "
         "net[0].bias",
         "torch::nn::Linear net(2, 1); net.weight.data().copy_(initial weights); net.bias.data().fill_(0); net.bias", [&] {
           T::nn::Linear net(L.ds.d, 1);
           net.weight.data().copy_(T::from_vector(initial_weights(L.ds.d, opt.seed), {1, L.ds.d}));
           net.bias.data().fill_(0);
           return "weight: " + T::repr(net.weight.shape()) + ", bias: " + T::repr(net.bias);
         });
  r.step("5.4", "loss = nn.MSELoss(); trainer = torch.optim.SGD(net.parameters(), lr=0.03)",
         "torch::nn::MSELoss loss; torch::optim::SGD trainer(net.parameters(), 0.03);",
         [&] { return std::string("MSELoss(), SGD(lr=0.03)"); });
  FitResult fit;
  r.step("5.5",
         "for epoch in range(3): for X, y in data_iter: l = loss(net(X), y); trainer.zero_grad(); l.backward(); "
         "trainer.step()",
         "for (auto batch : loader) { auto l = loss(net(batch.data), batch.target); trainer.zero_grad(); l.backward(); "
         "trainer.step(); }",
         [&] {
           TrainOptions t;
           t.batch_size = 10;
           t.lr = 0.03f;
           t.epochs = 3;
           t.seed = opt.seed;
           t.loss = LossKind::Mse;
           std::string lines;
           fit = train_concise(L.ds, t, perms, [&](int64_t e, double loss) {
             lines += (lines.empty() ? "" : "\n") + fmt_epoch(e, loss);
           });
           return lines;
         });
  r.step("5.6", "w = net[0].weight.data; print('w的估计误差:', true_w - w.reshape(true_w.shape)); "
         "b = net[0].bias.data; print('b的估计误差:', true_b - b)",
         "true_w - net.weight.data().reshape(true_w.sizes()); true_b - net.bias.data()", [&] {
           const Tensor w = T::from_vector(fit.w, {1, L.ds.d});
           const Tensor b = T::from_vector(std::vector<float>{fit.b}, {1});
           return "error in estimating w: " + T::repr(L.true_w - w.reshape(L.true_w.sizes())) +
                  "\nerror in estimating b: " + T::repr(L.true_b - b);
         });
}

}  // namespace

std::string gpu_step_expr() { return kGpuStepExpr; }

SyntheticSpec lab_spec(uint64_t seed) {
  SyntheticSpec spec;
  spec.examples = 1000;
  spec.features = 2;
  spec.true_w = {2.0f, -3.4f};
  spec.true_b = 4.2f;
  spec.noise = 0.01f;
  spec.seed = seed;
  return spec;
}

Permutations trainer_permutations(uint64_t seed) {
  return [seed](int64_t n, int64_t epoch) {
    std::vector<uint32_t> p(static_cast<size_t>(n));
    host_permutation(n, seed, epoch, p.data());
    return std::vector<int64_t>(p.begin(), p.end());
  };
}

FitResult train_from_scratch(const HostDataset& ds, const TrainOptions& opt, const Permutations& perms,
                             const EpochFn& on_epoch) {
  if (ds.n <= 0 || ds.d <= 0) throw InputError("train_from_scratch: empty dataset");
  const Tensor features = T::from_vector(ds.X, {ds.n, ds.d});
  const Tensor labels = T::from_vector(ds.y, {ds.n, 1});
  Tensor w = T::from_vector(initial_weights(ds.d, opt.seed), {ds.d, 1}).requires_grad_();
  Tensor b = T::zeros({1}, T::requires_grad());
  const double lr = opt.lr;
  FitResult res;
  for (int64_t epoch = 0; epoch < opt.epochs; ++epoch) {
    const std::vector<int64_t> order = perms(ds.n, epoch);
    for (int64_t pos = 0; pos < ds.n; pos += opt.batch_size) {
      const std::vector<Tensor> xy = data_iter(features, labels, order, pos, opt.batch_size);
      const Tensor l = squared_loss(linreg_model(xy[0], w, b), xy[1]);
      l.sum().backward();
      sgd({w, b}, lr, xy[0].size(0));  // the batch's true size (the last one may be short)
    }
    T::NoGradGuard no_grad;
    const Tensor train_l = squared_loss(linreg_model(features, w, b), labels);
    const double loss = train_l.mean().item<double>();
    res.epoch_losses.push_back(loss);
    if (on_epoch) on_epoch(epoch + 1, loss);
  }
  res.w = w.to_vector<float>();
  res.b = b.item<float>();
  return res;
}

FitResult train_concise(const HostDataset& ds, const TrainOptions& opt, const Permutations& perms,
                        const EpochFn& on_epoch) {
  if (ds.n <= 0 || ds.d <= 0) throw InputError("train_concise: empty dataset");
  const Tensor features = T::from_vector(ds.X, {ds.n, ds.d});
  const Tensor labels = T::from_vector(ds.y, {ds.n, 1});
  T::data::DataLoader data_iter(features, labels, opt.batch_size, true);
  data_iter.set_permutation_fn(perms);
  T::nn::Linear net(ds.d, 1);
  net.weight.data().copy_(T::from_vector(initial_weights(ds.d, opt.seed), {1, ds.d}));
  net.bias.data().fill_(0);
  T::nn::MSELoss loss;
  T::optim::SGD trainer(net.parameters(), opt.lr);
  FitResult res;
  for (int64_t epoch = 0; epoch < opt.epochs; ++epoch) {
    for (const T::data::Example& batch : data_iter) {
      const Tensor l = loss(net(batch.data), batch.target);
      trainer.zero_grad();
      l.backward();
      trainer.step();
    }
    T::NoGradGuard no_grad;
    const double l = loss(net(features), labels).item<double>();
    res.epoch_losses.push_back(l);
    if (on_epoch) on_epoch(epoch + 1, l);
  }
  res.w = net.weight.to_vector<float>();
  res.b = net.bias.item<float>();
  return res;
}

std::vector<Step> run_section(int section, const Options& opt, std::ostream* out) {
  if (opt.device == DeviceChoice::Gpu && !T::cuda::is_available())
    throw DeviceUnavailable("no usable GPU (" + T::cuda::unavailable_reason() + ")");
  // --device gpu: every factory of the walk-through makes its tensor on cuda:0.
  const T::DefaultDeviceGuard on(opt.device == DeviceChoice::Gpu ? T::Device("cuda") : T::Device("cpu"));
  Recorder r(opt, out);
  switch (section) {
    case 2: section2(r, opt); break;
    case 3: section3(r, opt); break;
    case 4: section4(r, opt); break;
    case 5: section5(r, opt); break;
    default: throw InputError("--section " + std::to_string(section) + ": the tutorial has sections 2 to 5");
  }
  return r.take();
}

void run(const Options& opt, std::ostream& out) {
  if (opt.section != 0) {
    run_section(opt.section, opt, &out);
    return;
  }
  for (int s = 2; s <= 5; ++s) {
    run_section(s, opt, &out);
    if (s < 5) out << '\n';
  }
}

}  // namespace linreg::tutorial
