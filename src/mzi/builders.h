/* Ready-made photonic networks (docs/mzi.md lists every layer and count).
 * Each builder takes a chip config (NULL = ideal hardware; errors are drawn
 * per component in layer order from the chip's seed) and returns a new
 * model in *out (free with zpt_model_free); theta is zero until
 * zpt_model_init. */
#ifndef ZPT_MZI_BUILDERS_H
#define ZPT_MZI_BUILDERS_H

#include <stddef.h>

#include "mzi/chip.h"
#include "nn/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Task 2, the AAAI feed-forward classifier: input a flattened image of
 * image_size pixels -> DFT bins 1..K (centred order) -> Clements(K, L) +
 * screen -> modReLU -> Clements(K, L) -> modReLU -> Clements(K, L) ->
 * |y|^2 of the central 10 channels (start (K-10)/2).  10 <= K <= image_size/2,
 * 1 <= L <= K (L = 0 means K).  Parameters: 3 L-column meshes + K + 2K;
 * with L = K that is 3K^2 (768, 3072, 12288 for K = 16, 32, 64). */
int zpt_mzi_classifier_alloc(size_t image_size, size_t K, size_t L,
                             const zpt_chip_config *chip, zpt_model **out);

/* The feed-forward classifier for plain feature vectors (a table's rows,
 * any count): a trainable complex projection features -> K (no DFT, no
 * padding) -> Clements(K, L) + screen -> modReLU -> Clements(K, L) ->
 * modReLU -> Clements(K, L) -> |y|^2 of the central n_classes channels
 * (start (K - n_classes)/2).  2 <= n_classes <= K, 1 <= L <= K (0: K).
 * Parameters 2 features K + 3 L-column meshes + K + 2K, i.e. with L = K
 * 2 features K + 3K^2 (1,184 for 13 features, K = 16). */
int zpt_mzi_feature_classifier_alloc(size_t features, size_t K, size_t L, size_t n_classes,
                                     const zpt_chip_config *chip, zpt_model **out);

/* Task 3, the equalizer: a window of `taps` real received samples ->
 * complex input map taps -> K -> [Clements(K) + screen -> modReLU] x 2 ->
 * Clements(K) + screen -> |y|^2 of the central 4 channels (the 4-PAM class
 * scores).  4 <= K.  Parameters 2 taps K + 3 K^2 + 2K: 544 for the default
 * taps = 21, K = 8 (pass 0 for either default). */
int zpt_mzi_equalizer_alloc(size_t taps, size_t K, const zpt_chip_config *chip,
                            zpt_model **out);

/* Task 4, the copying-memory RNN: sequences of seq_len steps of 10 one-hot
 * categories -> MZI Elman cell (K = 32, Clements(32) [+ screen], complex
 * input map 10 -> 32, modReLU bias) -> |h_t|^2 of channels 0..8 per step
 * (the 9 output classes: 8 symbols and blank).  Output seq_len x 9 floats.
 * Parameters 992 + 640 + 32 = 1,664 without the screen (screen = 0, the
 * paper's count), 1,696 with it. */
int zpt_mzi_copying_rnn_alloc(size_t seq_len, int screen, const zpt_chip_config *chip,
                              zpt_model **out);

#ifdef __cplusplus
}
#endif
#endif
