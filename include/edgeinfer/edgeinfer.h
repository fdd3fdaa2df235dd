/* edgeinfer: run ONNX detection and segmentation networks on CPUs (and later GPUs), from C.
 * Umbrella header: include this one. */
#ifndef EDGEINFER_EDGEINFER_H
#define EDGEINFER_EDGEINFER_H

#define EI_VERSION_MAJOR  0
#define EI_VERSION_MINOR  1
#define EI_VERSION_PATCH  0
#define EI_VERSION_STRING "0.1.0"

#include "edgeinfer/config.h"
#include "edgeinfer/detect.h"
#include "edgeinfer/draw.h"
#include "edgeinfer/engine.h"
#include "edgeinfer/eval.h"
#include "edgeinfer/image.h"
#include "edgeinfer/infer.h"
#include "edgeinfer/labels.h"
#include "edgeinfer/model.h"
#include "edgeinfer/parser.h"
#include "edgeinfer/preprocess.h"
#include "edgeinfer/segment.h"
#include "edgeinfer/session.h"
#include "edgeinfer/status.h"
#include "edgeinfer/tensor.h"

#endif
