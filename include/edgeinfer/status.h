/* One status type for every fallible call. NULL means success; a non-NULL status carries a
 * code and a message and is owned by the caller, who frees it with ei_status_destroy(). */
#ifndef EDGEINFER_STATUS_H
#define EDGEINFER_STATUS_H

#include "edgeinfer/api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ei_status ei_status;

typedef enum ei_code {
    EI_CODE_OK = 0,
    EI_CODE_INVALID_ARGUMENT, /* the caller passed something wrong (name, shape, option) */
    EI_CODE_INVALID_MODEL,    /* the ONNX file is malformed, hostile or inconsistent */
    EI_CODE_UNSUPPORTED,      /* valid, but not something edgeinfer implements (yet) */
    EI_CODE_NOT_FOUND,        /* a file, input, output or attribute that does not exist */
    EI_CODE_IO,               /* the operating system refused a read or write */
    EI_CODE_CORRUPT_ENGINE,   /* an engine file failed its checks */
    EI_CODE_OUT_OF_MEMORY,
    EI_CODE_DEVICE,   /* no such device, or the device failed */
    EI_CODE_INTERNAL, /* a bug in edgeinfer: please report it */
} ei_code;

EI_API ei_code      ei_status_code(const ei_status * st);    /* EI_CODE_OK for NULL */
EI_API const char * ei_status_message(const ei_status * st); /* "" for NULL; valid until destroy */
EI_API const char * ei_code_name(ei_code code);              /* static string, e.g. "invalid model" */
EI_API void         ei_status_destroy(ei_status * st);       /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
