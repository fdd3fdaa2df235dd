/* The runner of `edgeinfer run APP.ini` (docs/app-run.md): reads the application config, builds
 * the pipeline (app_pipeline.h), runs it until every source ended (or SIGINT/SIGTERM, or an
 * error), restarts RTSP/UDP sources that fail or stall, and reports per-source FPS and per-stage
 * latency (app_perf.h). */
#ifndef EI_APP_RUN_H
#define EI_APP_RUN_H

/* Exit codes (docs/app-run.md "Exit codes"), the same numbers as the rest of the CLI. */
enum {
    EI_APP_EXIT_OK = 0,       /* every source ended, or interrupted by SIGINT/SIGTERM, outputs finalised */
    EI_APP_EXIT_ERROR = 1,    /* the pipeline stopped on an error, or every source failed */
    EI_APP_EXIT_USAGE = 2,    /* bad option */
    EI_APP_EXIT_INVALID = 3,  /* bad config or pipeline description */
    EI_APP_EXIT_IO = 5,       /* missing config file, unwritable --dot/--perf-json output */
    EI_APP_EXIT_FORCED = 130, /* a second SIGINT/SIGTERM: stopped without finalising */
};

/* argv[0] is "run", argv[1] the APP.ini (or options); returns the exit code. */
int ei_app_main(int argc, char ** argv);

/* What `edgeinfer run --help` shows for this form. */
void ei_app_print_usage(void);

#endif
