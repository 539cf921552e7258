/* The rotation kernel of the MZI meshes (internal to src/mzi; docs/mzi.md,
 * "The rotation kernel").
 *
 * A chunk of up to 32 samples is held planar: one row per channel, the real
 * parts of the chunk in one or two 16-float vectors, then the imaginary
 * parts.  The mesh's columns are taken two at a time ("bands"): one sweep
 * down the channels applies an MZI of the first column and then the MZI of
 * the second column that has just become ready, so each row is loaded and
 * stored once per two columns and the values in between stay in registers.
 * A band is a sequence of steps; at step s (row r = r_lo + 2 s) the first
 * column's MZI covers rows (r, r+1) and the second column's rows (r-1, r)
 * (row = channel + ZPT_SWEEP_PAD).  Positions of a step without an MZI (the
 * ragged ends of Reck columns, odd K, the top and bottom of a band) hold
 * identity coefficients; the padding rows above and below the channels
 * are zero.
 *
 * Two forms of coefficients, one entry per (column, step); a column's
 * entries follow each other (col_entry):
 *   general: 8 floats, the 2x2 complex matrix [[a, b], [c, d]] (a.re, a.im,
 *            ..., d.im), 16 multiply-adds per sample: any MZI, also lossy
 *            or with fabrication errors; identity = (1,0, 0,0, 0,0, 1,0).
 *   lifted:  4 floats (a1, b1, a2, b2), stored as four arrays over the
 *            column's steps (a1[S], b1[S], a2[S], b2[S]), for an ideal
 *            (unitary) MZI written
 *            as  D_out . R(alpha) . diag(e^{i beta}, 1) . D_in,  where D_in,
 *            D_out are diagonal phases carried from MZI to MZI and applied
 *            once at the end ("pending phases", zpt_mesh_sweep_run's fac):
 *            the phase e^{i beta} is a rotation of (re, im) and R(alpha) a
 *            real rotation of the pair, each done as three shears
 *            u += a v, v += b u, u += a v with a = -tan(x/2), b = sin x,
 *            |x| <= pi/2: 9 multiply-adds per sample; identity = zeros.
 */
#ifndef ZPT_MZI_SWEEP_H
#define ZPT_MZI_SWEEP_H

#include <stddef.h>

#include "mzi/topology.h"

/* padding rows above (and below) the channels of a planar chunk */
#define ZPT_SWEEP_PAD 1
/* samples of a planar chunk */
#define ZPT_SWEEP_CHUNK 32

typedef struct {
  size_t c;       /* first column */
  size_t D;       /* columns: 1 or 2 */
  size_t r_lo;    /* row of the first step */
  size_t n_steps; /* steps */
} zpt_sweep_band;

struct zpt_mesh_sweep {
  size_t K, rows;          /* rows = K + 2 ZPT_SWEEP_PAD */
  size_t n_bands;
  zpt_sweep_band *bands;
  size_t *col_entry;       /* n_cols: the entry of column c at its band's step 0 */
  size_t *col_first;       /* n_cols: the step of the column's first MZI */
  size_t *col_steps;       /* n_cols: its band's steps */
  size_t n_entries;        /* coefficient entries of the whole mesh */
};

/* Builds the band plan of a topology (zpt_mesh_topology_alloc calls it). */
int zpt_mesh_sweep_alloc(const zpt_mesh_topology *t, zpt_mesh_sweep **out);
void zpt_mesh_sweep_free(zpt_mesh_sweep *s);

/* Scratch bytes of zpt_mesh_sweep_run (64-byte aligned). */
size_t zpt_mesh_sweep_bytes(const zpt_mesh_sweep *s);

/* The lifted coefficients of one column of ideal MZIs (tops m0, m0 + 2,
 * ...): phases nq x (theta, phi); pending phases of the upper channels
 * (p0r, p0i) and of the lower ones (p1r, p1i), nq each, replaced by those
 * of the outputs; out: a1 at out[j], b1 at out[stride + j], a2 and b2 after
 * them (mzi/mesh.c lift_mzi has the algebra). */
void zpt_mesh_sweep_lift_column(const float *phases, size_t nq, float *p0r, float *p0i,
                                float *p1r, float *p1i, float *out, size_t stride);

/* Writes identity coefficients into the entries of plan s (of topology t)
 * where no MZI is (form: 0 = general, 1 = lifted); the coefficient writers
 * fill the others. */
void zpt_mesh_sweep_identity(const zpt_mesh_sweep *s, const zpt_mesh_topology *t, int lifted,
                             float *coef);

/* y = fac . mesh(x) for n samples (sample-major, K complex each; x == y
 * allowed), coef in the plan's entry order (form: lifted or general), fac:
 * K complex factors applied at the end (NULL = none).  scratch:
 * zpt_mesh_sweep_bytes(s), 64-byte aligned. */
void zpt_mesh_sweep_run(const zpt_mesh_sweep *s, int lifted, const float *coef,
                        const float *fac, const float *x, float *y, size_t n,
                        void *scratch);

#endif
