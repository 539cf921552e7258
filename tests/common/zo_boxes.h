/* Tiny black boxes for the src/zo suites, implementing zpt_blackbox_type
 * directly (no src/nn).  Each applies the variations to a private copy of
 * theta and records how it was queried, so tests can check the query
 * numbering (first_query) and counts.
 *
 *   affine:   y_i = A theta + x_i          (A: M x N; input_size = M)
 *             J = A exactly; with MSE and target 0 the loss is the
 *             quadratic (1/M) ||A theta + x||^2.
 *   softmax:  y_i = W x_i + b, theta = [W (C x d) row-major, b (C)]
 *             (a linear-softmax classifier; input_size = d, output = C).
 *   mlp:      y_i = W2 tanh(W1 x_i + b1) + b2 (two-layer net).
 */
#ifndef ZPT_TEST_ZO_BOXES_H
#define ZPT_TEST_ZO_BOXES_H

#include <stddef.h>
#include <stdint.h>

#include "zoptic.h"
#include "zo/blackbox.h"

typedef struct {
  int kind;          /* 1 affine, 2 softmax, 3 mlp */
  size_t d, C, H;    /* softmax/mlp sizes */
  float *A;          /* affine matrix M x N */
  float *work;       /* N floats */
  float *hidden;     /* H floats */
  uint64_t calls, queries, eval_queries;
  uint64_t next_query;   /* next training query index expected */
  int numbering_ok;      /* 0 once a call broke the contiguous numbering */
  uint64_t fail_at;      /* fail the call containing this training query
                            index (UINT64_MAX: never) */
  int nan_at_fail;       /* instead of failing, return NaN outputs */
} zpt_testbox;

/* Creates a black box; free with zpt_blackbox_free().  The impl is a
 * zpt_testbox (bb->impl) that tests may inspect and configure. */
zpt_blackbox *zpt_testbox_affine(size_t M, size_t N, const float *A);
zpt_blackbox *zpt_testbox_softmax(size_t d, size_t C);
zpt_blackbox *zpt_testbox_mlp(size_t d, size_t H, size_t C);

static inline zpt_testbox *zpt_testbox_of(zpt_blackbox *bb) {
  return (zpt_testbox *)bb->impl;
}

#endif
