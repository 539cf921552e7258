/* Train an MZI classifier on a simulated photonic chip WITH fabrication
 * errors, forward passes only, by ZO-NP: alloc, iterate, test, free.
 * The data are made up here (10 classes of 8 x 8 "images": a random
 * prototype per class plus noise); read your own into x / y instead.
 *   cc mzi_classifier.c $(pkg-config --cflags --libs zoptic) -o mzi_classifier */
#include <stdio.h>
#include <stdlib.h>
#include <zoptic/zoptic.h>

enum { PIX = 64, CLASSES = 10, TRAIN = 600, TEST = 300, BATCH = 50 };

static void make_data(float *x, float *y, size_t n, unsigned seed) {
  static float proto[CLASSES][PIX];
  srand(1);
  for (int c = 0; c < CLASSES; c++)
    for (int p = 0; p < PIX; p++)
      proto[c][p] = (float)rand() / RAND_MAX;
  srand(seed);
  for (size_t i = 0; i < n; i++) {
    y[i] = (float)(i % CLASSES); /* a class index stored as a float */
    for (int p = 0; p < PIX; p++)
      x[i * PIX + p] = proto[i % CLASSES][p] + 0.5f * ((float)rand() / RAND_MAX - 0.5f);
  }
}

int main(void) {
  static float x[TRAIN * PIX], y[TRAIN], xt[TEST * PIX], yt[TEST];
  make_data(x, y, TRAIN, 2);
  make_data(xt, yt, TEST, 3);

  zpt_chip_config chip = zpt_chip_config_aaai(7, 1.0); /* chip 7, AAAI errors */
  zpt_model *m = NULL;
  zpt_blackbox *bb = NULL;
  zpt_trainer *t = NULL;
  int rc = zpt_mzi_classifier_alloc(PIX, 16, 0, &chip, &m); /* K = 16: 768 phases */
  if (rc == ZPT_OK) {
    zpt_model_init(m, 1);
    bb = zpt_model_blackbox(m, 0); /* the model as a black box: outputs only */
    rc = bb ? ZPT_OK : zpt_error_status();
  }
  zpt_zo_config cfg;
  zpt_zo_config_default(&cfg);
  cfg.method = ZPT_ZO_NP;
  cfg.loss = zpt_loss_xent_seq(1, CLASSES, 20); /* powers x 20 as logits */
  cfg.t_ud = 20;
  cfg.optim.lr = 0.005;
  cfg.budget = 20000; /* training queries */
  if (rc == ZPT_OK)
    rc = zpt_trainer_alloc(&t, bb, zpt_model_theta(m), &cfg);

  zpt_iter_info info;
  for (size_t it = 0; rc == ZPT_OK; it++) {
    size_t b = it % (TRAIN / BATCH);
    rc = zpt_trainer_iterate(t, x + b * BATCH * PIX, y + b * BATCH, BATCH, &info);
    if (rc == ZPT_OK && it % 200 == 0)
      printf("iteration %4zu  loss %.4f  queries %llu\n", it, info.loss,
             (unsigned long long)zpt_trainer_counters(t)->queries);
  }
  if (rc == ZPT_EBUDGET) { /* the normal end: the budget is spent */
    zpt_eval_result res;
    rc = zpt_trainer_evaluate(t, xt, yt, TEST, 0, &res);
    if (rc == ZPT_OK)
      printf("test accuracy %.3f (%zu/%zu)\n", res.accuracy, res.correct, res.total);
  }
  if (rc != ZPT_OK)
    fprintf(stderr, "mzi_classifier: %s\n", zpt_error_message());
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
  zpt_model_free(m);
  return rc == ZPT_OK ? 0 : 1;
}
