/* The MPI black-box decorator (mpi_box.h, docs/distributed.md). */
#define _POSIX_C_SOURCE 200809L
#include "mpi/mpi_box.h"
#include "mpi/share_split.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "zoptic.h"

/* A rank's block: this header, then its outputs. */
#define HDR_BYTES 256
typedef struct {
  int32_t status;           /* ZPT_OK or the local error's status */
  int32_t unused;
  double local_seconds;     /* the rank's time evaluating its share */
  double local_cpu;         /* the CPU time of it (the process's) */
  double caller_cpu;        /* a shared call: the CPU time of prepare and fill */
  char message[HDR_BYTES - 32]; /* the local error message, NUL-terminated */
} block_header;

typedef struct {
  zpt_blackbox bb; /* first: the decorator is one allocation */
  zpt_blackbox *inner;
  zpt_mpi_box_options opt;
  int rank, size;
  zpt_mpi_stats own_stats;
  zpt_buffer send, recv;  /* this rank's block; all blocks in rank order */
  int *counts, *displs;   /* bytes per rank, offsets */
  int chips; /* this call: one chip per rank (per_chip_base, training) */
  zpt_share_plan plan; /* this call's shares (share_split.h) */
  /* the caller's own work per variation of a shared call (its draw and
   * loss), in units of the inner box's cost: a moving average over shared
   * calls of (caller CPU per variation) / (evaluation CPU per cost unit),
   * from every rank's header (the same on every rank) */
  double overhead;
  int have_overhead;
  zpt_buffer svars, squeries; /* this rank's share when it is not a run */
  zpt_buffer local; /* query_shared: this rank's outputs */
  /* per_chip_base: every rank's base outputs of the last call that had a
   * base query, what they were computed on, and the calls since (the
   * first of them that one): which rank evaluated which query */
  zpt_buffer bases;
  size_t bases_per; /* bytes of one rank's base outputs */
  int have_bases;
  const float *bases_theta, *bases_inputs;
  size_t bases_batch;
  uint64_t bases_sum;
  zpt_buffer calls; /* per call: first query, n, then the size + 1 bounds */
  size_t n_calls;
} mpi_box;

/* Words of a call record (device_base): first query, n, bounds. */
static size_t record_words(const mpi_box *b) { return 3 + (size_t)b->size; }

/* Bytes of a block before its outputs: the header, and with one chip per
 * rank the rank's own base outputs. */
static size_t lead_bytes(const mpi_box *b, size_t per) {
  return HDR_BYTES + (b->chips ? per : 0);
}

/* FNV-1a over theta: the base outputs of a chip are reused only for the
 * theta they were computed on. */
static uint64_t theta_sum(const float *theta, size_t n) {
  const unsigned char *p = (const unsigned char *)theta;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n * sizeof(float); i++)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* After a shared call split by layers: the caller's CPU per variation in
 * cost units, from every rank's header, into the moving average. */
static void learn_overhead(mpi_box *b, size_t n) {
  double caller = 0, eval = 0, load = 0;
  for (int r = 0; r < b->size; r++) {
    const block_header *h = (const block_header *)((char *)b->recv.data + b->displs[r]);
    caller += h->caller_cpu;
    eval += h->local_cpu;
    load += b->plan.loads[r];
  }
  if (!(n > 0 && eval > 0 && load > 0 && caller >= 0))
    return;
  double x = (caller / (double)n) / (eval / load);
  if (!isfinite(x))
    return;
  b->overhead = b->have_overhead ? 0.8 * b->overhead + 0.2 * x : x;
  b->have_overhead = 1;
}

/* This call's shares (share_split.h): by layers unless one chip per rank;
 * in a shared call each variation also costs the caller's learnt work. */
static int split(mpi_box *b, const zpt_variation *vars, size_t n, int base, int shared) {
  return zpt_share_plan_make(&b->plan, b->inner, vars, n, base, !b->chips,
                             shared && b->have_overhead ? b->overhead : 0);
}

/* Evaluates this rank's variations order[lo..hi) into out: one call of
 * consecutive queries when they are a run, else through query_at with
 * each variation's own query index (the same outputs: blackbox.h). */
static int eval_share(mpi_box *b, const float *theta, const zpt_variation *vars, size_t lo,
                      size_t hi, const float *inputs, size_t batch, float *out,
                      uint64_t first) {
  const size_t *ord = b->plan.order.data, n = hi - lo;
  if (n == 0)
    return ZPT_OK;
  if (ord[hi - 1] - ord[lo] == n - 1) /* increasing: a run */
    return zpt_blackbox_query(b->inner, theta, vars + ord[lo], n, inputs, batch, out,
                              first + ord[lo]);
  ZPT_TRY(zpt_buffer_reserve(&b->svars, n * sizeof(zpt_variation), "share variations"));
  ZPT_TRY(zpt_buffer_reserve(&b->squeries, n * sizeof(uint64_t), "share queries"));
  zpt_variation *sv = b->svars.data;
  uint64_t *sq = b->squeries.data;
  for (size_t k = 0; k < n; k++) {
    sv[k] = vars[ord[lo + k]];
    sq[k] = first + ord[lo + k];
  }
  return b->inner->type->query_at(b->inner, theta, sv, n, sq, inputs, batch, out);
}

/* Copies rank r's n items of `per` bytes from its block (after `lead`
 * bytes) to their variations' places in dst. */
static void scatter(const mpi_box *b, int r, size_t lead, size_t per, void *dst) {
  const size_t *ord = b->plan.order.data, lo = b->plan.bounds[r], hi = b->plan.bounds[r + 1];
  const char *src = (const char *)b->recv.data + b->displs[r] + lead;
  for (size_t k = lo; k < hi; k++)
    memcpy((char *)dst + ord[k] * per, src + (k - lo) * per, per);
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Waits for req with the box's timeout; MPI_Abort on timeout (a rank that
 * never joins the exchange cannot be waited for without hanging). */
static void wait_or_abort(mpi_box *b, MPI_Request *req, uint64_t first, size_t n_vars) {
  double t0 = MPI_Wtime();
  int done = 0;
  long spins = 0;
  while (!done) {
    MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (done)
      break;
    double waited = MPI_Wtime() - t0;
    if (waited > b->opt.timeout_s) {
      fprintf(stderr,
              "zoptic-mpi: rank %d: the exchange of queries %" PRIu64 "..%" PRIu64
              " got no answer from some of the %d ranks within %.3g s (a rank hangs, "
              "was stopped or died; --mpi-timeout): aborting the job\n",
              b->rank, first, first + n_vars - 1, b->size, b->opt.timeout_s);
      fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, ZPT_EXIT_FAILURE);
    }
    /* yield first (low latency), then sleep: a waiting rank must not take
     * the core of a rank still computing (oversubscribed hosts).  Spinning
     * without yielding for the first 3 ms was slower on this shared 2-core
     * machine (CNN, R = 2, load 14: 26.1 and 18.1 s against 14.9 and
     * 14.3 s for 600 iterations). */
    if (++spins < 2000) {
      sched_yield();
    } else {
      struct timespec ts = {0, 200000};
      nanosleep(&ts, NULL);
    }
  }
}

/* Sizes the exchange buffers for n variations of `per` bytes each after
 * `lead` bytes per block, shared as b->plan.bounds says. */
static int reserve(mpi_box *b, size_t n_vars, size_t lead, size_t per) {
  size_t total = 0;
  for (int r = 0; r < b->size; r++) {
    size_t bytes = lead + (b->plan.bounds[r + 1] - b->plan.bounds[r]) * per;
    if (bytes > INT_MAX || total > (size_t)INT_MAX - bytes)
      return zpt_fail(ZPT_ERANGE, "MPI exchange of %zu variations x %zu bytes exceeds "
                      "the int range of MPI_Allgatherv: lower the batch", n_vars, per);
    b->counts[r] = (int)bytes;
    b->displs[r] = (int)total;
    total += bytes;
  }
  ZPT_TRY(zpt_buffer_reserve(&b->recv, total, "MPI receive buffer"));
  return zpt_buffer_reserve(&b->send, (size_t)b->counts[b->rank], "MPI send buffer");
}

/* Evaluates this rank's share into its block (status + message on failure);
 * with one chip per rank also this rank's own base query (variation 0, with
 * rank 0's query index, so chips of one seed draw the same noise). */
static void local_share(mpi_box *b, const float *theta, const zpt_variation *vars,
                        size_t lo, size_t hi, const float *inputs, size_t batch,
                        uint64_t first, int own_base) {
  block_header *h = b->send.data;
  memset(h, 0, sizeof *h);
  size_t per = batch * b->bb.output_size * sizeof(float);
  float *base = (float *)((char *)b->send.data + HDR_BYTES);
  float *out = (float *)((char *)b->send.data + lead_bytes(b, per));
  double t0 = MPI_Wtime(), c0 = cpu_now();
  int rc = ZPT_OK;
  int base_in_share = hi > lo && ((const size_t *)b->plan.order.data)[lo] == 0;
  if (own_base && !base_in_share)
    rc = zpt_blackbox_query(b->inner, theta, vars, 1, inputs, batch, base, first);
  if (rc == ZPT_OK)
    rc = eval_share(b, theta, vars, lo, hi, inputs, batch, out, first);
  if (rc == ZPT_OK && own_base && base_in_share)
    memcpy(base, out, per);
  h->local_seconds = MPI_Wtime() - t0;
  h->local_cpu = cpu_now() - c0;
  b->opt.stats->local_seconds += h->local_seconds;
  b->opt.stats->local_cpu_seconds += h->local_cpu;
  if (rc != ZPT_OK) {
    h->status = rc;
    snprintf(h->message, sizeof h->message, "%s", zpt_error_message());
  }
}

/* One chip per rank, after an exchange: keeps every rank's base (or checks
 * that the cached ones belong to this theta, inputs and batch), and records
 * the call for device_base. */
static int chip_bases(mpi_box *b, const float *theta, const float *inputs, size_t batch,
                      size_t per, int with_base, uint64_t first, size_t n_vars) {
  uint64_t sum = theta_sum(theta, b->bb.n_params);
  if (with_base) {
    ZPT_TRY(zpt_buffer_reserve(&b->bases, (size_t)b->size * per, "per-chip bases"));
    for (int r = 0; r < b->size; r++)
      memcpy((char *)b->bases.data + (size_t)r * per,
             (char *)b->recv.data + b->displs[r] + HDR_BYTES, per);
    b->have_bases = 1;
    b->bases_per = per;
    b->bases_theta = theta;
    b->bases_inputs = inputs;
    b->bases_batch = batch;
    b->bases_sum = sum;
    b->n_calls = 0;
  } else if (!b->have_bases || b->bases_theta != theta || b->bases_inputs != inputs ||
             b->bases_batch != batch || b->bases_sum != sum) {
    return zpt_fail(ZPT_EINVAL, "--chip-per-rank: a call without a base query on a theta "
                    "whose base was not queried (one chip per rank needs forward "
                    "differences: zo.diff = forward)");
  }
  const size_t words = record_words(b);
  ZPT_TRY(zpt_buffer_reserve(&b->calls, (b->n_calls + 1) * words * sizeof(uint64_t),
                             "per-chip call records"));
  uint64_t *rec = (uint64_t *)b->calls.data + b->n_calls++ * words;
  rec[0] = first;
  rec[1] = n_vars;
  for (int r = 0; r <= b->size; r++)
    rec[2 + r] = b->plan.bounds[r];
  return ZPT_OK;
}

/* blackbox.h, device_base: rank r > 0 evaluated `query` -> its base. */
static const float *box_device_base(zpt_blackbox *bb, uint64_t query) {
  const mpi_box *b = bb->impl;
  const size_t words = record_words(b);
  for (size_t i = 0; b->have_bases && i < b->n_calls; i++) {
    const uint64_t *rec = (const uint64_t *)b->calls.data + i * words;
    if (query < rec[0] || query - rec[0] >= rec[1])
      continue;
    uint64_t v = query - rec[0];
    for (int r = 1; r < b->size; r++)
      if (v >= rec[2 + r] && v < rec[3 + r])
        return (const float *)((const char *)b->bases.data + (size_t)r * b->bases_per);
    return NULL; /* rank 0's: the base the trainer holds */
  }
  return NULL;
}

/* Posts this rank's block (b->send, sized by reserve), waits for every
 * rank's, counts; then fails with the first failing rank's error, the same
 * on every rank. */
static int exchange(mpi_box *b, uint64_t first, size_t n_vars) {
  zpt_mpi_stats *st = b->opt.stats;
  double t0 = MPI_Wtime();
  MPI_Request req;
  int mrc = MPI_Iallgatherv(b->send.data, b->counts[b->rank], MPI_BYTE, b->recv.data,
                            b->counts, b->displs, MPI_BYTE, b->opt.comm, &req);
  if (mrc != MPI_SUCCESS)
    return zpt_fail(ZPT_EBACKEND, "rank %d: MPI_Iallgatherv failed (MPI error %d)",
                    b->rank, mrc);
  wait_or_abort(b, &req, first, n_vars);
  st->last_end = MPI_Wtime();
  st->last_end_cpu = cpu_now();
  st->mpi_seconds += st->last_end - t0;
  if (first >= ZPT_EVAL_QUERY_BASE)
    st->eval_exchanges++;
  else
    st->train_exchanges++;
  st->bytes_sent += (uint64_t)b->counts[b->rank];
  st->bytes_received += (uint64_t)(b->displs[b->size - 1] + b->counts[b->size - 1] -
                                   b->counts[b->rank]);
  /* the first failing rank's error, the same on every rank */
  double slowest = 0, most_cpu = 0, sum_cpu = 0;
  for (int r = 0; r < b->size; r++) {
    const block_header *h = (const block_header *)((char *)b->recv.data + b->displs[r]);
    slowest = h->local_seconds > slowest ? h->local_seconds : slowest;
    most_cpu = h->local_cpu > most_cpu ? h->local_cpu : most_cpu;
    sum_cpu += h->local_cpu;
  }
  const block_header *own = (const block_header *)((char *)b->recv.data + b->displs[b->rank]);
  st->imbalance_seconds += slowest - own->local_seconds;
  st->cpu_imbalance_seconds += most_cpu - sum_cpu / b->size;
  for (int r = 0; r < b->size; r++) {
    const block_header *h = (const block_header *)((char *)b->recv.data + b->displs[r]);
    if (h->status != ZPT_OK)
      return zpt_fail(h->status, "rank %d of %d: %.*s", r, b->size,
                      (int)sizeof h->message, h->message);
  }
  return ZPT_OK;
}

/* The trainer's work since the last exchange (wall and CPU time). */
static void account_outside(zpt_mpi_stats *st) {
  if (st->last_end > 0) {
    st->outside_seconds += MPI_Wtime() - st->last_end;
    st->outside_cpu_seconds += cpu_now() - st->last_end_cpu;
  }
}

static int box_query(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                     size_t n_vars, const float *inputs, size_t batch, float *outputs,
                     uint64_t first) {
  mpi_box *b = bb->impl;
  account_outside(b->opt.stats);
  size_t per = batch * bb->output_size * sizeof(float);
  int base = n_vars > 0 && vars[0].len == 0;
  /* evaluation (a base query per call): rank 0's chip alone */
  b->chips = b->opt.per_chip_base && first < ZPT_EVAL_QUERY_BASE;
  ZPT_TRY(split(b, vars, n_vars, base, 0));
  ZPT_TRY(reserve(b, n_vars, lead_bytes(b, per), per));
  size_t lo = b->plan.bounds[b->rank], hi = b->plan.bounds[b->rank + 1];
  int with_base = b->chips && base;
  local_share(b, theta, vars, lo, hi, inputs, batch, first, with_base);
  ZPT_TRY(exchange(b, first, n_vars));
  if (b->chips)
    ZPT_TRY(chip_bases(b, theta, inputs, batch, per, with_base, first, n_vars));
  for (int r = 0; r < b->size; r++)
    scatter(b, r, lead_bytes(b, per), per, outputs);
  return ZPT_OK;
}

/* blackbox.h, query_shared: this rank draws (call->prepare) and evaluates
 * its share, turns its outputs into records (call->fill: the trainer's
 * losses and perturbations), and the records travel instead of the
 * outputs.  The trainer's work in prepare and fill counts as between
 * exchanges (it is what it did before the exchange on every rank). */
static int box_query_shared(zpt_blackbox *bb, const float *theta,
                            const zpt_variation *vars, size_t n_vars, const float *inputs,
                            size_t batch, uint64_t first, zpt_shared_call *call) {
  mpi_box *b = bb->impl;
  zpt_mpi_stats *st = b->opt.stats;
  account_outside(st);
  b->chips = 0;
  ZPT_TRY(split(b, vars, n_vars, n_vars > 0 && vars[0].len == 0, 1));
  ZPT_TRY(reserve(b, n_vars, HDR_BYTES, call->rec_bytes));
  const size_t lo = b->plan.bounds[b->rank], hi = b->plan.bounds[b->rank + 1];
  const size_t per = batch * bb->output_size * sizeof(float);
  double w0 = MPI_Wtime(), c0 = cpu_now();
  const size_t *share = (const size_t *)b->plan.order.data + lo;
  call->prepare(call->ctx, share, hi - lo);
  block_header *h = b->send.data;
  memset(h, 0, sizeof *h);
  double w1 = MPI_Wtime(), c1 = cpu_now();
  int rc = zpt_buffer_reserve(&b->local, (hi - lo) * per + 1, "share outputs");
  if (rc == ZPT_OK)
    rc = eval_share(b, theta, vars, lo, hi, inputs, batch, b->local.data, first);
  double w2 = MPI_Wtime(), c2 = cpu_now();
  h->local_seconds = w2 - w1;
  h->local_cpu = c2 - c1;
  st->local_seconds += h->local_seconds;
  st->local_cpu_seconds += h->local_cpu;
  if (rc == ZPT_OK)
    rc = call->fill(call->ctx, share, hi - lo, b->local.data,
                    (char *)b->send.data + HDR_BYTES);
  h->caller_cpu = (c1 - c0) + (cpu_now() - c2);
  st->outside_seconds += (w1 - w0) + (MPI_Wtime() - w2);
  st->outside_cpu_seconds += h->caller_cpu;
  if (rc != ZPT_OK) {
    h->status = rc;
    snprintf(h->message, sizeof h->message, "%s", zpt_error_message());
  }
  ZPT_TRY(exchange(b, first, n_vars));
  for (int r = 0; r < b->size; r++)
    scatter(b, r, HDR_BYTES, call->rec_bytes, call->records);
  if (b->plan.layered)
    learn_overhead(b, n_vars);
  return ZPT_OK;
}

static void box_free(zpt_blackbox *bb) {
  if (!bb)
    return;
  mpi_box *b = bb->impl;
  zpt_blackbox_free(b->inner);
  zpt_buffer_release(&b->send);
  zpt_buffer_release(&b->recv);
  zpt_buffer_release(&b->bases);
  zpt_buffer_release(&b->calls);
  zpt_share_plan_release(&b->plan);
  zpt_buffer_release(&b->svars);
  zpt_buffer_release(&b->squeries);
  zpt_buffer_release(&b->local);
  zpt_free(b->counts);
  zpt_free(b->displs);
  zpt_free(b);
}

/* the trainer's iterations shared out (records travel), other calls by
 * their outputs */
static const zpt_blackbox_type box_type = {.name = "mpi",
                                           .query = box_query,
                                           .free = box_free,
                                           .query_shared = box_query_shared};
/* --exchange-outputs: every call by its outputs */
static const zpt_blackbox_type outputs_type = {.name = "mpi", .query = box_query,
                                               .free = box_free};
/* one chip per rank: the trainer differences each query against its chip's
 * base */
static const zpt_blackbox_type chips_type = {.name = "mpi",
                                             .query = box_query,
                                             .free = box_free,
                                             .device_base = box_device_base};

int zpt_mpi_box_wrap(zpt_blackbox **bb, const zpt_mpi_box_options *opt) {
  if (!bb || !*bb || !opt)
    return zpt_fail(ZPT_EINVAL, "zpt_mpi_box_wrap: NULL argument");
  if (!(opt->timeout_s > 0))
    return zpt_fail(ZPT_EINVAL, "zpt_mpi_box_wrap: timeout %g s: expected > 0",
                    opt->timeout_s);
  mpi_box *b = zpt_new(mpi_box, "MPI decorator");
  if (!b)
    return ZPT_ENOMEM;
  memset(b, 0, sizeof *b);
  MPI_Comm_rank(opt->comm, &b->rank);
  MPI_Comm_size(opt->comm, &b->size);
  b->counts = zpt_new_array(int, (size_t)b->size, "MPI counts");
  b->displs = zpt_new_array(int, (size_t)b->size, "MPI offsets");
  int prc = zpt_share_plan_init(&b->plan, (size_t)b->size);
  if (!b->counts || !b->displs || prc != ZPT_OK) {
    zpt_free(b->counts);
    zpt_free(b->displs);
    zpt_share_plan_release(&b->plan);
    zpt_free(b);
    return ZPT_ENOMEM;
  }
  b->inner = *bb;
  b->opt = *opt;
  if (!b->opt.stats)
    b->opt.stats = &b->own_stats;
  /* the same shape and call limits as the local box: the trainer makes the
   * same calls as in one process */
  b->bb = *b->inner;
  b->bb.type = opt->per_chip_base     ? &chips_type
                : opt->exchange_outputs ? &outputs_type
                                        : &box_type;
  b->bb.impl = b;
  *bb = &b->bb;
  return ZPT_OK;
}
