/* Shared between the pipeline's files. */
#ifndef EI_PIPELINE_INFER_INTERNAL_H
#define EI_PIPELINE_INFER_INTERNAL_H

#include "edgeinfer/infer.h"

/* Formats a message and hands it to opt->log (nothing when there is none). */
void ei_infer_logf(const ei_infer_options * opt, const char * fmt, ...) EI_PRINTF(2, 3);

/* Opens the model cfg names, as ei_infer_create documents, with dimension 0 of its inputs set to
 * the config's batch size. The caller owns *out. */
ei_status * ei_infer_open_model(const ei_infer_config * cfg, const ei_infer_options * opt, ei_model ** out);

#endif
