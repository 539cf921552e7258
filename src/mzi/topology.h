/* MZI mesh topologies: which pairs of channels each column of a mesh
 * touches (Clements, Reck).  A header of its own so that the kernel's plan
 * (mzi/sweep.h) and the mesh (mzi/mesh.h) both build on it without
 * including each other.  Implementation: mzi/mesh_topology.c. */
#ifndef ZPT_MZI_TOPOLOGY_H
#define ZPT_MZI_TOPOLOGY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of channels of a mesh. */
#define ZPT_MESH_MAX_K 1024

typedef enum {
  ZPT_MESH_CLEMENTS = 1, /* rectangular: column c touches pairs m = c%2, c%2+2, ... */
  ZPT_MESH_RECK = 2      /* triangular, 2K-3 columns */
} zpt_mesh_kind;

/* The rotation kernel's band plan (internal: mzi/sweep.h). */
typedef struct zpt_mesh_sweep zpt_mesh_sweep;

typedef struct {
  zpt_mesh_kind kind;
  size_t K;          /* channels */
  size_t n_cols;     /* columns */
  size_t n_mzi;      /* MZIs */
  size_t *col_start; /* n_cols + 1: MZIs of column c are col_start[c] .. col_start[c+1]-1 */
  size_t *top;       /* n_mzi: the upper channel m of each MZI's pair (m, m+1) */
  int universal;     /* every unitary is reachable (with a screen) */
  zpt_mesh_sweep *sweep; /* the kernel's plan of the columns (internal) */
} zpt_mesh_topology;

/* Clements with K >= 2 channels and n_cols columns (0 means K, the full,
 * universal mesh; 1 <= n_cols <= K gives a truncated mesh); Reck with
 * K >= 2 (n_cols must be 0 or 2K-3; K = 2 has 1 column). */
int zpt_mesh_topology_alloc(zpt_mesh_kind kind, size_t K, size_t n_cols,
                            zpt_mesh_topology **out);
void zpt_mesh_topology_free(zpt_mesh_topology *t);
/* "clements" / "reck" */
const char *zpt_mesh_kind_name(zpt_mesh_kind kind);

#ifdef __cplusplus
}
#endif

#endif
