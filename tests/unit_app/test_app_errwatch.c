/* The error watch of `edgeinfer run` (gst/app/app_errwatch.c): an error posted inside a bin that
 * drops it (as decodebin does with the errors of an element it is still starting) never reaches the
 * bus, yet the watch reports it for the bin it was posted in, and only for that bin. */
#include <gst/gst.h>

#include "app_errwatch.h"
#include "ei_test.h"

/* A bin that drops every error of its children, like decodebin's error filter. */
typedef struct DropBin {
    GstBin parent;
} DropBin;
typedef struct DropBinClass {
    GstBinClass parent_class;
} DropBinClass;
static GType drop_bin_get_type(void);
G_DEFINE_TYPE(DropBin, drop_bin, GST_TYPE_BIN)

static void drop_bin_handle_message(GstBin * bin, GstMessage * m) {
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        gst_message_unref(m);
        return;
    }
    GST_BIN_CLASS(drop_bin_parent_class)->handle_message(bin, m);
}
static void drop_bin_class_init(DropBinClass * k) { GST_BIN_CLASS(k)->handle_message = drop_bin_handle_message; }
static void drop_bin_init(DropBin * b) { (void)b; }

static GstElement * add_bin(GstElement * pipeline, GType type, const char * name, const char * child) {
    GstElement * bin = g_object_new(type, "name", name, NULL);
    GstElement * c = gst_element_factory_make("identity", child);
    EI_CHECK(bin && c);
    gst_bin_add(GST_BIN(bin), c);
    gst_bin_add(GST_BIN(pipeline), bin);
    return bin;
}

static GstElement * child(GstElement * bin, const char * name) {
    GstElement * c = gst_bin_get_by_name(GST_BIN(bin), name);
    EI_CHECK(c != NULL);
    gst_object_unref(c); /* the bin holds it */
    return c;
}

int main(void) {
    gst_init(NULL, NULL);
    EI_CHECK(ei_app_errwatch_install());
    EI_CHECK(ei_app_errwatch_install()); /* a second call changes nothing */

    GstElement * pipeline = gst_pipeline_new("p");
    GstElement * src1 = add_bin(pipeline, drop_bin_get_type(), "src1", "demux");
    GstElement * src10 = add_bin(pipeline, drop_bin_get_type(), "src10", "dec");
    GstElement * src2 = add_bin(pipeline, GST_TYPE_BIN, "src2", "parse");
    GstBus *     bus = gst_element_get_bus(pipeline);

    gint64 t0 = g_get_monotonic_time();
    EI_CHECK(ei_app_errwatch_latest(src1, 0, NULL) == NULL);
    GstElement * demux = child(src1, "demux");
    GST_ELEMENT_ERROR(demux, STREAM, DEMUX, ("no playable streams"), ("test"));

    /* dropped: nothing on the bus */
    GstMessage * m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    EI_CHECK(m == NULL);
    if (m) gst_message_unref(m);

    gint64 when = 0;
    char * what = ei_app_errwatch_latest(src1, 0, &when);
    EI_CHECK(what != NULL);
    if (what) EI_CHECK(!strcmp(what, "demux: no playable streams"));
    g_free(what);
    EI_CHECK(when >= t0 && when <= g_get_monotonic_time());
    EI_CHECK(ei_app_errwatch_latest(src1, when, NULL) == NULL); /* only errors after `since` */
    EI_CHECK(ei_app_errwatch_latest(src10, 0, NULL) == NULL);   /* src1 is a prefix of src10's name */
    EI_CHECK(ei_app_errwatch_latest(src2, 0, NULL) == NULL);    /* another source */
    EI_CHECK(ei_app_errwatch_latest(demux, 0, NULL) == NULL);   /* the poster itself is not inside */
    what = ei_app_errwatch_latest(pipeline, 0, NULL);           /* inside the pipeline too */
    EI_CHECK(what != NULL);
    g_free(what);

    /* An error inside src10 is src10's only; the newest error of a bin comes first. */
    GST_ELEMENT_ERROR(child(src10, "dec"), STREAM, DECODE, ("bad frame"), (NULL));
    what = ei_app_errwatch_latest(src10, 0, NULL);
    EI_CHECK(what && !strcmp(what, "dec: bad frame"));
    g_free(what);
    GST_ELEMENT_ERROR(demux, STREAM, DEMUX, ("second"), (NULL));
    what = ei_app_errwatch_latest(src1, 0, NULL);
    EI_CHECK(what && !strcmp(what, "demux: second"));
    g_free(what);

    /* a bin that passes errors on: they reach the bus, and are seen too */
    GST_ELEMENT_ERROR(child(src2, "parse"), STREAM, FAILED, ("passed on"), (NULL));
    m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    EI_CHECK(m != NULL);
    if (m) gst_message_unref(m);
    what = ei_app_errwatch_latest(src2, 0, NULL);
    EI_CHECK(what && !strcmp(what, "parse: passed on"));
    g_free(what);

    /* more errors than the watch keeps: the newest stay */
    for (int i = 0; i < 100; i++) GST_ELEMENT_ERROR(child(src10, "dec"), STREAM, DECODE, ("flood"), (NULL));
    GST_ELEMENT_ERROR(demux, STREAM, DEMUX, ("after the flood"), (NULL));
    what = ei_app_errwatch_latest(src1, 0, NULL);
    EI_CHECK(what && !strcmp(what, "demux: after the flood"));
    g_free(what);

    ei_app_errwatch_clear();
    EI_CHECK(ei_app_errwatch_latest(src1, 0, NULL) == NULL);
    EI_CHECK(ei_app_errwatch_latest(pipeline, 0, NULL) == NULL);

    while ((m = gst_bus_pop(bus))) gst_message_unref(m);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
    gst_deinit();
    EI_TEST_EXIT();
}
