/* The MZI Elman RNN cell over sequences:
 *
 *   h_0 = 0,   h_t = modReLU(U h_{t-1} + W x_t),   t = 1..T
 *
 * U = D(screen) . mesh(phases) is a Clements (or Reck) mesh with optional
 * output phase screen, built once per forward (with the chip's errors), W a
 * complex K x in_dim input map, modReLU with a trainable bias per channel.
 * Per sample the input is T x in_dim floats (real x_t; complex inputs take
 * 2 in_dim floats per step) and the output T x K complex (h_1 .. h_T);
 * follow it by a detect layer with groups = T to read powers.
 *
 * Views, in this order: "<name>.phase" (n_mzi x 2), "<name>.screen" (K,
 * only with a screen), "<name>.in.re", "<name>.in.im" (K x in_dim each),
 * "<name>.bias" (K).
 */
#ifndef ZPT_MZI_RNN_H
#define ZPT_MZI_RNN_H

#include <stddef.h>

#include "mzi/mesh.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  size_t K;          /* hidden channels (>= 2) */
  size_t in_dim;     /* input features per step (>= 1) */
  size_t steps;      /* sequence length T (>= 1) */
  int complex_input; /* 0: x_t real, 1: x_t complex */
  zpt_mesh_kind kind;
  size_t n_cols;     /* 0 = full mesh */
  int screen;        /* output phase screen on U */
} zpt_rnn_spec;

int zpt_rnn_layer_alloc(zpt_params *p, const char *name, const zpt_rnn_spec *spec,
                        zpt_chip *chip, zpt_layer **out);

/* The recurrent matrix U (K x K row-major) of an RNN layer with params. */
int zpt_rnn_layer_matrix(const zpt_layer *l, const float *params, zpt_cfloat *U);

/* The chip hardware (fabrication errors) of an RNN cell's mesh U, NULL for
 * any other layer (mesh.h: zpt_mesh_hw_errors). */
zpt_mesh_hw *zpt_rnn_layer_hw(const zpt_layer *l);

#ifdef __cplusplus
}
#endif
#endif
