/* INT8 calibration tables: for each activation tensor of a model's optimised fp32 graph, the scale
 * that maps it to int8 (scale = clipping threshold / 127) and whether it is never negative (then
 * int8 kernels may use uint8 with twice the resolution). Saved as a readable text file that can be
 * reused and edited (docs/precision.md):
 *
 *     # comment lines
 *     format: 1
 *     model-sha256: <64 hex digits of the ONNX file>
 *     method: entropy
 *     images: 64
 *     <tensor name><TAB><scale><TAB>signed|unsigned
 */
#ifndef EDGEINFER_CALIB_H
#define EDGEINFER_CALIB_H

#include <stdbool.h>
#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ei_calib_table ei_calib_table;

#define EI_CALIB_FORMAT_VERSION 1

typedef enum ei_calib_method {
    EI_CALIB_ENTROPY = 0,    /* KL-divergence threshold, as TensorRT's entropy calibrator */
    EI_CALIB_PERCENTILE = 1, /* 99.99th percentile of |x| */
    EI_CALIB_MINMAX = 2,     /* max |x| */
} ei_calib_method;

/* "entropy", "percentile", "minmax" ("?" otherwise). */
EI_API const char * ei_calib_method_name(ei_calib_method m);
EI_API bool         ei_calib_method_parse(const char * name, ei_calib_method * out);

EI_API EI_NODISCARD ei_status * ei_calib_table_create(ei_calib_table ** out);
EI_API void                     ei_calib_table_destroy(ei_calib_table * t); /* NULL-safe */

/* Adds or replaces a tensor's entry. scale must be finite and > 0; the name must not contain a
 * tab, carriage return or newline (the file format separates fields with them). */
EI_API EI_NODISCARD ei_status * ei_calib_table_set(ei_calib_table * t, const char * tensor, float scale,
                                                   bool is_unsigned);
/* False when the tensor has no entry. scale / is_unsigned may be NULL. */
EI_API bool    ei_calib_table_get(const ei_calib_table * t, const char * tensor, float * scale, bool * is_unsigned);
EI_API int32_t ei_calib_table_count(const ei_calib_table * t);
EI_API const char * ei_calib_table_name(const ei_calib_table * t, int32_t i); /* insertion order */

/* The model the table was made for (SHA-256 of the ONNX bytes), how, and from how many images. */
EI_API void ei_calib_table_set_source(ei_calib_table * t, const uint8_t model_sha256[32], ei_calib_method method,
                                      int32_t images);
/* False when no model hash is recorded. */
EI_API bool            ei_calib_table_model_sha256(const ei_calib_table * t, uint8_t out[32]);
EI_API ei_calib_method ei_calib_table_method(const ei_calib_table * t);
EI_API int32_t         ei_calib_table_images(const ei_calib_table * t);

/* Writes the text file (temporary file + rename: never half-written). */
EI_API EI_NODISCARD ei_status * ei_calib_table_save(const ei_calib_table * t, const char * path);
/* Reads a text file; errors name the file and line. Caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_calib_table_load(const char * path, ei_calib_table ** out);
/* Error unless the table was made for the model with this ONNX hash (a table without a hash is
 * accepted: hand-written). path is for the message. */
EI_API EI_NODISCARD ei_status * ei_calib_table_check_model(const ei_calib_table * t, const uint8_t model_sha256[32],
                                                           const char * path);

#ifdef __cplusplus
}
#endif
#endif
