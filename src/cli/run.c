/* The table of tasks this build can run. */
#include "cli/run.h"
#include "tasks/tasks.h"

#include <string.h>

static const zpt_task_type *const tasks[] = {
  &zpt_task_cnn,
  &zpt_task_mixer,
  &zpt_task_mlp,
  &zpt_task_mzi_classifier,
  &zpt_task_mzi_equalizer,
  &zpt_task_mzi_rnn,
  &zpt_task_toy_linear,
};

const zpt_task_type *zpt_task_find(const char *kind) {
  for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
    if (!strcmp(tasks[i]->kind, kind))
      return tasks[i];
  return NULL;
}

/* The model kinds the library builds (io/setup.h): one task type each. */
const char *zpt_task_kinds(void) { return zpt_setup_model_kinds(); }
