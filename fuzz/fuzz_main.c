/* Replay driver for fuzz targets built without libFuzzer: runs every file named on the command
 * line, and every regular file inside each directory named there (one level), through
 * LLVMFuzzerTestOneInput. Arguments that start with '-' are ignored, so that the libFuzzer
 * command line "fuzz_onnx -runs=0 corpus/onnx" works with both builds. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

/* Reads a whole file into an exactly-sized buffer so that AddressSanitizer catches a read one
 * byte past the end. */
static int ei_fz_run_file(const char * path) {
    FILE * f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz replay: cannot open %s\n", path);
        return 1;
    }
    uint8_t * buf = NULL;
    size_t    n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            size_t    ncap = cap ? cap * 2 : 4096;
            uint8_t * p = realloc(buf, ncap);
            if (!p) break;
            buf = p, cap = ncap;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    uint8_t * exact = malloc(n ? n : 1);
    if (err || !exact) {
        fprintf(stderr, "fuzz replay: cannot read %s\n", path);
        free(buf);
        free(exact);
        return 1;
    }
    if (n) memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int ei_fz_run_dir(const char * dir, int * runs) {
    DIR * d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz replay: cannot open directory %s\n", dir);
        return 1;
    }
    int             fails = 0;
    struct dirent * e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        size_t n = strlen(dir) + 1 + strlen(e->d_name) + 1;
        char * path = malloc(n);
        if (!path) {
            fails++;
            break;
        }
        snprintf(path, n, "%s/%s", dir, e->d_name);
        struct stat s;
        if (stat(path, &s) == 0 && S_ISREG(s.st_mode)) {
            fails += ei_fz_run_file(path);
            ++*runs;
        }
        free(path);
    }
    closedir(d);
    return fails;
}

int main(int argc, char ** argv) {
    int fails = 0, runs = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        struct stat s;
        if (stat(argv[i], &s) == 0 && S_ISDIR(s.st_mode)) {
            fails += ei_fz_run_dir(argv[i], &runs);
        } else {
            fails += ei_fz_run_file(argv[i]);
            runs++;
        }
    }
    printf("fuzz replay: %d inputs, %d unreadable\n", runs, fails);
    return fails ? 1 : 0;
}
