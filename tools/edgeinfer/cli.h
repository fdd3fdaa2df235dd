/* Shared pieces of the edgeinfer command-line tool. */
#ifndef EI_TOOLS_CLI_H
#define EI_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "edgeinfer/edgeinfer.h"

/* Exit codes (README "Exit codes"): 0 success; 2 usage; 3 invalid model, input or argument;
 * 4 unsupported; 5 missing file or I/O error; 6 out of memory, device or internal error. */
enum {
    EI_EXIT_OK = 0,
    EI_EXIT_USAGE = 2,
    EI_EXIT_INVALID = 3,
    EI_EXIT_UNSUPPORTED = 4,
    EI_EXIT_IO = 5,
    EI_EXIT_INTERNAL = 6,
};

/* Prints "error: <message>" and returns the exit code for st's code; destroys st. */
int ei_cli_fail(ei_status * st);
/* Prints "error: <message>\n<hint>" for a usage mistake and returns EI_EXIT_USAGE. */
int ei_cli_usage_error(const char * cmd, const char * fmt, ...) __attribute__((format(printf, 2, 3)));
/* True for -h / --help. */
bool ei_cli_is_help(const char * arg);
/* In builds with oneDNN (OpenMP), makes libgomp start with edgeinfer's wait policy unless the user
 * set OMP_WAIT_POLICY or GOMP_SPINCOUNT: sets the variable and re-executes the program once
 * (omp_policy.c). Returns when nothing is to be done or the exec failed. Call first in main(). */
void ei_cli_apply_omp_policy(char ** argv);
/* One line saying which OpenMP wait policy this process runs with (nothing without oneDNN). */
void ei_cli_print_omp_policy(FILE * f);
/* Reads a --category-ids file (one integer per line, blank lines skipped); errors name the file
 * and line. Caller frees *ids. */
ei_status * ei_cli_read_category_ids(const char * path, int64_t ** ids, int32_t * n);
/* `bench --profile`: runs s (inputs set) at least min_runs times and min_ms, timing every node,
 * and prints the time per operator type and the top slowest nodes to f (bench_profile.c). */
ei_status * ei_bench_profile(ei_session * s, double min_ms, long min_runs, int top, FILE * f);
/* Writes s as a JSON string literal (quotes, escapes). */
void ei_cli_json_string(FILE * f, const char * s);

/* Whether `run`'s arguments (argv[0] = "run") name a streaming application config (cmd_run.c). */
bool ei_cli_run_is_app(int argc, char ** argv);

int ei_cmd_info(int argc, char ** argv);
int ei_cmd_run(int argc, char ** argv);
int ei_cmd_ops(int argc, char ** argv);
int ei_cmd_bench(int argc, char ** argv);
int ei_cmd_build(int argc, char ** argv);
int ei_cmd_detect(int argc, char ** argv);
int ei_cmd_segment(int argc, char ** argv);
int ei_cmd_eval(int argc, char ** argv);

/* Internal (not in the public API): the supported operator list, for `edgeinfer ops`. */
int32_t      ei_ops_count(void);
const char * ei_ops_name(int32_t i);

#endif
