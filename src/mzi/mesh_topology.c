/* MZI mesh topologies: the Clements, Reck and diagonal layouts as
 * tables of MZIs by column. */
#include "mzi/topology.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "mzi/sweep.h"

/* ---------------------------------------------------------------- topology */

const char *zpt_mesh_kind_name(zpt_mesh_kind kind) {
  switch (kind) {
  case ZPT_MESH_CLEMENTS: return "clements";
  case ZPT_MESH_RECK: return "reck";
  }
  return "unknown";
}

void zpt_mesh_topology_free(zpt_mesh_topology *t) {
  if (!t)
    return;
  zpt_free(t->col_start);
  zpt_free(t->top);
  zpt_mesh_sweep_free(t->sweep);
  zpt_free(t);
}

/* Reck: pass p (0..K-2) nulls one row with MZIs on pairs m = 0..K-2-p,
 * placed as early as possible; the MZI (p, m) lands in column 2p + m. */
static int reck_has(size_t K, size_t c, size_t m) {
  if (m > c || (c - m) % 2)
    return 0;
  size_t p = (c - m) / 2;
  return p <= K - 2 && m <= K - 2 - p;
}

int zpt_mesh_topology_alloc(zpt_mesh_kind kind, size_t K, size_t n_cols,
                            zpt_mesh_topology **out) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "mesh topology: NULL output pointer");
  *out = NULL;
  if (kind != ZPT_MESH_CLEMENTS && kind != ZPT_MESH_RECK)
    return zpt_fail(ZPT_EINVAL, "mesh topology: unknown mesh kind %d", (int)kind);
  if (K < 2 || K > ZPT_MESH_MAX_K)
    return zpt_fail(ZPT_EINVAL, "%s mesh: K = %zu channels, expected 2..%d",
                    zpt_mesh_kind_name(kind), K, ZPT_MESH_MAX_K);
  size_t full = kind == ZPT_MESH_CLEMENTS ? K : (K == 2 ? 1 : 2 * K - 3);
  if (n_cols == 0)
    n_cols = full;
  if (kind == ZPT_MESH_CLEMENTS && n_cols > K)
    return zpt_fail(ZPT_EINVAL, "clements mesh: L = %zu columns for K = %zu channels, "
                    "expected 1..K (K columns are already universal)", n_cols, K);
  if (kind == ZPT_MESH_RECK && n_cols != full)
    return zpt_fail(ZPT_EINVAL, "reck mesh: %zu columns for K = %zu, a Reck mesh has "
                    "exactly %zu (pass 0 for the default)", n_cols, K, full);
  zpt_mesh_topology *t = zpt_new(zpt_mesh_topology, "mesh topology");
  if (!t)
    return zpt_error_status();
  t->kind = kind;
  t->K = K;
  t->n_cols = n_cols;
  t->universal = n_cols == full;
  t->col_start = zpt_new_array(size_t, n_cols + 1, "mesh column table");
  size_t max_mzi = n_cols * (K / 2);
  t->top = zpt_new_array(size_t, max_mzi ? max_mzi : 1, "mesh pair table");
  if (!t->col_start || !t->top) {
    zpt_mesh_topology_free(t);
    return ZPT_ENOMEM;
  }
  size_t q = 0;
  for (size_t c = 0; c < n_cols; c++) {
    t->col_start[c] = q;
    for (size_t m = c % 2; m + 1 < K; m += 2)
      if (kind == ZPT_MESH_CLEMENTS || reck_has(K, c, m))
        t->top[q++] = m;
  }
  t->col_start[n_cols] = q;
  t->n_mzi = q;
  int rc = zpt_mesh_sweep_alloc(t, &t->sweep);
  if (rc != ZPT_OK) {
    zpt_mesh_topology_free(t);
    return rc;
  }
  *out = t;
  return ZPT_OK;
}
