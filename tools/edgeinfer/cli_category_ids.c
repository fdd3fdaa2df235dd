/* --category-ids FILE of `edgeinfer detect` and `edgeinfer eval`: line i is the COCO category_id
 * of class i. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/status.h"

ei_status * ei_cli_read_category_ids(const char * path, int64_t ** ids, int32_t * n) {
    *ids = NULL;
    *n = 0;
    FILE * f = fopen(path, "r");
    if (!f) return ei_errorf(EI_CODE_NOT_FOUND, "--category-ids: cannot open '%s': %s", path, strerror(errno));
    int64_t *   v = NULL;
    int32_t     cap = 0, count = 0, line = 0;
    char        buf[256];
    ei_status * st = NULL;
    while (!st && fgets(buf, sizeof buf, f)) {
        line++;
        char * s = buf;
        while (isspace((unsigned char)*s)) s++;
        if (!*s) continue;
        char *    e;
        long long x = strtoll(s, &e, 10);
        while (isspace((unsigned char)*e)) e++;
        if (*e || e == s) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "--category-ids %s:%d: '%.*s' is not an integer", path, (int)line,
                           (int)strcspn(s, "\r\n"), s);
            break;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 128;
            int64_t * g = realloc(v, (size_t)cap * sizeof *g);
            if (!g) {
                st = ei_status_oom();
                break;
            }
            v = g;
        }
        v[count++] = x;
    }
    fclose(f);
    if (st) {
        free(v);
        return st;
    }
    *ids = v;
    *n = count;
    return NULL;
}
