/* Optical channel equalization data: the nonlinear ISI benchmark and an
 * IM/DD fibre link with chromatic dispersion. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_fft_complex.h>
#include <gsl/gsl_randist.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"
#include "data/generators.h"

zpt_eq_config zpt_eq_defaults(zpt_channel_kind channel) {
  zpt_eq_config c = {0};
  c.channel = channel;
  c.n = 10000;
  c.snr_db = 20;
  c.seed = 1;
  if (channel == ZPT_CHANNEL_IMDD) {
    c.taps = 9;
    c.centre = 4;
    c.delay = 0;
  } else {
    c.taps = 8;
    c.centre = 7;
    c.delay = 2;
  }
  c.baud = 112e9;
  c.wavelength = 1270e-9;
  c.dispersion = -5e-6; /* -5 ps/(nm km) */
  c.length = 4e3;
  c.bias = 4;
  c.sps = 4;
  return c;
}

int zpt_eq_symbols(uint64_t seed, uint64_t tag, size_t len, unsigned char *cls) {
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_DATA, tag, 0);
  if (!r)
    return ZPT_ENOMEM;
  for (size_t i = 0; i < len; i++)
    cls[i] = (unsigned char)zpt_rng_below(r, 4);
  zpt_rng_free(r);
  return ZPT_OK;
}

static double level(unsigned char c) { return 2.0 * c - 3.0; }

void zpt_isi_channel(const double *d, size_t len, double *u) {
  static const double h[10] = {0.08, -0.12, 1.0, 0.18, -0.1,
                               0.091, -0.05, 0.04, 0.03, 0.01}; /* d(n+2)..d(n-7) */
  for (size_t n = 0; n < len; n++) {
    if (n < 7 || n + 2 >= len) {
      u[n] = NAN;
      continue;
    }
    double q = 0;
    for (int k = 0; k < 10; k++)
      q += h[k] * d[n + 2 - (size_t)k];
    u[n] = q + 0.036 * q * q - 0.011 * q * q * q;
  }
}

int zpt_dispersion_apply(double complex *field, size_t n, double sample_rate,
                         double wavelength, double dispersion, double length) {
  if (n == 0)
    return ZPT_OK;
  if (!(sample_rate > 0) || !(wavelength > 0) || !isfinite(dispersion) || !isfinite(length))
    return zpt_fail(ZPT_EINVAL, "dispersion: need sample_rate > 0 and wavelength > 0 and "
                    "finite D, L (got %g, %g, %g, %g)", sample_rate, wavelength, dispersion,
                    length);
  gsl_fft_complex_wavetable *wt = gsl_fft_complex_wavetable_alloc(n);
  gsl_fft_complex_workspace *ws = gsl_fft_complex_workspace_alloc(n);
  if (!wt || !ws) {
    gsl_fft_complex_wavetable_free(wt);
    gsl_fft_complex_workspace_free(ws);
    return zpt_fail(ZPT_ENOMEM, "dispersion: out of memory for an FFT of %zu points", n);
  }
  double *data = (double *)field; /* C11: double complex is {re, im} */
  int rc = gsl_fft_complex_forward(data, 1, n, wt, ws);
  double a = M_PI * wavelength * wavelength * dispersion * length / ZPT_SPEED_OF_LIGHT;
  for (size_t k = 0; k < n && rc == GSL_SUCCESS; k++) {
    double f = (k <= n / 2 ? (double)k : (double)k - (double)n) * sample_rate / (double)n;
    field[k] *= cexp(I * a * f * f);
  }
  if (rc == GSL_SUCCESS)
    rc = gsl_fft_complex_inverse(data, 1, n, wt, ws);
  gsl_fft_complex_wavetable_free(wt);
  gsl_fft_complex_workspace_free(ws);
  if (rc != GSL_SUCCESS)
    return zpt_fail(ZPT_ENUMERIC, "dispersion: GSL FFT of %zu points failed: %s", n,
                    gsl_strerror(rc));
  return ZPT_OK;
}

static double variance(const double *x, size_t n) {
  double m = 0, v = 0;
  for (size_t i = 0; i < n; i++)
    m += x[i];
  m /= (double)n;
  for (size_t i = 0; i < n; i++)
    v += (x[i] - m) * (x[i] - m);
  return v / (double)n;
}

/* Adds white Gaussian noise at snr_db relative to the variance of r. */
static int add_noise(double *r, size_t n, double snr_db, uint64_t seed, uint64_t tag) {
  if (isinf(snr_db) && snr_db > 0)
    return ZPT_OK;
  double sigma = sqrt(variance(r, n) / pow(10.0, snr_db / 10.0));
  gsl_rng *g = zpt_rng_alloc(seed, ZPT_STREAM_DATA, tag, 1);
  if (!g)
    return ZPT_ENOMEM;
  for (size_t i = 0; i < n; i++)
    r[i] += sigma * gsl_ran_gaussian_ziggurat(g, 1.0);
  zpt_rng_free(g);
  return ZPT_OK;
}

static int check_config(const zpt_eq_config *c) {
  if (c->channel != ZPT_CHANNEL_ISI && c->channel != ZPT_CHANNEL_IMDD)
    return zpt_fail(ZPT_EINVAL, "equalization: unknown channel %d (expected ISI = %d or "
                    "IMDD = %d)", (int)c->channel, ZPT_CHANNEL_ISI, ZPT_CHANNEL_IMDD);
  if (c->taps == 0 || c->centre >= c->taps)
    return zpt_fail(ZPT_EINVAL, "equalization: need taps >= 1 and centre < taps (got taps "
                    "%zu, centre %zu)", c->taps, c->centre);
  if (isnan(c->snr_db))
    return zpt_fail(ZPT_EINVAL, "equalization: SNR is NaN");
  if (c->n > ((size_t)1 << 28) || c->taps > ((size_t)1 << 16) || c->delay > ((size_t)1 << 16))
    return zpt_fail(ZPT_ERANGE, "equalization: n = %zu, taps = %zu or delay = %zu is "
                    "absurdly large", c->n, c->taps, c->delay);
  if (c->channel == ZPT_CHANNEL_IMDD) {
    if (c->sps == 0 || c->sps > 64 || !(c->baud > 0) || !(c->wavelength > 0) ||
        !isfinite(c->dispersion) || !(c->length >= 0) || !isfinite(c->bias))
      return zpt_fail(ZPT_EINVAL, "IM/DD link: need 1 <= sps <= 64, baud > 0, wavelength "
                      "> 0, length >= 0, finite D and bias (got sps %zu, baud %g, "
                      "wavelength %g, D %g, L %g, bias %g)", c->sps, c->baud,
                      c->wavelength, c->dispersion, c->length, c->bias);
    if (c->delay >= ((size_t)1 << 20))
      return zpt_fail(ZPT_ERANGE, "IM/DD link: delay %zu too large", c->delay);
  }
  return ZPT_OK;
}

static int new_eq_dataset(const zpt_eq_config *c, zpt_dataset **out) {
  char name[ZPT_DATASET_NAME_LEN];
  snprintf(name, sizeof name, "%s-snr%g", c->channel == ZPT_CHANNEL_ISI ? "isi" : "imdd",
           c->snr_db);
  ZPT_TRY(zpt_dataset_alloc(out, name, ZPT_TASK_CLASSIFICATION, c->n, c->taps, 1, 4));
  zpt_dataset *d = *out;
  d->channel = c->channel;
  d->snr_db = c->snr_db;
  d->taps = c->taps;
  d->centre = c->centre;
  d->delay = c->delay;
  return ZPT_OK;
}

static int generate_isi(const zpt_eq_config *c, zpt_dataset **out) {
  size_t pad = c->centre + 7 > c->delay ? c->centre + 7 : c->delay;
  size_t len = pad + c->n + (c->taps - 1 - c->centre) + 2;
  unsigned char *cls = zpt_alloc(len, "ISI symbols");
  double *d = zpt_doubles(len, "ISI levels");
  double *u = zpt_doubles(len, "ISI received");
  int rc = (cls && d && u) ? ZPT_OK : ZPT_ENOMEM;
  if (rc == ZPT_OK)
    rc = zpt_eq_symbols(c->seed, ZPT_DATA_ISI, len, cls);
  if (rc == ZPT_OK) {
    for (size_t i = 0; i < len; i++)
      d[i] = level(cls[i]);
    zpt_isi_channel(d, len, u);
    /* noise on the valid range [7, len - 2) only */
    rc = add_noise(u + 7, len - 9, c->snr_db, c->seed, ZPT_DATA_ISI);
  }
  if (rc == ZPT_OK)
    rc = new_eq_dataset(c, out);
  if (rc == ZPT_OK) {
    for (size_t k = 0; k < c->n; k++) {
      size_t nk = pad + k;
      float *x = zpt_dataset_input(*out, k);
      for (size_t j = 0; j < c->taps; j++)
        x[j] = (float)u[nk + j - c->centre];
      (*out)->targets[k] = (float)cls[nk - c->delay];
    }
  }
  zpt_free(cls);
  zpt_free(d);
  zpt_free(u);
  return rc;
}

static size_t next_pow2(size_t x) {
  size_t p = 64;
  while (p < x)
    p *= 2;
  return p;
}

static int generate_imdd(const zpt_eq_config *c, zpt_dataset **out) {
  size_t m = next_pow2(c->n + c->taps + c->delay);
  size_t ns = m * c->sps;
  unsigned char *cls = zpt_alloc(m, "IM/DD symbols");
  double complex *e = zpt_alloc(ns * sizeof(double complex), "IM/DD field");
  double *r = zpt_doubles(m, "IM/DD received");
  int rc = (cls && e && r) ? ZPT_OK : ZPT_ENOMEM;
  if (rc == ZPT_OK)
    rc = zpt_eq_symbols(c->seed, ZPT_DATA_IMDD, m, cls);
  if (rc == ZPT_OK) {
    for (size_t s = 0; s < ns; s++)
      e[s] = level(cls[s / c->sps]) + c->bias;
    rc = zpt_dispersion_apply(e, ns, c->baud * (double)c->sps, c->wavelength,
                              c->dispersion, c->length);
  }
  if (rc == ZPT_OK) {
    for (size_t i = 0; i < m; i++) {
      double complex v = e[i * c->sps + c->sps / 2];
      r[i] = creal(v) * creal(v) + cimag(v) * cimag(v);
    }
    rc = add_noise(r, m, c->snr_db, c->seed, ZPT_DATA_IMDD);
  }
  if (rc == ZPT_OK)
    rc = new_eq_dataset(c, out);
  if (rc == ZPT_OK) {
    for (size_t k = 0; k < c->n; k++) {
      float *x = zpt_dataset_input(*out, k);
      for (size_t j = 0; j < c->taps; j++)
        x[j] = (float)r[(k + m + j - c->centre) % m];
      (*out)->targets[k] = (float)cls[(k + m - c->delay) % m];
    }
  }
  zpt_free(cls);
  zpt_free(e);
  zpt_free(r);
  return rc;
}

int zpt_eq_generate(const zpt_eq_config *cfg, zpt_dataset **out) {
  *out = NULL;
  ZPT_TRY(check_config(cfg));
  return cfg->channel == ZPT_CHANNEL_ISI ? generate_isi(cfg, out) : generate_imdd(cfg, out);
}

void zpt_predict_classes(const float *scores, size_t n, size_t n_classes,
                         int *predicted) {
  for (size_t i = 0; i < n; i++) {
    const float *s = scores + i * n_classes;
    size_t best = 0;
    for (size_t k = 1; k < n_classes; k++)
      if (s[k] > s[best])
        best = k;
    predicted[i] = (int)best;
  }
}

double zpt_symbol_error_rate(const int *predicted, const float *targets, size_t n) {
  if (n == 0)
    return NAN;
  size_t errors = 0;
  for (size_t i = 0; i < n; i++)
    errors += (float)predicted[i] != targets[i];
  return (double)errors / (double)n;
}
