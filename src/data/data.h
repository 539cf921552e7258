/* src/data: data sets, loaders, generators, splits, batching, preprocessing. */
#ifndef ZPT_DATA_H
#define ZPT_DATA_H

#include "data/batch.h"
#include "data/dataset.h"
#include "data/generators.h"
#include "data/loaders.h"
#include "data/preprocess.h"

#endif
