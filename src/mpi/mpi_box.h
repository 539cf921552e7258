/* The MPI black-box decorator (docs/distributed.md).
 *
 * Every rank runs the same trainer on the same theta with the same seeds, so
 * every rank makes the same sequence of black-box calls with the same
 * variations.  The decorator evaluates this rank's share of each call's
 * variations on the local box — split by layers when the local box states
 * cost and shared_cost and takes query_at (zo/blackbox.h: rank 0 the base
 * query and the variations of the last layers, the last rank those of the
 * first, so that the base activations are not all computed on every rank),
 * else a contiguous range (a base query to rank 0, the others by cost or
 * count) — each variation numbered as in one process (first_query + its
 * index), so read-out noise streams are the ones a single process draws,
 * and all-gathers the outputs in rank order (MPI_Iallgatherv).  Every rank
 * returns exactly the outputs one process computes: since a variation's
 * outputs do not depend on which other variations share a call
 * (src/nn/model_forward.c), theta stays bit-identical for every R.  Theta
 * never moves.
 *
 * The trainer's iterations go through query_shared (zo/blackbox.h): the
 * same split, but each rank draws only its share's perturbations
 * (prepare), turns its outputs into records (fill: the losses and the
 * perturbation values), and the records travel instead of the outputs;
 * every rank then forms the same estimate (docs/distributed.md).  Not with
 * per_chip_base or exchange_outputs.
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
 * rank evaluate its own base query next to its share of a training call
 * with a base query and send it with its block; outputs are returned as
 * each chip gave them, and the decorator's device_base (zo/blackbox.h) tells
 * the trainer which chip's base each later query is to be differenced
 * against, so that each finite difference (loss difference, Jacobian
 * column) is taken on one chip and the estimate averages over the chips.
 * Chips of one seed give bases equal bit for bit: the result is the one
 * process's.  Evaluation calls run on rank 0's chip.
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
  double local_cpu_seconds; /* its CPU time (load-independent) */
  double cpu_imbalance_seconds; /* CPU time of the busiest rank's share
                               above the mean of the ranks', summed over
                               exchanges: what a perfect split would save */
  double imbalance_seconds; /* of mpi_seconds: the slowest rank's share
                               minus this rank's, summed over exchanges */
  double outside_seconds;  /* the trainer's own work: between the end of
                              one exchange and the next call, and in a
                              shared call its draws and losses */
  double outside_cpu_seconds; /* its CPU time */
  double last_end;         /* MPI_Wtime() at the end of the last call */
  double last_end_cpu;     /* the process's CPU time then */
} zpt_mpi_stats;

typedef struct {
  MPI_Comm comm;       /* the ranks sharing the calls (not freed) */
  double timeout_s;    /* longest wait for an exchange; then MPI_Abort */
  int per_chip_base;   /* see above: one chip per rank */
  zpt_mpi_stats *stats; /* counters to add to, or NULL */
  int exchange_outputs; /* no query_shared: the trainer's iterations too
                           exchange outputs (every rank draws every
                           perturbation and computes every loss) */
} zpt_mpi_box_options;

/* Wraps *bb (ownership passes to the decorator, which frees it) in the
 * decorator and stores the decorator in *bb.  On failure *bb is unchanged
 * and still owned by the caller. */
int zpt_mpi_box_wrap(zpt_blackbox **bb, const zpt_mpi_box_options *opt);

#endif
