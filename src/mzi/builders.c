/* Ready-made photonic networks (builders.h). */
#include "mzi/builders.h"

#include "core/status.h"
#include "mzi/layers.h"
#include "mzi/mesh.h"
#include "mzi/rnn.h"

/* Constructs a layer into l with `call` and appends it to m, unless an
 * earlier step failed (rc).  The model owns the layer, also on failure. */
#define ADD(call)                     \
  do {                                \
    if (rc == ZPT_OK) {               \
      l = NULL;                       \
      rc = (call);                    \
      if (rc == ZPT_OK)               \
        rc = zpt_model_add(m, l);     \
    }                                 \
  } while (0)

static int start(const zpt_chip_config *cfg, zpt_chip *chip, zpt_model **out,
                 size_t input_size, zpt_model **m) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "mzi builder: NULL output pointer");
  *out = NULL;
  zpt_chip_config ideal = zpt_chip_config_ideal();
  ZPT_TRY(zpt_chip_init(chip, cfg ? cfg : &ideal));
  *m = zpt_model_alloc(input_size);
  if (!*m)
    return zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  return ZPT_OK;
}

static int finish(int rc, zpt_model *m, zpt_model **out, const char *what) {
  if (rc != ZPT_OK) {
    zpt_model_free(m);
    return zpt_fail_context(rc, "building the %s: ", what);
  }
  *out = m;
  return ZPT_OK;
}

/* The classifiers' photonic part after their input layer: three K x K
 * Clements meshes of L columns (the first with an input phase screen) with
 * modReLU between them, then photodetection of n_classes central
 * channels. */
static int add_classifier_meshes(zpt_model *m, size_t K, size_t L, size_t n_classes,
                                 zpt_chip *chip) {
  zpt_params *p = zpt_model_params(m);
  zpt_mesh_spec first = {ZPT_MESH_CLEMENTS, K, L, 1, ZPT_ROUTE_AUTO};
  zpt_mesh_spec next = {ZPT_MESH_CLEMENTS, K, L, 0, ZPT_ROUTE_AUTO};
  zpt_layer *l = NULL;
  int rc = ZPT_OK;
  ADD(zpt_mesh_layer_alloc(p, "mesh1", &first, chip, &l));
  ADD(zpt_modrelu_layer_alloc(p, "act1", K, &l));
  ADD(zpt_mesh_layer_alloc(p, "mesh2", &next, chip, &l));
  ADD(zpt_modrelu_layer_alloc(p, "act2", K, &l));
  ADD(zpt_mesh_layer_alloc(p, "mesh3", &next, chip, &l));
  ADD(zpt_detect_layer_alloc(p, "detect", K, (K - n_classes) / 2, n_classes, 1, chip, &l));
  return rc;
}

int zpt_mzi_classifier_alloc(size_t image_size, size_t K, size_t L,
                             const zpt_chip_config *cfg, zpt_model **out) {
  if (out)
    *out = NULL;
  if (L == 0)
    L = K;
  if (K < 10 || K > image_size / 2 || L > K)
    return zpt_fail(ZPT_EINVAL, "mzi classifier: K = %zu, L = %zu for images of %zu "
                    "pixels, expected 10 <= K <= %zu and 1 <= L <= K", K, L, image_size,
                    image_size / 2);
  zpt_chip chip;
  zpt_model *m = NULL;
  ZPT_TRY(start(cfg, &chip, out, image_size, &m));
  zpt_params *p = zpt_model_params(m);
  zpt_layer *l = NULL;
  int rc = ZPT_OK;
  ADD(zpt_dft_layer_alloc(p, "dft", image_size, K, 1, &l));
  if (rc == ZPT_OK)
    rc = add_classifier_meshes(m, K, L, 10, &chip);
  return finish(rc, m, out, "MZI classifier");
}

int zpt_mzi_feature_classifier_alloc(size_t features, size_t K, size_t L, size_t n_classes,
                                     const zpt_chip_config *cfg, zpt_model **out) {
  if (out)
    *out = NULL;
  if (L == 0)
    L = K;
  if (features == 0 || n_classes < 2 || K < n_classes || L > K)
    return zpt_fail(ZPT_EINVAL, "mzi feature classifier: %zu features, K = %zu, L = %zu, "
                    "%zu classes; expected >= 1 feature, 2 <= classes <= K, 1 <= L <= K",
                    features, K, L, n_classes);
  zpt_chip chip;
  zpt_model *m = NULL;
  ZPT_TRY(start(cfg, &chip, out, features, &m));
  zpt_params *p = zpt_model_params(m);
  zpt_layer *l = NULL;
  int rc = ZPT_OK;
  ADD(zpt_cmap_layer_alloc(p, "in", features, K, 0, &l));
  if (rc == ZPT_OK)
    rc = add_classifier_meshes(m, K, L, n_classes, &chip);
  return finish(rc, m, out, "MZI feature classifier");
}

int zpt_mzi_equalizer_alloc(size_t taps, size_t K, const zpt_chip_config *cfg,
                            zpt_model **out) {
  if (out)
    *out = NULL;
  if (taps == 0)
    taps = 21;
  if (K == 0)
    K = 8;
  if (K < 4)
    return zpt_fail(ZPT_EINVAL, "mzi equalizer: K = %zu channels, expected >= 4 "
                    "(4 detected classes)", K);
  zpt_chip chip;
  zpt_model *m = NULL;
  ZPT_TRY(start(cfg, &chip, out, taps, &m));
  zpt_params *p = zpt_model_params(m);
  zpt_mesh_spec mesh = {ZPT_MESH_CLEMENTS, K, 0, 1, ZPT_ROUTE_AUTO};
  zpt_layer *l = NULL;
  int rc = ZPT_OK;
  ADD(zpt_cmap_layer_alloc(p, "in", taps, K, 0, &l));
  const char *meshes[3] = {"mesh1", "mesh2", "mesh3"}, *acts[2] = {"act1", "act2"};
  for (int k = 0; k < 3 && rc == ZPT_OK; k++) {
    ADD(zpt_mesh_layer_alloc(p, meshes[k], &mesh, &chip, &l));
    if (k < 2)
      ADD(zpt_modrelu_layer_alloc(p, acts[k], K, &l));
  }
  ADD(zpt_detect_layer_alloc(p, "detect", K, (K - 4) / 2, 4, 1, &chip, &l));
  return finish(rc, m, out, "MZI equalizer");
}

int zpt_mzi_copying_rnn_alloc(size_t seq_len, int screen, const zpt_chip_config *cfg,
                              zpt_model **out) {
  if (out)
    *out = NULL;
  if (seq_len < 1)
    return zpt_fail(ZPT_EINVAL, "mzi copying RNN: sequence length 0");
  const size_t K = 32, categories = 10, classes = 9;
  zpt_chip chip;
  zpt_model *m = NULL;
  ZPT_TRY(start(cfg, &chip, out, seq_len * categories, &m));
  zpt_params *p = zpt_model_params(m);
  zpt_rnn_spec spec = {K, categories, seq_len, 0, ZPT_MESH_CLEMENTS, 0, screen != 0};
  zpt_layer *l = NULL;
  int rc = ZPT_OK;
  ADD(zpt_rnn_layer_alloc(p, "rnn", &spec, &chip, &l));
  ADD(zpt_detect_layer_alloc(p, "detect", K, 0, classes, seq_len, &chip, &l));
  return finish(rc, m, out, "MZI copying RNN");
}
