/* Runs ONNX backend node tests (tests/conformance/gen_node_tests.py writes them) through the
 * importer and the CPU runtime, compares with the expected outputs like onnx's own runner
 * (|a - b| <= atol + rtol * |b|, rtol 1e-3, atol 1e-7; integers and bools exactly) and prints a
 * per-operator table. Tests listed in an expected-failures file (`name  reason`) may fail; any
 * other failure makes the run fail.
 *
 * Inputs that fix shapes (a Reshape's shape, Resize scales...) are graph inputs in many node tests;
 * edgeinfer has static shapes, so when loading fails for that reason the test is retried with the
 * integer inputs, then all inputs, frozen to their test values (`frozen` in verbose output). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "core/tensor.h"
#include "edgeinfer/edgeinfer.h"

#define MAX_IO    32
#define MAX_TESTS 8192

typedef struct expected {
    char name[160];
    char reason[400];
    bool seen;
} expected;

static expected g_expected[2048];
static int      g_n_expected;
static bool     g_verbose;

static void load_expected(const char * path) {
    FILE * f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "warning: cannot read expected failures '%s'\n", path);
        return;
    }
    char line[1024];
    while (fgets(line, sizeof line, f) && g_n_expected < 2048) {
        char * p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || !*p) continue;
        expected * e = &g_expected[g_n_expected];
        size_t     n = strcspn(p, " \t\n");
        if (n >= sizeof e->name) continue;
        memcpy(e->name, p, n);
        e->name[n] = 0;
        p += n;
        while (*p == ' ' || *p == '\t') p++;
        snprintf(e->reason, sizeof e->reason, "%s", p);
        e->reason[strcspn(e->reason, "\n")] = 0;
        g_n_expected++;
    }
    fclose(f);
}

static expected * find_expected(const char * name) {
    for (int i = 0; i < g_n_expected; i++)
        if (!strcmp(g_expected[i].name, name)) return &g_expected[i];
    return NULL;
}

static bool file_exists(const char * p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static char * read_line_file(const char * path, char * buf, size_t n) {
    FILE * f = fopen(path, "r");
    buf[0] = 0;
    if (!f) return buf;
    if (fgets(buf, (int)n, f)) buf[strcspn(buf, "\n")] = 0;
    fclose(f);
    return buf;
}

/* Reads a .pb tensor and its name (ei_tensor_load_file drops the name). */
static ei_status * load_pb(const char * path, ei_tensor ** t, char * name, size_t name_n);

#include "onnx/onnx_pb.h"
#include "onnx/onnx_tensor.h"

static ei_status * load_pb(const char * path, ei_tensor ** t, char * name, size_t name_n) {
    FILE * f = fopen(path, "rb");
    if (!f) return ei_errorf(EI_CODE_NOT_FOUND, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t * buf = malloc((size_t)sz + 1);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        free(buf);
        return ei_errorf(EI_CODE_IO, "cannot read %s", path);
    }
    fclose(f);
    ei_onnx_tensor * ot = NULL;
    ei_status *      st = ei_onnx_parse_tensor(buf, (size_t)sz, &ot);
    if (!st) {
        snprintf(name, name_n, "%.*s", (int)ot->name.n, (const char *)ot->name.p);
        st = ei_onnx_tensor_convert(ot, false, NULL, path, t);
    }
    ei_onnx_tensor_free(ot);
    free(buf);
    return st;
}

typedef struct dataset {
    int         n_in, n_out;
    ei_tensor * in[MAX_IO];
    char        in_name[MAX_IO][128];
    ei_tensor * out[MAX_IO];
} dataset;

static void dataset_free(dataset * d) {
    for (int i = 0; i < d->n_in; i++) ei_tensor_destroy(d->in[i]);
    for (int i = 0; i < d->n_out; i++) ei_tensor_destroy(d->out[i]);
    memset(d, 0, sizeof *d);
}

static ei_status * dataset_load(const char * dir, dataset * d) {
    memset(d, 0, sizeof *d);
    char path[4096], oname[128];
    for (int i = 0; i < MAX_IO; i++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", dir, i);
        if (!file_exists(path)) break;
        EI_TRY(load_pb(path, &d->in[i], d->in_name[i], sizeof d->in_name[i]));
        d->n_in = i + 1;
    }
    for (int i = 0; i < MAX_IO; i++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", dir, i);
        if (!file_exists(path)) break;
        EI_TRY(load_pb(path, &d->out[i], oname, sizeof oname));
        d->n_out = i + 1;
    }
    return NULL;
}

static bool is_int_dtype(ei_dtype dt) { return !ei_dtype_is_float(dt); }

/* Compares one output; writes a description of the first mismatch into msg. */
static bool compare(const ei_tensor * got, const ei_tensor * want, char * msg, size_t n) {
    char a[128], b[128];
    if (got->dtype != want->dtype) {
        snprintf(msg, n, "dtype %s, expected %s", ei_dtype_name(got->dtype), ei_dtype_name(want->dtype));
        return false;
    }
    if (!ei_shape_equal(&got->shape, &want->shape)) {
        snprintf(msg, n, "shape %s, expected %s", ei_shape_format(&got->shape, a, sizeof a),
                 ei_shape_format(&want->shape, b, sizeof b));
        return false;
    }
    int64_t numel = ei_shape_numel(&want->shape);
    for (int64_t i = 0; i < numel; i++) {
        if (is_int_dtype(want->dtype)) {
            bool eq = want->dtype == EI_DTYPE_U64
                          ? ((const uint64_t *)got->data)[i] == ((const uint64_t *)want->data)[i]
                          : ei_tensor_get_i64(got, i) == ei_tensor_get_i64(want, i);
            if (!eq) {
                snprintf(msg, n, "element %lld is %lld, expected %lld", (long long)i,
                         (long long)ei_tensor_get_i64(got, i), (long long)ei_tensor_get_i64(want, i));
                return false;
            }
            continue;
        }
        double x = ei_tensor_get_f64(got, i), y = ei_tensor_get_f64(want, i);
        if (isnan(y) && isnan(x)) continue;
        if (isinf(y) && x == y) continue;
        double rtol = 1e-3, atol = 1e-7;
        if (want->dtype == EI_DTYPE_F16 || want->dtype == EI_DTYPE_BF16) atol = 1e-3;
        if (!(fabs(x - y) <= atol + rtol * fabs(y))) {
            snprintf(msg, n, "element %lld is %.9g, expected %.9g", (long long)i, x, y);
            return false;
        }
    }
    return true;
}

typedef enum { FREEZE_NONE, FREEZE_INTS, FREEZE_ALL } freeze_mode;

static ei_status * run_dataset(const char * model_path, dataset * d, freeze_mode fm, char * msg, size_t msg_n,
                               bool * ok) {
    *ok = false;
    ei_model_options  opt = ei_model_options_default();
    char              shapes[8192] = "";
    size_t            used = 0;
    const char *      fnames[MAX_IO];
    const ei_tensor * fvals[MAX_IO];
    int               nf = 0;
    for (int i = 0; i < d->n_in; i++) {
        bool freeze = fm == FREEZE_ALL ||
                      (fm == FREEZE_INTS && (d->in[i]->dtype == EI_DTYPE_I64 || d->in[i]->dtype == EI_DTYPE_I32));
        if (freeze) {
            fnames[nf] = d->in_name[i];
            fvals[nf++] = d->in[i];
            continue;
        }
        char dims[200];
        ei_shape_format(&d->in[i]->shape, dims, sizeof dims);
        if (d->in[i]->shape.rank == 0) dims[0] = 0;
        int w = snprintf(shapes + used, sizeof shapes - used, "%s%s:%s", used ? "," : "", d->in_name[i], dims);
        if (w > 0) used += (size_t)w;
    }
    opt.input_shapes = shapes;
    opt.n_frozen_inputs = nf;
    opt.frozen_input_names = fnames;
    opt.frozen_input_values = fvals;
    ei_model *   m = NULL;
    ei_session * s = NULL;
    EI_TRY(ei_model_load_file(model_path, &opt, &m));
    ei_status * st = ei_session_create(m, NULL, &s);
    for (int i = 0; !st && i < ei_model_input_count(m); i++) {
        const char * name = ei_model_input_name(m, i);
        int          k = 0;
        while (k < d->n_in && strcmp(d->in_name[k], name)) k++;
        if (k == d->n_in)
            st = ei_errorf(EI_CODE_NOT_FOUND, "no test data for input '%s'", name);
        else
            st = ei_session_set_input(s, name, d->in[k]);
    }
    if (!st) st = ei_session_run(s);
    if (!st) {
        *ok = true;
        if (ei_model_output_count(m) != d->n_out) {
            snprintf(msg, msg_n, "%d outputs, expected %d", ei_model_output_count(m), d->n_out);
            *ok = false;
        }
        for (int i = 0; *ok && i < d->n_out; i++) {
            char sub[300];
            if (!compare(ei_session_output(s, i), d->out[i], sub, sizeof sub)) {
                snprintf(msg, msg_n, "output %d ('%s'): %s", i, ei_model_output_name(m, i), sub);
                *ok = false;
            }
        }
    }
    ei_session_destroy(s);
    ei_model_destroy(m);
    return st;
}

typedef struct op_row {
    char op[64];
    int  total, pass, xfail, fail;
} op_row;

static op_row g_rows[512];
static int    g_n_rows;

static op_row * row_for(const char * op) {
    for (int i = 0; i < g_n_rows; i++)
        if (!strcmp(g_rows[i].op, op)) return &g_rows[i];
    if (g_n_rows == 512) return &g_rows[511];
    snprintf(g_rows[g_n_rows].op, sizeof g_rows[0].op, "%s", op);
    return &g_rows[g_n_rows++];
}

/* Runs every data set of one test; returns true when all pass. */
static bool run_test(const char * dir, char * msg, size_t msg_n, const char ** mode) {
    char model[4096];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    *mode = "";
    msg[0] = 0;
    for (int ds = 0; ds < 64; ds++) {
        char dsdir[4096];
        snprintf(dsdir, sizeof dsdir, "%s/test_data_set_%d", dir, ds);
        if (!file_exists(dsdir)) return ds > 0 || (snprintf(msg, msg_n, "no data sets"), false);
        dataset     d;
        ei_status * st = dataset_load(dsdir, &d);
        bool        ok = false;
        if (!st) {
            static const freeze_mode  modes[] = {FREEZE_NONE, FREEZE_INTS, FREEZE_ALL};
            static const char * const names[] = {"", "frozen ints", "frozen inputs"};
            for (int mi = 0; mi < 3; mi++) {
                ei_status_destroy(st);
                st = run_dataset(model, &d, modes[mi], msg, msg_n, &ok);
                *mode = names[mi];
                if (!st || !strstr(ei_status_message(st), "must be known when the model loads")) break;
            }
        }
        dataset_free(&d);
        if (st) {
            snprintf(msg, msg_n, "%s: %s", ei_code_name(ei_status_code(st)), ei_status_message(st));
            ei_status_destroy(st);
            return false;
        }
        if (!ok) return false;
    }
    return true;
}

static int cmp_str(const void * a, const void * b) { return strcmp(*(char * const *)a, *(char * const *)b); }

static bool op_selected(const char * ops, const char * op) {
    if (!ops) return true;
    size_t n = strlen(op);
    for (const char * p = ops; *p;) {
        const char * e = strchr(p, ',');
        size_t       l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncmp(p, op, n)) return true;
        p += l + (e ? 1 : 0);
    }
    return false;
}

int main(int argc, char ** argv) {
    const char * dir = NULL;
    const char * ops = NULL;
    const char * report = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v"))
            g_verbose = true;
        else if (!strcmp(argv[i], "--ops") && i + 1 < argc)
            ops = argv[++i];
        else if (!strcmp(argv[i], "--expected") && i + 1 < argc)
            load_expected(argv[++i]);
        else if (!strcmp(argv[i], "--report") && i + 1 < argc)
            report = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: ei_node_tests DIR [--ops A,B] [--expected FILE]... [--report FILE.md] [-v]\n");
            return 0;
        } else
            dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: ei_node_tests DIR [--ops A,B] [--expected FILE]... [--report FILE.md] [-v]\n");
        return 2;
    }
    DIR * dh = opendir(dir);
    if (!dh) {
        printf("skipped: no node tests in '%s' (run gen_node_tests.py)\n", dir);
        return 77;
    }
    char **         names = malloc(MAX_TESTS * sizeof *names);
    int             n = 0;
    struct dirent * de;
    while ((de = readdir(dh)) && n < MAX_TESTS)
        if (!strncmp(de->d_name, "test_", 5)) names[n++] = strdup(de->d_name);
    closedir(dh);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int unexpected = 0, xpass = 0, ran = 0;
    for (int i = 0; i < n; i++) {
        char path[4096], op[64], msg[1200];
        snprintf(path, sizeof path, "%s/%s/op.txt", dir, names[i]);
        read_line_file(path, op, sizeof op);
        if (!op[0] || !op_selected(ops, op)) continue;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        const char * mode;
        bool         ok = run_test(path, msg, sizeof msg, &mode);
        expected *   e = find_expected(names[i]);
        op_row *     r = row_for(op);
        r->total++;
        ran++;
        if (e) e->seen = true;
        if (ok) {
            r->pass++;
            if (e) {
                xpass++;
                printf("XPASS %s (listed as expected failure: %s)\n", names[i], e->reason);
            } else if (g_verbose) {
                printf("pass  %s%s%s\n", names[i], mode[0] ? "  " : "", mode);
            }
        } else if (e) {
            r->xfail++;
            if (g_verbose) printf("xfail %s: %s\n", names[i], msg);
        } else {
            r->fail++;
            unexpected++;
            printf("FAIL  %s: %s\n", names[i], msg);
        }
    }
    printf("\n%-28s %6s %6s %6s %6s\n", "operator", "tests", "pass", "xfail", "FAIL");
    int tp = 0, tx = 0, tf = 0, tt = 0;
    for (int i = 0; i < g_n_rows; i++) {
        op_row * r = &g_rows[i];
        printf("%-28s %6d %6d %6d %6d\n", r->op, r->total, r->pass, r->xfail, r->fail);
        tt += r->total, tp += r->pass, tx += r->xfail, tf += r->fail;
    }
    printf("%-28s %6d %6d %6d %6d\n", "total", tt, tp, tx, tf);
    if (report) {
        FILE * f = fopen(report, "w");
        if (f) {
            fprintf(f,
                    "| operator | tests | pass | expected failures | unexpected failures |\n|---|---|---|---|---|\n");
            for (int i = 0; i < g_n_rows; i++)
                fprintf(f, "| %s | %d | %d | %d | %d |\n", g_rows[i].op, g_rows[i].total, g_rows[i].pass,
                        g_rows[i].xfail, g_rows[i].fail);
            fprintf(f, "| **total** | %d | %d | %d | %d |\n", tt, tp, tx, tf);
            fclose(f);
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (xpass) printf("%d test(s) listed as expected failures now pass: remove them from the list\n", xpass);
    printf("%d passed, %d failed\n", tp + tx, tf);
    if (!ran) {
        printf("skipped: no node tests matched\n");
        return 77;
    }
    return unexpected ? 1 : 0;
}
