#define _POSIX_C_SOURCE 200809L
#include "io/config.h"
#include "io/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "io/config_lines.h"
#include "io/config_float.h"

#define TI ZPT_CFG_INT
#define TU ZPT_CFG_U64
#define TD ZPT_CFG_DOUBLE
#define TB ZPT_CFG_BOOL
#define TS ZPT_CFG_STRING
#define TE ZPT_CFG_ENUM
#define GE ZPT_CFG_MIN
#define LE ZPT_CFG_MAX
#define GT ZPT_CFG_MIN_OPEN
#define LT ZPT_CFG_MAX_OPEN
#define REQ NULL

/* The schema: every key zoptic understands. */
static const zpt_cfg_key schema[] = {
  /* ---- data ---- (src/data, docs/data.md) */
  {"data", "task", TE, REQ,
   "mnist10k|digits|idx|cifar10|cifar10-synthetic|csv|copying|equalization-isi|equalization-imdd|toy",
   0, 0, 0, "the learning task and its data set (toy: generated linear regression, for tests and smoke runs)"},
  {"data", "path", TS, "", NULL, 0, 0, 0,
   "data file of file-based tasks (mnist10k: directory of the t10k IDX pair or the images file, default datasets/mnist/; "
   "idx: the images IDX file; digits: default datasets/digits/digits.csv.gz; csv: the CSV file; "
   "cifar10: directory of data_batch_*.bin and test_batch.bin, default datasets/cifar10/; toy: optional CSV of toy_inputs numbers then toy_outputs targets per line)"},
  {"data", "labels", TS, "", NULL, 0, 0, 0, "mnist10k and idx: the labels IDX file (empty: path with images replaced by labels)"},
  {"data", "test_path", TS, "", NULL, 0, 0, 0, "idx: images IDX file of a fixed test set, e.g. the official t10k file (empty: a random split of data.path, data.n_test samples)"},
  {"data", "test_labels", TS, "", NULL, 0, 0, 0, "idx: the labels IDX file of data.test_path (empty: test_path with images replaced by labels)"},
  {"data", "label_column", TI, "-1", NULL, 0, 0, 0, "csv: 0-based column of the class label (negative: from the end); labels are integers 0..C-1, or other integers or names, mapped to 0..C-1 in sorted order and reported"},
  {"data", "n_classes", TI, "0", NULL, GE, 0, 0, "csv and idx: number of classes; every label must then be an integer in [0, n_classes) (0: from the data: every class present, or refused with the label counts)"},
  {"data", "n_train", TU, "0", NULL, 0, 0, 0, "training samples to use or generate (0: all of the file's training part; copying 2000, equalization 8000, cifar10-synthetic 50000, toy 512)"},
  {"data", "n_test", TU, "0", NULL, 0, 0, 0, "test samples (0: a fifth of a file set, copying 500, equalization 2000, cifar10-synthetic 10000, toy 256 or a quarter of its data.path rows; mnist10k: the fixed 8000/2000 split; cifar10: all of test_batch)"},
  {"data", "batch", TU, "64", NULL, GE | LE, 1, 1048576, "mini-batch size of a training query"},
  {"data", "shuffle", TB, "true", NULL, 0, 0, 0, "visit training samples in a fresh random order every epoch"},
  {"data", "drop_last", TB, "false", NULL, 0, 0, 0, "skip an epoch's last partial batch (false: a shorter last batch)"},
  {"data", "seed", TU, "1", NULL, 0, 0, 0, "seed of generated data, train/test splits and batch order"},
  {"data", "standardize", TE, "auto", "auto|true|false|yes|no|on|off|1|0", 0, 0, 0, "standardise each feature with the mean and deviation of the training rows only (after pixel scaling to [0, 1]); auto: true for data.task = csv, false for pixels and generated signals"},
  {"data", "header", TE, "auto", "auto|true|false", 0, 0, 0, "csv: the first line (after blank and # lines) is a header of column names (auto: when a field outside the label column is a name, i.e. starts with a letter, _ or a quote)"},
  {"data", "dft_bins", TI, "0", NULL, GE | LE, 0, 4096, "replace each input by its DFT bins 1..K as 2K floats (0: raw inputs; the mzi-classifier has its own DFT encoder, leave 0)"},
  {"data", "copy_delay", TI, "100", NULL, GE | LE, 1, 100000, "copying task: delay T between the 10 symbols and their recall"},
  {"data", "snr_db", TD, "20", NULL, 0, 0, 0, "equalization tasks: signal-to-noise ratio of the received signal in dB"},
  {"data", "taps", TI, "0", NULL, GE | LE, 0, 4096, "equalization tasks: received samples per decision window (0: 21 for model.kind = mzi-equalizer, else the channel's default, ISI 8, IM/DD 9)"},
  {"data", "centre", TI, "-1", NULL, GE, -1, 0, "equalization tasks: window position of the current sample (-1: default, ISI 7, IM/DD 4)"},
  {"data", "delay", TI, "-1", NULL, GE, -1, 0, "equalization tasks: the target is the symbol this many steps back (-1: default, ISI 2, IM/DD 0)"},
  {"data", "imdd_length_km", TD, "4", NULL, GE, 0, 0, "IM/DD task: fibre length in km"},
  {"data", "imdd_dispersion", TD, "-5", NULL, 0, 0, 0, "IM/DD task: fibre dispersion D in ps/(nm km)"},
  {"data", "imdd_baud_gbd", TD, "112", NULL, GT, 0, 0, "IM/DD task: symbol rate in GBd"},
  {"data", "imdd_wavelength_nm", TD, "1270", NULL, GT, 0, 0, "IM/DD task: carrier wavelength in nm"},
  {"data", "toy_inputs", TI, "8", NULL, GE | LE, 1, 4096, "toy task: input dimension"},
  {"data", "toy_outputs", TI, "2", NULL, GE | LE, 1, 4096, "toy task: output dimension"},
  {"data", "toy_noise", TD, "0.01", NULL, GE, 0, 0, "toy task: standard deviation of the label noise"},
  /* ---- model ---- */
  {"model", "kind", TE, REQ, "cnn|mixer|mlp|mzi-classifier|mzi-equalizer|mzi-rnn|toy-linear",
   0, 0, 0, "the network (toy-linear: y = W x + b, for tests and smoke runs)"},
  {"model", "K", TI, "0", NULL, GE | LE, 0, 1024, "MZI models: mesh size in optical channels (0: the model's default: mzi-classifier 16, or the class count rounded up to even if larger, on plain features; mzi-equalizer 8; mzi-rnn is fixed at 32)"},
  {"model", "L", TI, "0", NULL, GE | LE, 0, 1024, "mzi-classifier: MZI columns of each Clements mesh, 1..K (0: K, a universal mesh)"},
  {"model", "screen", TB, "false", NULL, 0, 0, 0, "mzi-rnn: add a phase screen to the recurrent mesh (K more parameters)"},
  {"model", "score_scale", TD, "1", NULL, GT, 0, 0, "MZI models: softmax logits = score_scale x photodetected powers"},
  {"model", "width", TI, "0", NULL, GE | LE, 0, 65536, "hidden width (0: the model's default: cnn dense layer 16, mixer channels 32, mlp 32)"},
  {"model", "layers", TI, "0", NULL, GE | LE, 0, 64, "mlp: hidden layers (0: 1)"},
  {"model", "blocks", TI, "0", NULL, GE | LE, 0, 1024, "mixer: number of mixer blocks (0: 3)"},
  {"model", "channels", TI, "6", NULL, GE | LE, 1, 4096, "cnn: channels of the first convolution"},
  {"model", "channels2", TI, "16", NULL, GE | LE, 1, 4096, "cnn: channels of the second convolution"},
  {"model", "kernel", TI, "5", NULL, GE | LE, 1, 64, "cnn: convolution kernel size (k x k)"},
  {"model", "patch", TI, "4", NULL, GE | LE, 1, 256, "mixer: patch size (patch x patch pixels per token)"},
  {"model", "token_hidden", TI, "64", NULL, GE | LE, 1, 65536, "mixer: hidden width of the token MLP"},
  {"model", "channel_hidden", TI, "0", NULL, GE | LE, 0, 65536, "mixer: hidden width of the channel MLP (0: the width)"},
  {"model", "init_seed", TU, "1", NULL, 0, 0, 0, "seed of the parameter initialisation"},
  {"model", "init_scale", TD, "1", NULL, GT, 0, 0, "multiplier of the default initialisation scale"},
  /* ---- chip ---- */
  {"chip", "strength", TD, "0", NULL, GE, 0, 0, "fabrication-error strength: multiplies the three AAAI sigmas below (0: ideal chip, 1: the AAAI errors)"},
  {"chip", "sigma_split", TD, "0.01", NULL, GE, 0, 0, "splitting-angle error of each beam splitter at strength 1 (rad, Gaussian)"},
  {"chip", "sigma_radius", TD, "0.001", NULL, GE, 0, 0, "attenuation-radius error of each arm at strength 1 (uniform)"},
  {"chip", "sigma_angle", TD, "0.1", NULL, GE, 0, 0, "attenuation-phase error of each arm at strength 1 (rad, uniform)"},
  {"chip", "phase_bits", TI, "0", NULL, GE | LE, 0, 32, "phase DAC resolution in bits (0: continuous phases)"},
  {"chip", "crosstalk", TD, "0", NULL, GE | LE, 0, 1, "thermal crosstalk kappa: fraction of each neighbouring heater's drive added to a phase"},
  {"chip", "loss_db", TD, "0", NULL, GE | LE, 0, 60, "insertion loss per MZI in dB"},
  {"chip", "noise_thermal", TD, "0", NULL, GE, 0, 0, "standard deviation of additive read-out (thermal) noise of each detected power"},
  {"chip", "noise_shot", TD, "0", NULL, GE, 0, 0, "shot noise: Gaussian read-out noise of variance noise_shot x detected power"},
  {"chip", "seed", TU, "1", NULL, 0, 0, 0, "chip identity: seed of the fabrication errors; also seeds the read-out noise of every simulated model"},
  {"chip", "driver", TS, "", NULL, 0, 0, 0, "a chip driver: a command spawned with the protocol on its stdin/stdout (e.g. build/zoptic-chipd --config FILE), unix:PATH or tcp:HOST:PORT (empty: the simulated model in-process)"},
  {"chip", "socket", TS, "", NULL, 0, 0, 0, "Unix-domain socket of an already running chip driver (same as chip.driver = unix:PATH; empty: none)"},
  {"chip", "timeout_s", TD, "30", NULL, GT, 0, 0, "seconds to wait for one driver answer"},
  {"chip", "retries", TI, "2", NULL, GE | LE, 0, 100, "times a failed or timed-out driver query is retried"},
  /* ---- zo ---- (zpt_zo_config, src/zo/trainer.h, docs/method.md) */
  {"zo", "method", TE, "zo-np", "zo-i|zo-co|zo-np|zo-sparse|zo-guided|zo-adapt|cmaes", 0, 0, 0, "training method: perturbation samplers zo-i Gaussian N(0, I), zo-co coordinate directions, zo-np natural perturbations (block Fisher covariances), zo-sparse Gaussian on a random subset of coordinates, zo-guided guided ES (isotropic + the span of the last estimates), zo-adapt diagonal covariance from past estimates (all with the same estimator, optimizer and schedule); cmaes: Hansen's CMA-ES, theta is the distribution mean, an iteration is one generation of cmaes_lambda candidate queries on its mini-batch (no estimator or optimizer: Q, mu, mode, lr and the optimizer keys are not used; docs/method.md)"},
  {"zo", "mode", TE, "block", "block|all", 0, 0, 0, "block: each perturbation covers one parameter block (a random-permutation cycle of blocks); all: every perturbation covers all blocks"},
  {"zo", "Q", TI, "20", NULL, GE | LE, 1, 100000, "perturbations per iteration"},
  {"zo", "mu", TD, "0.001", NULL, GT, 0, 0, "finite-difference step: parameter-space length of a perturbation"},
  {"zo", "lambda", TD, "1", NULL, GT, 0, 0, "estimator scale lambda: multiplies the gradient estimate (not a damping term)"},
  {"zo", "n_max", TI, "0", NULL, GE | LE, 0, 65536, "largest parameter block; larger views are split (0: the task's default as in the paper: cnn 431, mzi-equalizer 28, mzi-rnn 45, mixer 510, others 512)"},
  {"zo", "normalize", TE, "auto", "auto|true|false|yes|no|on|off|1|0", 0, 0, 0, "rescale each perturbation u to ||u|| = sqrt(N), N the number of parameters (false: the raw draw; the step stays mu / sqrt(N)); auto: false for zo-np (the raw draw keeps E[g] = Sigma grad; chosen on validation in round 3, docs/method.md), true for every other method"},
  {"zo", "rho", TD, "1", NULL, GT, 0, 0, "zo-np: Fisher regulariser, Sigma_b = (1 + rho) (F_b + rho I)^-1"},
  {"zo", "t_ud", TI, "100", NULL, GE, 1, 0, "zo-np: iterations between Fisher block updates"},
  {"zo", "trace_norm", TB, "true", NULL, 0, 0, 0, "zo-np: normalise each Fisher block to unit mean eigenvalue, F_b <- F_b / (tr F_b / n_b)"},
  {"zo", "fisher_avg", TD, "1", NULL, GT | LE, 0, 1, "zo-np: weight alpha of a new Fisher estimate, F_b <- (1 - alpha) F_b + alpha F_new (1: replace)"},
  {"zo", "fisher_schedule", TE, "random", "random|cycle", 0, 0, 0, "zo-np: block of each Fisher update: random (uniform, with replacement) or cycle (random permutation, each block once)"},
  {"zo", "jac_eps", TD, "0.001", NULL, GT, 0, 0, "zo-np: coordinate step of the finite-difference Jacobian of a Fisher block"},
  {"zo", "chol_jitter", TB, "true", NULL, 0, 0, 0, "zo-np: rescue a failed Cholesky factorisation by adding jitter to the diagonal"},
  {"zo", "difference", TE, "forward", "forward|central", 0, 0, 0, "finite differences: forward (Q+1 queries per iteration) or central (2Q)"},
  {"zo", "optimizer", TE, "adam", "adam|sgd", 0, 0, 0, "update rule applied to the gradient estimate"},
  {"zo", "lr", TD, "0.001", NULL, GT, 0, 0, "learning rate"},
  {"zo", "lr_schedule", TE, "constant", "constant|cosine", 0, 0, 0, "constant: lr throughout; cosine: from lr down to lr_final along the query budget, lr_final + (lr - lr_final)(1 + cos(pi s))/2 with s = training queries spent / train.budget (the same schedule in queries for every method)"},
  {"zo", "lr_final", TD, "0", NULL, GE, 0, 0, "cosine schedule: learning rate at the end of the budget (<= lr)"},
  {"zo", "beta1", TD, "0.9", NULL, GE | LT, 0, 1, "Adam: first-moment decay"},
  {"zo", "beta2", TD, "0.999", NULL, GE | LT, 0, 1, "Adam: second-moment decay"},
  {"zo", "eps", TD, "1e-08", NULL, GT, 0, 0, "Adam: denominator offset"},
  {"zo", "momentum", TD, "0.9", NULL, GE | LT, 0, 1, "SGD: momentum"},
  {"zo", "seed", TU, "1", NULL, 0, 0, 0, "seed of perturbations, block cycles and Fisher schedules"},
  {"zo", "sparse_frac", TD, "0.1", NULL, GT | LE, 0, 1, "zo-sparse: fraction of a perturbation's range (its block, or all of theta with zo.mode = all) drawn Gaussian, ceil(frac x length) coordinates chosen uniformly without replacement; the rest 0"},
  {"zo", "guided_k", TI, "4", NULL, GE | LE, 1, 1000, "zo-guided: gradient estimates kept (the guiding subspace has dimension <= k; memory 3 k N floats)"},
  {"zo", "guided_alpha", TD, "0.5", NULL, GT | LE, 0, 1, "zo-guided: isotropic share, Sigma = (alpha / n) I + ((1 - alpha) / k) U U^T (1: isotropic only)"},
  {"zo", "adapt_floor", TD, "0.1", NULL, GT | LE, 0, 1, "zo-adapt: smallest per-coordinate variance of the diagonal covariance d = max(floor, v / mean v), v the running mean of g^2 (decay 0.99)"},
  {"zo", "cmaes_sigma", TD, "0.1", NULL, GT, 0, 0, "cmaes: initial step size sigma0 (parameter units)"},
  {"zo", "cmaes_lambda", TI, "0", NULL, GE | LE, 0, 100000, "cmaes: population, candidate queries per generation (0: Hansen's default 4 + floor(3 ln N); >= 2 otherwise); parents mu = lambda / 2"},
  {"zo", "cmaes_full_max", TI, "2000", NULL, GE | LE, 0, 20000, "cmaes: full covariance (N x N, 4 N^2 doubles) up to this number of parameters, separable (diagonal, Ros & Hansen 2008) above"},
  /* ---- train ---- */
  {"train", "budget", TU, REQ, NULL, GE, 1, 0, "queries (parameter settings evaluated on a batch) the training may spend"},
  {"train", "eval_every", TI, "100", NULL, GE, 1, 0, "iterations between test evaluations (one log line each)"},
  {"train", "checkpoint_every", TI, "1000", NULL, GE, 0, 0, "iterations between checkpoints (0: only at the end)"},
  {"train", "threads", TI, "0", NULL, GE | LE, 0, 16, "threads over the variations of a batched forward (0: $ZPT_THREADS, else every online CPU); OpenBLAS runs single-threaded. A run is bit-reproducible for a given thread count"},
  {"train", "eval_batch", TU, "0", NULL, 0, 0, 0, "test samples per evaluation (0: the whole test set)"},
  {"train", "metric", TE, "auto", "auto|accuracy|ser|relative_loss", 0, 0, 0,
   "test metric; auto: the task's own (classification: accuracy, equalization: ser, copying and toy: relative_loss)"},
  /* ---- output ---- */
  {"output", "dir", TS, "", NULL, 0, 0, 0, "run directory (empty: runs/<config file name without .ini>); --out overrides"},
  {"output", "progress", TE, "auto", "auto|on|off", 0, 0, 0, "updating progress line: auto (when stderr is a terminal), on, off"},
};

#undef TI
#undef TU
#undef TD
#undef TB
#undef TS
#undef TE

static const char *const sections[] = {"data", "model", "chip", "zo", "train", "output"};
#define N_KEYS (sizeof schema / sizeof schema[0])
#define N_SECTIONS (sizeof sections / sizeof sections[0])

const char *const *zpt_cfg_sections(size_t *n) {
  *n = N_SECTIONS;
  return sections;
}

typedef struct {
  int set;        /* 0: required and never given */
  char *text;     /* canonical text (zpt_alloc) */
  long long i;
  uint64_t u;
  double d;
  int b;
  char origin[ZPT_CFG_ORIGIN_LEN];
} cfg_value;

struct zpt_config {
  cfg_value v[N_KEYS];
};

const zpt_cfg_key *zpt_config_schema(size_t *n) {
  *n = N_KEYS;
  return schema;
}

long zpt_cfg_key_index(const char *section, const char *key) {
  for (size_t k = 0; k < N_KEYS; k++)
    if (!strcmp(schema[k].section, section) && !strcmp(schema[k].key, key))
      return (long)k;
  return -1;
}

const zpt_cfg_key *zpt_config_key(const char *section, const char *key) {
  long k = zpt_cfg_key_index(section, key);
  return k < 0 ? NULL : &schema[k];
}

int zpt_cfg_known_section(const char *s) {
  for (size_t i = 0; i < N_SECTIONS; i++)
    if (!strcmp(sections[i], s))
      return 1;
  return 0;
}

char *zpt_cfg_dup_text(const char *s) {
  size_t n = strlen(s);
  char *p = zpt_alloc(n + 1, "configuration value");
  if (p)
    memcpy(p, s, n + 1);
  return p;
}

/* ---- values ---- */

void zpt_cfg_describe_expected(const zpt_cfg_key *k, char *buf, size_t len) {
  const char *what = "";
  switch (k->type) {
  case ZPT_CFG_INT: what = "an integer"; break;
  case ZPT_CFG_U64: what = "a non-negative integer"; break;
  case ZPT_CFG_DOUBLE: what = "a finite number"; break;
  case ZPT_CFG_BOOL: snprintf(buf, len, "true or false"); return;
  case ZPT_CFG_STRING: snprintf(buf, len, "text on one line without ' ;'"); return;
  case ZPT_CFG_ENUM: snprintf(buf, len, "one of %s", k->choices); return;
  }
  int n = snprintf(buf, len, "%s", what);
  if (n < 0 || (size_t)n >= len)
    return;
  /* integer bounds in full (1048576, not 1.04858e+06) */
  int whole = k->type == ZPT_CFG_INT || k->type == ZPT_CFG_U64;
  if ((k->range & (ZPT_CFG_MIN | ZPT_CFG_MIN_OPEN)) &&
      (k->range & (ZPT_CFG_MAX | ZPT_CFG_MAX_OPEN)))
    snprintf(buf + n, len - (size_t)n, whole ? " in %s%.0f, %.0f%s" : " in %s%g, %g%s",
             (k->range & ZPT_CFG_MIN) ? "[" : "(", k->min, k->max,
             (k->range & ZPT_CFG_MAX) ? "]" : ")");
  else if (k->range & ZPT_CFG_MIN)
    snprintf(buf + n, len - (size_t)n, " >= %g", k->min);
  else if (k->range & ZPT_CFG_MIN_OPEN)
    snprintf(buf + n, len - (size_t)n, " > %g", k->min);
  else if (k->range & ZPT_CFG_MAX)
    snprintf(buf + n, len - (size_t)n, " <= %g", k->max);
  else if (k->range & ZPT_CFG_MAX_OPEN)
    snprintf(buf + n, len - (size_t)n, " < %g", k->max);
}

static int in_range(const zpt_cfg_key *k, double x) {
  if ((k->range & ZPT_CFG_MIN) && !(x >= k->min)) return 0;
  if ((k->range & ZPT_CFG_MIN_OPEN) && !(x > k->min)) return 0;
  if ((k->range & ZPT_CFG_MAX) && !(x <= k->max)) return 0;
  if ((k->range & ZPT_CFG_MAX_OPEN) && !(x < k->max)) return 0;
  return 1;
}

static int enum_allows(const char *choices, const char *s) {
  size_t n = strlen(s);
  const char *p = choices;
  while (*p) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !strncmp(p, s, n))
      return 1;
    if (!bar)
      break;
    p = bar + 1;
  }
  return 0;
}

/* Shortest %g text that reads back as exactly x. */
static void format_double(double x, char *buf, size_t len) {
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, x);
    if (strtod(buf, NULL) == x)
      return;
  }
}

/* Parses `text` for key k into a temporary value; on error returns
 * ZPT_EINVAL with "`where`: [section] key = text: expected ..." */
static int parse_value(const zpt_cfg_key *k, const char *text,
                       const char *where, cfg_value *out) {
  char expected[160];
  char canon[64];
  const char *canonical = text;
  errno = 0;
  char *end = NULL;
  int ok = 1;
  switch (k->type) {
  case ZPT_CFG_INT: {
    long long x = strtoll(text, &end, 10);
    ok = *text && !*end && errno == 0 && in_range(k, (double)x);
    out->i = x;
    snprintf(canon, sizeof canon, "%lld", x);
    canonical = canon;
    break;
  }
  case ZPT_CFG_U64: {
    const char *t = text;
    while (isspace((unsigned char)*t))
      t++;
    unsigned long long x = strtoull(text, &end, 10);
    ok = *text && *t != '-' && !*end && errno == 0 && in_range(k, (double)x);
    out->u = x;
    snprintf(canon, sizeof canon, "%llu", x);
    canonical = canon;
    break;
  }
  case ZPT_CFG_DOUBLE: {
    double x = strtod(text, &end);
    ok = *text && !*end && errno == 0 && isfinite(x) && in_range(k, x);
    out->d = x;
    format_double(x, canon, sizeof canon);
    canonical = canon;
    break;
  }
  case ZPT_CFG_BOOL:
    if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on") ||
        !strcmp(text, "1"))
      out->b = 1;
    else if (!strcmp(text, "false") || !strcmp(text, "no") ||
             !strcmp(text, "off") || !strcmp(text, "0"))
      out->b = 0;
    else
      ok = 0;
    canonical = out->b ? "true" : "false";
    break;
  case ZPT_CFG_STRING:
    /* must survive a write/re-parse: one line, no inline comment, no
     * surrounding blanks (inih strips them) */
    ok = !strchr(text, '\n') && !strchr(text, '\r') && !strstr(text, " ;") &&
         !strstr(text, "\t;") && text[0] != ';' &&
         !(text[0] && (isspace((unsigned char)text[0]) ||
                       isspace((unsigned char)text[strlen(text) - 1])));
    break;
  case ZPT_CFG_ENUM:
    ok = enum_allows(k->choices, text);
    break;
  }
  if (!ok) {
    zpt_cfg_describe_expected(k, expected, sizeof expected);
    return zpt_fail(ZPT_EINVAL, "%s: [%s] %s = '%s': expected %s", where,
                    k->section, k->key, text, expected);
  }
  char why[200]; /* a real key used in float32 must be a normal float32 */
  if (k->type == ZPT_CFG_DOUBLE &&
      zpt_config_float_unusable(k->section, k->key, out->d, why, sizeof why))
    return zpt_fail(ZPT_EINVAL, "%s: [%s] %s = '%s': %s", where, k->section, k->key, text,
                    why);
  out->text = zpt_cfg_dup_text(canonical);
  if (!out->text)
    return ZPT_ENOMEM;
  out->set = 1;
  return ZPT_OK;
}

int zpt_cfg_assign(zpt_config *c, size_t k, const char *text, const char *where,
                   const char *origin) {
  cfg_value nv;
  memset(&nv, 0, sizeof nv);
  ZPT_TRY(parse_value(&schema[k], text, where, &nv));
  snprintf(nv.origin, sizeof nv.origin, "%s", origin);
  zpt_free(c->v[k].text);
  c->v[k] = nv;
  return ZPT_OK;
}

zpt_config *zpt_config_alloc(void) {
  zpt_config *c = zpt_new(zpt_config, "configuration");
  if (!c)
    return NULL;
  for (size_t k = 0; k < N_KEYS; k++) {
    if (!schema[k].def)
      continue;
    if (zpt_cfg_assign(c, k, schema[k].def, "schema default", "default") !=
        ZPT_OK) {
      zpt_config_free(c);
      return NULL;
    }
  }
  return c;
}

void zpt_config_free(zpt_config *c) {
  if (!c)
    return;
  for (size_t k = 0; k < N_KEYS; k++)
    zpt_free(c->v[k].text);
  zpt_free(c);
}

zpt_config *zpt_config_clone(const zpt_config *c) {
  zpt_config *d = zpt_new(zpt_config, "configuration");
  if (!d)
    return NULL;
  *d = *c;
  for (size_t k = 0; k < N_KEYS; k++) {
    d->v[k].text = NULL;
    if (c->v[k].text && !(d->v[k].text = zpt_cfg_dup_text(c->v[k].text))) {
      zpt_config_free(d);
      return NULL;
    }
  }
  return d;
}

int zpt_config_check_required(const zpt_config *c, const char *origin) {
  for (size_t k = 0; k < N_KEYS; k++)
    if (!c->v[k].set) {
      char expected[160];
      zpt_cfg_describe_expected(&schema[k], expected, sizeof expected);
      return zpt_fail(ZPT_EINVAL,
                      "%s: missing required key [%s] %s (%s; expected %s)",
                      origin, schema[k].section, schema[k].key, schema[k].doc,
                      expected);
    }
  return ZPT_OK;
}

/* ---- getters ---- */

static int lookup(const zpt_config *c, const char *name, zpt_cfg_type want,
                  const cfg_value **v) {
  const char *dot = strchr(name, '.');
  long k = -1;
  if (dot && dot - name < 64) {
    char section[64];
    memcpy(section, name, (size_t)(dot - name));
    section[dot - name] = '\0';
    k = zpt_cfg_key_index(section, dot + 1);
  }
  if (k < 0)
    return zpt_fail(ZPT_ENOTFOUND, "configuration has no key '%s'", name);
  zpt_cfg_type t = schema[k].type == ZPT_CFG_ENUM ? ZPT_CFG_STRING : schema[k].type;
  if (t != want)
    return zpt_fail(ZPT_EINVAL, "configuration key '%s' is read with the wrong type", name);
  if (!c->v[k].set)
    return zpt_fail(ZPT_EINVAL, "configuration key '%s' is not set", name);
  *v = &c->v[k];
  return ZPT_OK;
}

int zpt_config_int(const zpt_config *c, const char *name, long long *v) {
  const cfg_value *x;
  ZPT_TRY(lookup(c, name, ZPT_CFG_INT, &x));
  *v = x->i;
  return ZPT_OK;
}

int zpt_config_u64(const zpt_config *c, const char *name, uint64_t *v) {
  const cfg_value *x;
  ZPT_TRY(lookup(c, name, ZPT_CFG_U64, &x));
  *v = x->u;
  return ZPT_OK;
}

int zpt_config_double(const zpt_config *c, const char *name, double *v) {
  const cfg_value *x;
  ZPT_TRY(lookup(c, name, ZPT_CFG_DOUBLE, &x));
  *v = x->d;
  return ZPT_OK;
}

int zpt_config_bool(const zpt_config *c, const char *name, int *v) {
  const cfg_value *x;
  ZPT_TRY(lookup(c, name, ZPT_CFG_BOOL, &x));
  *v = x->b;
  return ZPT_OK;
}

int zpt_config_string(const zpt_config *c, const char *name, const char **v) {
  const cfg_value *x;
  ZPT_TRY(lookup(c, name, ZPT_CFG_STRING, &x));
  *v = x->text;
  return ZPT_OK;
}

const char *zpt_config_origin(const zpt_config *c, const char *name) {
  const char *dot = strchr(name, '.');
  if (!dot || dot - name >= 64)
    return NULL;
  char section[64];
  memcpy(section, name, (size_t)(dot - name));
  section[dot - name] = '\0';
  long k = zpt_cfg_key_index(section, dot + 1);
  return k < 0 ? NULL : c->v[k].origin;
}

const char *zpt_cfg_value_text(const zpt_config *c, size_t k) {
  return c->v[k].set ? c->v[k].text : NULL;
}
