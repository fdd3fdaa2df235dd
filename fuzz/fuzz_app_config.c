/* The application config parser and the pipeline description on hostile bytes: GKeyFile's INI
 * grammar, every typed value, the cross-group checks, then the description of whatever parsed (it
 * must always describe a parsed config). parse touches no file. */
#include <stdint.h>
#include <stdlib.h>

#include "app_config.h"
#include "app_pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

static void quiet(void * user, const char * msg) {
    (void)user;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    ei_app_config * cfg = NULL;
    ei_status *     st = ei_app_config_parse((const char *)data, size, "fuzz.ini", "/fuzz", quiet, NULL, &cfg);
    if (!st && !cfg) abort(); /* success must hand back a config */
    if (st && cfg) abort();   /* failure must not */
    ei_status_destroy(st);
    if (cfg) {
        ei_status * err = NULL;
        char *      d = ei_app_pipeline_describe(cfg, &err);
        if (!d || err) abort(); /* every parsed config has a description */
        g_free(d);
        int                  n = 0;
        ei_app_rtsp_server * rs = ei_app_rtsp_servers(cfg, &n);
        ei_app_rtsp_servers_free(rs, n);
    }
    ei_app_config_free(cfg);
    return 0;
}
