/* The MPI black-box decorator (docs/distributed.md).
 *
 * Every rank runs the same trainer on the same theta with the same seeds, so
 * every rank makes the same sequence of black-box calls with the same
 * variations.  The decorator evaluates this rank's share of each call's
 * variations on the local box — the contiguous range
 *     [n_vars * r / R, n_vars * (r + 1) / R)
 * numbered from first_query + its start, so read-out noise streams are the
 * ones a single process draws — and all-gathers the outputs in rank order
 * (MPI_Iallgatherv).  Every rank returns exactly the outputs one process
 * computes: since a variation's outputs do not depend on which other
 * variations share a call (src/nn/model.c), theta stays bit-identical for
 * every R.  Only outputs move, never theta.
 *
 * Each rank's block carries a small header: its status and, on failure, the
 * local error message.  A failure on any rank (a chip driver that died or
 * timed out) therefore reaches every rank in the same exchange, and every
 * rank fails the call with "rank r: <message>" — the same error, at the same
 * point, on all ranks.  A rank that never joins the exchange (hung, or
 * stopped) is detected by a timeout: the waiting ranks print which exchange
 * timed out and abort the job (MPI_Abort), never hang.  A rank that dies is
 * reported by mpirun, which ends the job.
 *
 * Chips, one per rank (chip.driver with {rank}): `per_chip_base` makes every
 * rank evaluate its own base query (variation 0 of a training call when it
 * is the unperturbed theta) next to its share, and return its perturbed
 * outputs moved onto the base of rank 0: y_q' = y_q - y_0(rank) + y_0(0), so
 * that each output difference y_q' - y_0 is taken on one chip.  Where a
 * rank's base outputs equal rank 0's bit for bit (simulated chips of one
 * seed) y_q is returned unchanged, so the result is item 1's bit for bit.
 *
 * Not part of libzoptic: only the zoptic-mpi program links this.
 */
#ifndef ZPT_MPI_BOX_H
#define ZPT_MPI_BOX_H

#include <mpi.h>
#include <stdint.h>

#include "zo/blackbox.h"

/* What the decorators of one process counted (shared by every box the
 * process wraps; the program prints it at the end of a run). */
typedef struct {
  uint64_t train_exchanges, eval_exchanges; /* collective exchanges */
  uint64_t bytes_sent;     /* this rank's blocks (headers + outputs) */
  uint64_t bytes_received; /* the other ranks' blocks */
  double local_seconds;    /* evaluating this rank's share */
  double mpi_seconds;      /* from posting an exchange to its completion
                              (includes waiting for slower ranks) */
} zpt_mpi_stats;

typedef struct {
  MPI_Comm comm;       /* the ranks sharing the calls (not freed) */
  double timeout_s;    /* longest wait for an exchange; then MPI_Abort */
  int per_chip_base;   /* see above: one chip per rank */
  zpt_mpi_stats *stats; /* counters to add to, or NULL */
} zpt_mpi_box_options;

/* Wraps *bb (ownership passes to the decorator, which frees it) in the
 * decorator and stores the decorator in *bb.  On failure *bb is unchanged
 * and still owned by the caller. */
int zpt_mpi_box_wrap(zpt_blackbox **bb, const zpt_mpi_box_options *opt);

#endif
