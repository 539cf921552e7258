/* src/mzi: photonic MZI-mesh layers, decomposition, ready-made networks and
 * the simulated chip's error model (docs/mzi.md). */
#ifndef ZPT_MZI_H
#define ZPT_MZI_H

#include "mzi/builders.h"
#include "mzi/chip.h"
#include "mzi/chip_errors.h"
#include "mzi/decompose.h"
#include "mzi/layers.h"
#include "mzi/mesh.h"
#include "mzi/rnn.h"

#endif
