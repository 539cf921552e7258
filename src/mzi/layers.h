/* Complex-valued photonic layers besides the meshes (mzi/mesh.h) and the
 * RNN cell (mzi/rnn.h).  Complex activations are interleaved float pairs
 * (zpt_cfloat); in_size / out_size count floats.  Every constructor
 * registers its views in the parameter store p and returns the layer in
 * *out; formulas in docs/mzi.md.  Layers without parameters take p only to
 * place their (empty) range at its end, as a model requires; p may be NULL
 * there when the layer is used on its own. */
#ifndef ZPT_MZI_LAYERS_H
#define ZPT_MZI_LAYERS_H

#include <stddef.h>

#include "core/params.h"
#include "mzi/chip.h"
#include "nn/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The modReLU epsilon of the authors' code. */
#define ZPT_MODRELU_EPS 1e-3f

/* modReLU on K complex channels, trainable bias b ("<name>.bias", K):
 *   s = 1 + b_k / (|z| + 1e-3);  out = s z if s >= 0, else 0
 * i.e. z (|z| + 1e-3 + b) / (|z| + 1e-3), zero when |z| + 1e-3 + b < 0
 * (exactly the authors' forwardmodReLU).  Bias initialised to 0. */
int zpt_modrelu_layer_alloc(zpt_params *p, const char *name, size_t K, zpt_layer **out);

/* modReLU of one K-channel vector (interleaved re, im floats; in may equal
 * out): shared by the modReLU layer and the RNN cell.  Written on floats
 * so that the compiler vectorises it; a negative factor gives a zero. */
void zpt_modrelu_apply(const float *in, float *out, const float *bias, size_t K);

/* Photodetection |z|^2 of channels [start, start+count) of K, for `groups`
 * consecutive K-channel vectors per sample (groups = T for a sequence):
 * in 2 K groups floats, out count*groups floats.  No parameters.  With a
 * chip whose read-out noise is on, the layer is stochastic: it adds the
 * noise of zpt_chip_readout_noise drawn from ctx->noise (NULL: no noise). */
int zpt_detect_layer_alloc(zpt_params *p, const char *name, size_t K, size_t start, size_t count,
                           size_t groups, const zpt_chip *chip, zpt_layer **out);


/* Complex linear input map y = W x, W complex out_dim x in_dim stored as
 * "<name>.re" and "<name>.im" (each out_dim x in_dim, row-major).  x is real
 * (in_size = in_dim floats) when complex_input is 0, else complex (2 in_dim
 * floats).  Initialised with re, im ~ N(0, 1/(2 in_dim)). */
int zpt_cmap_layer_alloc(zpt_params *p, const char *name, size_t in_dim, size_t out_dim,
                         int complex_input, zpt_layer **out);

/* DFT encoder: a real signal of length P -> complex bins 1..K (0 Hz dropped)
 * of X_k = scale * sum_n x_n e^{-2 pi i k n / P}, scale = 1/sqrt(P) (the
 * orthonormal DFT, as torch.fft.rfft(norm="ortho") in the authors' code).
 * K <= P/2.  centred = 0: channel c holds bin c+1; centred = 1: the authors'
 * order [K, K-2, ..., 2, 1, 3, ..., K-1] for even K (the low frequencies in
 * the middle channels, where the classifier reads its outputs; for odd K
 * [K-1, ..., 2, 1, 3, ..., K]).  GSL mixed-radix FFT, no parameters. */
int zpt_dft_layer_alloc(zpt_params *p, const char *name, size_t P, size_t K, int centred,
                        zpt_layer **out);
/* The DFT bin held by channel c of an encoder with K channels. */
size_t zpt_dft_channel_bin(size_t K, int centred, size_t c);

#ifdef __cplusplus
}
#endif
#endif
