#include "core/status.h"

#include <stdarg.h>
#include <string.h>

struct ei_status {
    ei_code code;
    char *  message;
};

/* Returned when building a status itself fails; never freed, so the error path cannot allocate. */
static ei_status g_oom = {EI_CODE_OUT_OF_MEMORY, (char *)"out of memory"};

ei_status * ei_status_oom(void) { return &g_oom; }

static char * vformat(const char * fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NULL;
    char * buf = malloc((size_t)n + 1);
    if (!buf) return NULL;
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    return buf;
}

ei_status * ei_errorf(ei_code code, const char * fmt, ...) {
    ei_status * st = malloc(sizeof *st);
    if (!st) return &g_oom;
    va_list ap;
    va_start(ap, fmt);
    st->message = vformat(fmt, ap);
    va_end(ap);
    if (!st->message) {
        free(st);
        return &g_oom;
    }
    st->code = code == EI_CODE_OK ? EI_CODE_INTERNAL : code;
    return st;
}

ei_status * ei_status_wrapf(ei_status * st, const char * fmt, ...) {
    if (!st || st == &g_oom) return st;
    va_list ap;
    va_start(ap, fmt);
    char * prefix = vformat(fmt, ap);
    va_end(ap);
    if (!prefix) return st;
    size_t np = strlen(prefix), nm = strlen(st->message);
    char * msg = malloc(np + 2 + nm + 1);
    if (msg) {
        memcpy(msg, prefix, np);
        memcpy(msg + np, ": ", 2);
        memcpy(msg + np + 2, st->message, nm + 1);
        free(st->message);
        st->message = msg;
    }
    free(prefix);
    return st;
}

ei_code ei_status_code(const ei_status * st) { return st ? st->code : EI_CODE_OK; }

const char * ei_status_message(const ei_status * st) { return st ? st->message : ""; }

const char * ei_code_name(ei_code code) {
    switch (code) {
    case EI_CODE_OK: return "ok";
    case EI_CODE_INVALID_ARGUMENT: return "invalid argument";
    case EI_CODE_INVALID_MODEL: return "invalid model";
    case EI_CODE_UNSUPPORTED: return "unsupported";
    case EI_CODE_NOT_FOUND: return "not found";
    case EI_CODE_IO: return "i/o error";
    case EI_CODE_CORRUPT_ENGINE: return "corrupt engine";
    case EI_CODE_OUT_OF_MEMORY: return "out of memory";
    case EI_CODE_DEVICE: return "device error";
    case EI_CODE_INTERNAL: return "internal error";
    }
    return "unknown";
}

void ei_status_destroy(ei_status * st) {
    if (!st || st == &g_oom) return;
    free(st->message);
    free(st);
}
