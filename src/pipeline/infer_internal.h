/* Shared between the pipeline's files. */
#ifndef EI_PIPELINE_INFER_INTERNAL_H
#define EI_PIPELINE_INFER_INTERNAL_H

#include "edgeinfer/infer.h"

/* Formats a message and hands it to opt->log (nothing when there is none). */
void ei_infer_logf(const ei_infer_options * opt, const char * fmt, ...) EI_PRINTF(2, 3);

/* Opens the model cfg names, as ei_infer_create documents, with dimension 0 of its inputs set to
 * the config's batch size. The caller owns *out. */
ei_status * ei_infer_open_model(const ei_infer_config * cfg, const ei_infer_options * opt, ei_model ** out);

/* The pre-processing ei_infer applies for cfg to model's one image input: cfg's spec with the
 * network size (and, where only one reading fits the shape, the layout) taken from the model;
 * refuses a model or config that contradict each other, naming the key to change. *batch is the
 * input's first dimension, *input_name borrows the model's. Calibration (src/quant) uses it too. */
ei_status * ei_infer_match_input(const ei_infer_config * cfg, const ei_model * model, ei_preprocess_spec * pre,
                                 int32_t * batch, const char ** input_name);

#endif
