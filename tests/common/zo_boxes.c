/* Tiny black boxes for the src/zo suites (see zo_boxes.h). */
#include "common/zo_boxes.h"

#include <math.h>
#include <string.h>

static void box_free(zpt_blackbox *bb) {
  zpt_testbox *t = bb->impl;
  zpt_free(t->A);
  zpt_free(t->work);
  zpt_free(t->hidden);
  zpt_free(t);
  zpt_free(bb);
}

static void forward(zpt_testbox *t, const zpt_blackbox *bb, const float *th,
                    const float *x, float *y) {
  const size_t N = bb->n_params, M = bb->output_size;
  if (t->kind == 1) {
    for (size_t m = 0; m < M; m++) {
      double s = x[m];
      for (size_t k = 0; k < N; k++)
        s += (double)t->A[m * N + k] * th[k];
      y[m] = (float)s;
    }
  } else if (t->kind == 2) {
    const size_t d = t->d, C = t->C;
    for (size_t c = 0; c < C; c++) {
      double s = th[C * d + c];
      for (size_t k = 0; k < d; k++)
        s += (double)th[c * d + k] * x[k];
      y[c] = (float)s;
    }
  } else {
    const size_t d = t->d, H = t->H, C = t->C;
    const float *W1 = th, *b1 = th + H * d, *W2 = b1 + H, *b2 = W2 + C * H;
    for (size_t h = 0; h < H; h++) {
      double s = b1[h];
      for (size_t k = 0; k < d; k++)
        s += (double)W1[h * d + k] * x[k];
      t->hidden[h] = (float)tanh(s);
    }
    for (size_t c = 0; c < C; c++) {
      double s = b2[c];
      for (size_t h = 0; h < H; h++)
        s += (double)W2[c * H + h] * t->hidden[h];
      y[c] = (float)s;
    }
  }
}

static int box_query(zpt_blackbox *bb, const float *theta,
                     const zpt_variation *vars, size_t n_vars,
                     const float *inputs, size_t batch, float *outputs,
                     uint64_t first_query) {
  zpt_testbox *t = bb->impl;
  const size_t N = bb->n_params, M = bb->output_size;
  t->calls++;
  int eval = first_query >= ZPT_EVAL_QUERY_BASE;
  if (eval) {
    t->eval_queries += n_vars;
  } else {
    if (first_query != t->next_query)
      t->numbering_ok = 0;
    t->next_query = first_query + n_vars;
    t->queries += n_vars;
  }
  int poison = 0;
  if (!eval && t->fail_at >= first_query && t->fail_at < first_query + n_vars) {
    if (!t->nan_at_fail)
      return zpt_fail(ZPT_EIO, "test box: simulated device failure at query "
                      "%llu", (unsigned long long)t->fail_at);
    poison = 1;
  }
  for (size_t v = 0; v < n_vars; v++) {
    memcpy(t->work, theta, N * sizeof(float));
    const zpt_variation *var = &vars[v];
    if (var->offset + var->len > N)
      return zpt_fail(ZPT_EINVAL, "test box: variation %zu out of range", v);
    for (size_t k = 0; k < var->len; k++)
      t->work[var->offset + k] += var->scale * var->delta[k];
    for (size_t i = 0; i < batch; i++)
      forward(t, bb, t->work, inputs + i * bb->input_size,
              outputs + (v * batch + i) * M);
  }
  if (poison)
    outputs[0] = NAN;
  return ZPT_OK;
}

static const zpt_blackbox_type box_type = {.name = "testbox", .query = box_query, .free = box_free};

static zpt_blackbox *make(int kind, size_t N, size_t in, size_t M, size_t H) {
  zpt_blackbox *bb = zpt_new(zpt_blackbox, "test box");
  zpt_testbox *t = zpt_new(zpt_testbox, "test box impl");
  bb->type = &box_type;
  bb->impl = t;
  bb->n_params = N;
  bb->input_size = in;
  bb->output_size = M;
  t->kind = kind;
  t->work = zpt_floats(N, "test box theta");
  t->hidden = zpt_floats(H ? H : 1, "test box hidden");
  t->numbering_ok = 1;
  t->fail_at = UINT64_MAX;
  return bb;
}

zpt_blackbox *zpt_testbox_affine(size_t M, size_t N, const float *A) {
  zpt_blackbox *bb = make(1, N, M, M, 0);
  zpt_testbox *t = bb->impl;
  t->A = zpt_floats(M * N, "test box A");
  memcpy(t->A, A, M * N * sizeof(float));
  return bb;
}

zpt_blackbox *zpt_testbox_softmax(size_t d, size_t C) {
  zpt_blackbox *bb = make(2, C * (d + 1), d, C, 0);
  zpt_testbox *t = bb->impl;
  t->d = d;
  t->C = C;
  return bb;
}

zpt_blackbox *zpt_testbox_mlp(size_t d, size_t H, size_t C) {
  zpt_blackbox *bb = make(3, H * d + H + C * H + C, d, C, H);
  zpt_testbox *t = bb->impl;
  t->d = d;
  t->H = H;
  t->C = C;
  return bb;
}
