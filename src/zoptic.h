/* zoptic — zeroth-order training of neural networks and photonic MZI meshes.
 * The public umbrella header: include this one file. */
#ifndef ZOPTIC_H
#define ZOPTIC_H

#include "core/version.h"

#include "core/alloc.h"
#include "core/params.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/threads.h"
#include "core/timer.h"
#include "core/state.h"
#include "core/variation.h"
#include "zo/blackbox.h"
#include "zo/callback.h"
#include "zo/varcallback.h"
#include "zo/blocks.h"
#include "zo/fisher.h"
#include "zo/loss.h"
#include "zo/memstate.h"
#include "zo/optim.h"
#include "zo/sampler.h"
#include "zo/trainer.h"
#include "nn/model.h"
#include "nn/layers.h"
#include "nn/builders.h"
#include "nn/sim_backend.h"
#include "mzi/mzi.h"
#include "data/data.h"
#include "hw/chip_client.h"
#include "hw/chip_server.h"
#include "hw/linear_chip.h"
#include "io/config.h"
#include "io/datapaths.h"
#include "io/checkpoint.h"
#include "io/runlog.h"
#include "tasks/tasks.h"
#include "api/capi.h"

#endif
