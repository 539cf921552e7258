/* Your own function as the black box.  The Rosenbrock function
 *   f(x, y) = 100 (y - x^2)^2 + (1 - x)^2,   minimum 0 at (1, 1),
 * is returned as its residuals r = (10 (y - x^2), 1 - x); the MSE loss
 * against zero targets is then f / 2, and ZO-NP's Fisher block is the
 * Gauss-Newton matrix J^T J.  Minimised from (-1.2, 1) by ZO-I and by ZO-NP
 * with the same query budget.
 *   cc rosenbrock.c $(pkg-config --cflags --libs zoptic) -o rosenbrock */
#include <stdio.h>
#include <zoptic/zoptic.h>

static int rosenbrock(const float *theta, const float *inputs, size_t batch,
                      float *out, void *user) {
  (void)inputs, (void)user; /* no data: one dummy input per query */
  for (size_t i = 0; i < batch; i++) {
    out[2 * i] = 10.0f * (theta[1] - theta[0] * theta[0]);
    out[2 * i + 1] = 1.0f - theta[0];
  }
  return 0;
}

static int minimise(zpt_zo_method method) {
  const float start[2] = {-1.2f, 1.0f}, input[1] = {0}, target[2] = {0, 0};
  zpt_blackbox *bb = zpt_blackbox_callback(rosenbrock, NULL, 2, 1, 2);
  if (!bb)
    return zpt_error_status();
  zpt_zo_config cfg;
  zpt_zo_config_default(&cfg);
  cfg.method = method;
  cfg.loss = zpt_loss_mse();
  cfg.q = 4;
  cfg.t_ud = 10;
  cfg.optim.lr = 0.02;
  cfg.budget = 20000;
  zpt_trainer *t = NULL;
  zpt_iter_info info;
  int rc = zpt_trainer_alloc(&t, bb, start, &cfg);
  while (rc == ZPT_OK)                  /* iterate until the budget is spent */
    rc = zpt_trainer_iterate(t, input, target, 1, &info);
  if (rc == ZPT_EBUDGET) {
    const float *xy = zpt_trainer_theta(t);
    zpt_eval_result res;
    rc = zpt_trainer_evaluate(t, input, target, 1, 1, &res);
    if (rc == ZPT_OK)
      printf("%s: f = %.3g at (%.4f, %.4f) after %llu queries\n",
             zpt_zo_method_name(method), 2 * res.loss, xy[0], xy[1],
             (unsigned long long)zpt_trainer_counters(t)->queries);
  }
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
  return rc;
}

int main(void) {
  const float start[2] = {-1.2f, 1.0f};
  float r[2];
  rosenbrock(start, NULL, 1, r, NULL);
  printf("f = %.3g at the start (-1.2, 1)\n", r[0] * r[0] + r[1] * r[1]);
  zpt_zo_method methods[2] = {ZPT_ZO_I, ZPT_ZO_NP};
  for (int k = 0; k < 2; k++)
    if (minimise(methods[k]) != ZPT_OK) {
      fprintf(stderr, "rosenbrock: %s\n", zpt_error_message());
      return 1;
    }
  return 0;
}
