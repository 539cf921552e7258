/* The table of tasks this build can run. */
#include "cli/run.h"

#include <string.h>

static const zpt_task_type *const tasks[] = {
  &zpt_task_toy_linear,
  /* real tasks (cnn, mixer, mzi-classifier, mzi-equalizer, mzi-rnn) are
   * added here as their modules land */
};

const zpt_task_type *zpt_task_find(const char *kind) {
  for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
    if (!strcmp(tasks[i]->kind, kind))
      return tasks[i];
  return NULL;
}

const char *zpt_task_kinds(void) { return "toy-linear"; }
