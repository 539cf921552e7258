/* A CIFAR-shaped SYNTHETIC data set: 3 x 32 x 32 images in [0, 1], 10
 * classes, generated from a seed.  It is not CIFAR-10 and says nothing about
 * accuracy on CIFAR-10: it exists so that the paper's CIFAR-10 networks (the
 * 33,642- and 1,706,762-parameter MLP-mixers) can be run, timed and measured
 * for memory on a machine without the real data (config: data.task =
 * cifar10-synthetic; docs/data.md).
 *
 * Construction.  Class c has a prototype P_c (3 x 32 x 32): per channel the
 * sum of 4 cosine gratings a cos(2 pi (fx x + fy y) / 32 + phi) with integer
 * frequencies fx, fy in [0, 3], amplitude a ~ N(0, 1/4) and phase phi ~
 * U[0, 2 pi), drawn from the stream (seed, ZPT_STREAM_DATA,
 * ZPT_DATA_CIFAR_SYNTH, 0).  Sample k draws from the stream (seed,
 * ZPT_STREAM_DATA, ZPT_DATA_CIFAR_SYNTH, k + 1): its label c uniform in
 * [0, 10), a circular shift (dx, dy) uniform in [-3, 3]^2, a contrast g ~
 * U[0.6, 1.4], a brightness b ~ U[-0.1, 0.1] and white noise of deviation
 * 0.2 per pixel; pixel = clamp(0.5 + 0.25 g P_c(ch, y + dy, x + dx) + b +
 * noise, 0, 1).  Sample k is a pure function of (seed, k): a data set of n
 * samples is a prefix of any larger one with the same seed. */
#ifndef ZPT_DATA_SYNTHETIC_H
#define ZPT_DATA_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

/* Third coordinate (i) of the generator's streams; continues the list of
 * data/generators.h (copying 1, ISI 2, IM/DD 3). */
enum { ZPT_DATA_CIFAR_SYNTH = 4 };

#define ZPT_CIFAR_SYNTH_CLASSES 10
#define ZPT_CIFAR_SYNTH_SIDE 32
#define ZPT_CIFAR_SYNTH_PIXELS (3 * 32 * 32)

/* n samples (n >= 1; ZPT_EINVAL otherwise), named "cifar10-synthetic",
 * kind classification, image shape 3 x 32 x 32 (CHW), targets in 0..9. */
int zpt_cifar_synthetic_generate(size_t n, uint64_t seed, zpt_dataset **out);

#endif
