/* A small RTSP server for the reconnect tests of `edgeinfer run` (app_run_test.sh, case
 * rtsp_reconnect): serves a live H.264 test pattern at rtsp://127.0.0.1:PORT/test with
 * gst-rtsp-server (the library the app's RTSP sink uses), prints "ready" once it listens, and runs
 * until it is killed (the test kills it with SIGKILL mid-stream, as a crashed camera) or for at
 * most LIFETIME seconds, so that a test that fails cannot leave it behind.
 *
 * usage: rtsp_test_server PORT [LIFETIME_S]   exit 0 after LIFETIME_S or SIGINT/SIGTERM, 2 bad
 * usage, 1 when the port cannot be bound. */
#include <stdio.h>
#include <stdlib.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

static gboolean quit(gpointer loop) {
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char ** argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: rtsp_test_server PORT [LIFETIME_S]\n");
        return 2;
    }
    char * end = NULL;
    long   port = strtol(argv[1], &end, 10);
    long   life = argc > 2 ? strtol(argv[2], NULL, 10) : 120;
    if (!end || *end || port < 1 || port > 65535 || life < 1) {
        fprintf(stderr, "rtsp_test_server: bad PORT or LIFETIME_S\n");
        return 2;
    }
    gst_init(NULL, NULL);
    GMainLoop *     loop = g_main_loop_new(NULL, FALSE);
    GstRTSPServer * server = gst_rtsp_server_new();
    gchar *         service = g_strdup_printf("%ld", port);
    g_object_set(server, "service", service, "address", "127.0.0.1", NULL);
    g_free(service);
    GstRTSPMountPoints *  mounts = gst_rtsp_server_get_mount_points(server);
    GstRTSPMediaFactory * factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(factory, "( videotestsrc is-live=true pattern=ball ! "
                                               "video/x-raw,width=160,height=120,framerate=25/1 ! "
                                               "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! "
                                               "rtph264pay name=pay0 pt=96 config-interval=1 )");
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    gst_rtsp_mount_points_add_factory(mounts, "/test", factory);
    g_object_unref(mounts);
    guint id = gst_rtsp_server_attach(server, NULL);
    int   rc = 0;
    if (!id) {
        fprintf(stderr, "rtsp_test_server: cannot listen on 127.0.0.1:%ld\n", port);
        rc = 1;
    } else {
        printf("ready rtsp://127.0.0.1:%ld/test\n", port);
        fflush(stdout);
        g_timeout_add_seconds((guint)life, quit, loop);
        g_unix_signal_add(SIGINT, quit, loop);
        g_unix_signal_add(SIGTERM, quit, loop);
        g_main_loop_run(loop);
        g_source_remove(id);
    }
    g_object_unref(server);
    g_main_loop_unref(loop);
    return rc;
}
