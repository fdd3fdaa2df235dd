/* INT8 calibration tables: for each activation tensor of a model's optimised fp32 graph, the scale
 * that maps it to int8 (scale = clipping threshold / 127) and whether it is never negative (then
 * int8 kernels may use uint8 with twice the resolution). Saved as a readable text file that can be
 * reused and edited (docs/precision.md):
 *
 *     # comment lines (a line starting with '#' that has a tab is a tensor: names may start with '#')
 *     format: 1
 *     model-sha256: <64 hex digits of the ONNX file>
 *     method: entropy
 *     images: 64
 *     <tensor name><TAB><scale><TAB>signed|unsigned
 *
 * Format 2 (written when the table holds channel means for bias correction) adds two optional
 * fields to a tensor line: <TAB>mean:M0,M1,...<TAB>mean-q:Q0,Q1,... (per channel).
 */
#ifndef EDGEINFER_CALIB_H
#define EDGEINFER_CALIB_H

#include <stdbool.h>
#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/model.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ei_calib_table ei_calib_table;
/* edgeinfer/config.h (which includes this header through engine.h). */
typedef struct ei_infer_config ei_infer_config;

#define EI_CALIB_FORMAT_VERSION 1
/* The format of tables with channel means (ei_calib_table_set_means); loaders read both. */
#define EI_CALIB_FORMAT_MEANS 2

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
/* Bias correction (docs/precision.md, "Bias correction"): per-channel means of a tensor over the
 * calibration images, as float (mean) and as the int8 kernels see it once quantised with the
 * entry's scale (mean_q). The INT8 rewrite moves each convolution's bias by the mean error these
 * imply. The tensor must have an entry; channels 0 clears them; changing the entry's scale or sign
 * with ei_calib_table_set clears them too. */
EI_API EI_NODISCARD ei_status * ei_calib_table_set_means(ei_calib_table * t, const char * tensor, int32_t channels,
                                                         const float * mean, const float * mean_q);
/* The channel count (0: no means); *mean / *mean_q (may be NULL) point into the table. */
EI_API int32_t      ei_calib_table_means(const ei_calib_table * t, const char * tensor, const float ** mean,
                                         const float ** mean_q);
EI_API const char * ei_calib_table_name(const ei_calib_table * t, int32_t i); /* insertion order */
/* Removes a tensor's entry (the tensor then stays in float); false when it had none. */
EI_API bool ei_calib_table_remove(ei_calib_table * t, const char * tensor);
/* Free text saved as '#' comment lines after the file's header comment (one per line of text; tabs
 * become spaces, since a '#' line with a tab is a tensor). The loader skips comments: a loaded table
 * has no note. NULL or "" clears it. Sensitivity analysis records the tensors it kept in float here. */
EI_API EI_NODISCARD ei_status * ei_calib_table_set_note(ei_calib_table * t, const char * text);
EI_API const char *             ei_calib_table_note(const ei_calib_table * t); /* NULL when none */

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

/* ---- Calibration: running a float model over images to fill a table (docs/precision.md) ---- */

/* The calibration images named by `source`: a folder (every .jpg, .jpeg and .png in it, not
 * recursive, case-insensitive extensions, sorted by name) or a text file listing one image path a
 * line (relative paths are relative to the list's folder; blank lines and lines starting with '#'
 * are skipped). Fails, naming source and the formats read, when there is no image. The caller
 * frees *paths with ei_calib_images_free. */
EI_API EI_NODISCARD ei_status * ei_calib_images_list(const char * source, char *** paths, int32_t * count);
EI_API void                     ei_calib_images_free(char ** paths, int32_t count); /* NULL-safe */

typedef struct ei_calib_options {
    uint32_t        size; /* sizeof(ei_calib_options); set by ei_calib_options_default */
    ei_calib_method method;
    int32_t         max_images; /* use at most this many readable images (0: all) */
    /* Where the images come from (folder or list), for messages; NULL: "the calibration images". */
    const char * source;
    /* Called after every batch: done of total image runs (entropy and percentile run every image
     * twice: total is twice the image count). NULL: none. */
    void (*progress)(void * user, int32_t done, int32_t total);
    /* Called once per unreadable image, with a message naming it (it is skipped). NULL: silent. */
    void (*warn)(void * user, const char * message);
    void * user;
    /* Sensitivity analysis (docs/precision.md, "Sensitivity: tensors kept in float"), run after the
     * scales are computed. On the first sens_images readable images, every int8-convertible
     * convolution input is fake-quantised alone and the cosine similarity of all outputs with fp32
     * (worst image) measured; then, from the most damaging tensor on, tensors are kept in float
     * (removed from the table) until the all-quantised cosine reaches sens_target_cosine or
     * sens_max_float tensors are kept. sens_target_cosine 0 disables the analysis. */
    double  sens_target_cosine; /* default EI_CALIB_SENS_TARGET_COSINE; 0: off */
    int32_t sens_max_float;     /* at most this many tensors kept in float; < 0 (default): a quarter */
    int32_t sens_images;        /* images for the analysis (default 8; fewer when fewer were read) */
    /* Called after every network run of the analysis (done of at most total runs). NULL: none. */
    void (*sens_progress)(void * user, int32_t done, int32_t total);
    /* The analysis also simulates the weights (default true): a convolution whose input it
     * quantises computes with the int8 kernel's weights (per output channel, EI_INT8_WEIGHT_MAX
     * steps, dequantised) and, with bias_correction, the corrected bias; false: activations only. */
    bool sens_weights;
    /* Bias correction (default true): one more pass over the images records, for every
     * convolution input with an entry, the per-channel means of the tensor and of its quantised
     * values (ei_calib_table_set_means); the INT8 rewrite adds to each convolution's bias the mean
     * output error that weight and input quantisation would cause. */
    bool bias_correction;
} ei_calib_options;

#define EI_CALIB_SENS_TARGET_COSINE 0.995
#define EI_CALIB_SENS_IMAGES        8

/* entropy, all images, sensitivity analysis on (target EI_CALIB_SENS_TARGET_COSINE), no callbacks. */
EI_API ei_calib_options ei_calib_options_default(void);

/* What ei_calibrate did. */
typedef struct ei_calib_report {
    int32_t images;  /* images used */
    int32_t skipped; /* unreadable images skipped */
    int32_t tensors; /* entries of the table */
    int32_t passes;  /* runs over the images: 1 for minmax, 2 otherwise, + 1 for bias correction */
    int32_t means;   /* tensors with channel means (bias correction) */
    double  seconds; /* everything, sensitivity analysis included */
    /* Sensitivity analysis (all 0 when it was off). */
    int32_t sens_candidates;   /* distinct convolution inputs that would be quantised */
    int32_t sens_kept;         /* of which kept in float (removed from the table) */
    int32_t sens_images;       /* images it ran on */
    int32_t sens_runs;         /* network runs */
    double  sens_cosine_all;   /* worst-image output similarity (cosine; per column for [..., L<=1024]) */
    double  sens_cosine_final; /* the same with the kept tensors in float */
    double  sens_seconds;
    char    sens_kept_names[512]; /* comma-separated, most damaging first ("..." when cut) */
} ei_calib_report;

/* Runs model (its optimised fp32 graph: from ei_engine_build with EI_PRECISION_FP32, or
 * ei_model_load_file) over the images, pre-processed as ei_infer does for cfg, in batches of the
 * model's batch size, and writes into *out a table with one entry for every float activation (the
 * graph input and every node output that is not a constant): scale = threshold / 127 for the
 * method, unsigned when no value was negative. The table records the model's ONNX SHA-256 (when
 * known), the method and the image count. Unreadable images are skipped (opt->warn); no readable
 * image is an error. report may be NULL. Caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_calibrate(const ei_model * model, const ei_infer_config * cfg,
                                             const char * const * images, int32_t n_images,
                                             const ei_calib_options * opt, ei_calib_table ** out,
                                             ei_calib_report * report);

/* SHA-256 of the ONNX bytes model was built or loaded from (engines remember it); false when
 * unknown (a model loaded from memory). */
EI_API bool ei_model_onnx_sha256(const ei_model * model, uint8_t out[32]);

#ifdef __cplusplus
}
#endif
#endif
