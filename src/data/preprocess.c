#include "data/preprocess.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_fft_halfcomplex.h>
#include <gsl/gsl_fft_real.h>

#include "core/alloc.h"
#include "core/status.h"

int zpt_scale_range(zpt_dataset *d, float lo, float hi) {
  if (!(hi > lo) || !isfinite(hi - lo))
    return zpt_fail(ZPT_EINVAL, "scaling '%s': need finite hi > lo, got lo %g, hi %g",
                    d->name, (double)lo, (double)hi);
  double inv = 1.0 / ((double)hi - (double)lo);
  size_t total = d->n * d->input_size;
  for (size_t i = 0; i < total; i++)
    d->inputs[i] = (float)(((double)d->inputs[i] - lo) * inv);
  return ZPT_OK;
}

void zpt_standardizer_free(zpt_standardizer *s) {
  if (!s)
    return;
  zpt_free(s->mean);
  zpt_free(s->std);
  zpt_free(s);
}

int zpt_standardizer_fit(const zpt_dataset *train, zpt_standardizer **out) {
  *out = NULL;
  if (train->n == 0)
    return zpt_fail(ZPT_EINVAL, "standardisation: training set '%s' has no samples",
                    train->name);
  size_t f = train->input_size;
  zpt_standardizer *s = zpt_new(zpt_standardizer, "standardizer");
  if (!s)
    return ZPT_ENOMEM;
  s->n_features = f;
  s->mean = zpt_doubles(f, "feature means");
  s->std = zpt_doubles(f, "feature standard deviations");
  if (!s->mean || !s->std) {
    zpt_standardizer_free(s);
    return ZPT_ENOMEM;
  }
  for (size_t i = 0; i < train->n; i++) {
    const float *x = zpt_dataset_input(train, i);
    for (size_t k = 0; k < f; k++)
      s->mean[k] += x[k];
  }
  for (size_t k = 0; k < f; k++)
    s->mean[k] /= (double)train->n;
  /* two-pass variance: no cancellation for large means */
  for (size_t i = 0; i < train->n; i++) {
    const float *x = zpt_dataset_input(train, i);
    for (size_t k = 0; k < f; k++) {
      double c = x[k] - s->mean[k];
      s->std[k] += c * c;
    }
  }
  for (size_t k = 0; k < f; k++) {
    double sd = sqrt(s->std[k] / (double)train->n);
    s->std[k] = sd > 0 ? sd : 1.0;
  }
  *out = s;
  return ZPT_OK;
}

int zpt_standardizer_apply(const zpt_standardizer *s, zpt_dataset *d) {
  if (d->input_size != s->n_features)
    return zpt_fail(ZPT_EINVAL, "standardisation of '%s': %zu features, the statistics "
                    "were fitted on %zu", d->name, d->input_size, s->n_features);
  for (size_t i = 0; i < d->n; i++) {
    float *x = zpt_dataset_input(d, i);
    for (size_t k = 0; k < s->n_features; k++)
      x[k] = (float)((x[k] - s->mean[k]) / s->std[k]);
  }
  return ZPT_OK;
}

struct zpt_dft_encoder {
  size_t m, k;
  double *work;    /* m reals, transformed in place to halfcomplex */
  double *full;    /* 2m: the unpacked complex spectrum */
  gsl_fft_real_wavetable *wt;
  gsl_fft_real_workspace *ws;
};

void zpt_dft_encoder_free(zpt_dft_encoder *e) {
  if (!e)
    return;
  zpt_free(e->work);
  zpt_free(e->full);
  if (e->wt)
    gsl_fft_real_wavetable_free(e->wt);
  if (e->ws)
    gsl_fft_real_workspace_free(e->ws);
  zpt_free(e);
}

int zpt_dft_encoder_alloc(zpt_dft_encoder **out, size_t m, size_t k) {
  *out = NULL;
  if (m < 2 || k < 1 || k > m - 1)
    return zpt_fail(ZPT_EINVAL, "DFT features: need input length M >= 2 and 1 <= K <= M-1, "
                    "got M = %zu, K = %zu", m, k);
  zpt_dft_encoder *e = zpt_new(zpt_dft_encoder, "DFT encoder");
  if (!e)
    return ZPT_ENOMEM;
  e->m = m;
  e->k = k;
  e->work = zpt_doubles(m, "DFT input");
  e->full = zpt_doubles(2 * m, "DFT spectrum");
  e->wt = gsl_fft_real_wavetable_alloc(m);
  e->ws = gsl_fft_real_workspace_alloc(m);
  if (!e->work || !e->full || !e->wt || !e->ws) {
    zpt_dft_encoder_free(e);
    return zpt_fail(ZPT_ENOMEM, "DFT features: out of memory for a %zu-point FFT", m);
  }
  *out = e;
  return ZPT_OK;
}

int zpt_dft_encode(zpt_dft_encoder *e, const float *x, float *out) {
  for (size_t t = 0; t < e->m; t++)
    e->work[t] = x[t];
  int rc = gsl_fft_real_transform(e->work, 1, e->m, e->wt, e->ws);
  if (rc == GSL_SUCCESS)
    rc = gsl_fft_halfcomplex_unpack(e->work, e->full, 1, e->m);
  if (rc != GSL_SUCCESS)
    return zpt_fail(ZPT_ENUMERIC, "DFT features: GSL FFT of %zu points failed: %s", e->m,
                    gsl_strerror(rc));
  double norm = 1.0 / sqrt((double)e->m);
  for (size_t b = 1; b <= e->k; b++) {
    out[2 * (b - 1)] = (float)(e->full[2 * b] * norm);
    out[2 * (b - 1) + 1] = (float)(e->full[2 * b + 1] * norm);
  }
  return ZPT_OK;
}

int zpt_dft_features(const zpt_dataset *d, size_t k, const char *name,
                     zpt_dataset **out) {
  *out = NULL;
  zpt_dft_encoder *e;
  ZPT_TRY(zpt_dft_encoder_alloc(&e, d->input_size, k));
  zpt_dataset *f;
  int rc = zpt_dataset_alloc(&f, name, d->kind, d->n, 2 * k, d->target_size, d->n_classes);
  if (rc != ZPT_OK) {
    zpt_dft_encoder_free(e);
    return rc;
  }
  zpt_dataset_copy_meta(f, d);
  snprintf(f->name, sizeof f->name, "%s", name ? name : d->name);
  f->channels = f->height = f->width = 0;
  memcpy(f->targets, d->targets, d->n * d->target_size * sizeof(float));
  if (d->origin) {
    f->origin = zpt_new_array(size_t, d->n ? d->n : 1, "sample origins");
    if (f->origin)
      memcpy(f->origin, d->origin, d->n * sizeof(size_t));
    else
      rc = ZPT_ENOMEM;
  }
  for (size_t i = 0; i < d->n && rc == ZPT_OK; i++)
    rc = zpt_dft_encode(e, zpt_dataset_input(d, i), zpt_dataset_input(f, i));
  zpt_dft_encoder_free(e);
  if (rc != ZPT_OK) {
    zpt_dataset_free(f);
    return rc;
  }
  *out = f;
  return ZPT_OK;
}
