// The Rosenbrock black box of rosenbrock.c from C++: the same headers (they
// carry extern "C" guards, and zpt_cfloat / zpt_cdouble are std::complex in
// C++), a lambda as the callback, RAII for the trainer and the black box.
//   c++ rosenbrock.cc $(pkg-config --cflags --libs zoptic) -o rosenbrock_cxx
#include <zoptic/zoptic.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

namespace {
struct BoxFree { void operator()(zpt_blackbox *b) const { zpt_blackbox_free(b); } };
struct TrainerFree { void operator()(zpt_trainer *t) const { zpt_trainer_free(t); } };

void check(int rc) {
  if (rc != ZPT_OK) throw std::runtime_error(zpt_error_message());
}

double minimise(zpt_zo_method method, std::vector<float> &xy) {
  zpt_eval_fn residuals = [](const float *th, const float *, size_t batch,
                             float *out, void *) -> int {
    for (size_t i = 0; i < batch; i++) {
      out[2 * i] = 10.0f * (th[1] - th[0] * th[0]);
      out[2 * i + 1] = 1.0f - th[0];
    }
    return 0;
  };
  std::unique_ptr<zpt_blackbox, BoxFree> bb(zpt_blackbox_callback(residuals, nullptr, 2, 1, 2));
  if (!bb) check(zpt_error_status());
  zpt_zo_config cfg;
  zpt_zo_config_default(&cfg);
  cfg.method = method;
  cfg.loss = zpt_loss_mse();
  cfg.q = 4;
  cfg.t_ud = 10;
  cfg.optim.lr = 0.02;
  cfg.budget = 20000;
  zpt_trainer *raw = nullptr;
  check(zpt_trainer_alloc(&raw, bb.get(), xy.data(), &cfg));
  std::unique_ptr<zpt_trainer, TrainerFree> t(raw);
  const float input[1] = {0}, target[2] = {0, 0};
  zpt_iter_info info;
  int rc;
  while ((rc = zpt_trainer_iterate(t.get(), input, target, 1, &info)) == ZPT_OK) {
  }
  if (rc != ZPT_EBUDGET) check(rc);
  zpt_eval_result res;
  check(zpt_trainer_evaluate(t.get(), input, target, 1, 1, &res));
  const float *th = zpt_trainer_theta(t.get());
  xy.assign(th, th + 2);
  return 2 * res.loss;  // the MSE loss is f / 2
}
}  // namespace

int main() {
  try {
    for (zpt_zo_method m : {ZPT_ZO_I, ZPT_ZO_NP}) {
      std::vector<float> xy{-1.2f, 1.0f};
      double f = minimise(m, xy);
      std::printf("c++ %s: f = %.3g at (%.4f, %.4f)\n", zpt_zo_method_name(m), f, xy[0], xy[1]);
    }
    // The complex type is std::complex<double> here: one MZI's 2x2 transfer
    // matrix is unitary, so each column has unit norm.
    zpt_cdouble u[4];
    zpt_mzi_matrix(0.3, 1.1, u);
    std::printf("c++ MZI column norm %.6f\n", std::norm(u[0]) + std::norm(u[2]));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "rosenbrock_cxx: %s\n", e.what());
    return 1;
  }
  return 0;
}
