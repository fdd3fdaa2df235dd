/* A segmentation config (DeepLabV3, 257x257) through edgeinfer: each frame's meta carries a label
 * mask of the frame's size whose class_pixels sum to the labelled pixels, equal to ei_infer's. */
#include "gst_infer_common.h"

static void test_segment(void) {
    char * image = asset_path("images/darknet/dog.jpg");
    char * model = asset_path("models/segmentation/deeplabv3_mnv2_voc_257.onnx");
    char * config = localised_config("deeplabv3_voc.ini", NULL);
    Ref    ref;
    ref_open(&ref, config);
    ei_image img = {0};
    EI_CHECK_OK(ei_image_load(image, EI_PIXEL_RGB, &img));
    gchar *      desc = g_strdup_printf("appsrc name=src format=time ! edgeinfer config-file-path=\"%s\" ! "
                                             "appsink name=sink sync=false",
                                        config);
    GstElement * p = gst_parse_launch(desc, NULL);
    EI_CHECK(p != NULL);
    if (!p) exit(1);
    GstAppSrc *  src = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(p), "src"));
    GstAppSink * sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(p), "sink"));
    GstVideoInfo info;
    gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, (guint)img.width, (guint)img.height);
    GstCaps * caps = gst_video_info_to_caps(&info);
    gst_app_src_set_caps(src, caps);
    gst_caps_unref(caps);
    EI_CHECK(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    const int n_frames = 2;
    for (int i = 0; i < n_frames; i++) {
        GstBuffer *   buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
        GstVideoFrame vf;
        gst_video_frame_map(&vf, &info, buf, GST_MAP_WRITE);
        for (int y = 0; y < img.height; y++)
            memcpy((guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, 0) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0),
                   img.plane[0] + (size_t)y * (size_t)img.stride[0], (size_t)img.width * 3);
        gst_video_frame_unmap(&vf);
        GST_BUFFER_PTS(buf) = (GstClockTime)i * GST_SECOND;
        EI_CHECK(gst_app_src_push_buffer(src, buf) == GST_FLOW_OK);
    }
    gst_app_src_end_of_stream(src);
    ei_frame_result res = {0};
    EI_CHECK_OK(ei_infer_run(ref.inf, &img, 1, &res));
    int n = 0;
    for (GstSample * s; (s = gst_app_sink_pull_sample(sink)) != NULL; n++) {
        GstEiFrameMeta * m = gst_buffer_get_ei_frame_meta(gst_sample_get_buffer(s));
        EI_CHECK(m != NULL);
        if (m) {
            EI_CHECK(m->inferred && m->n_objects == 0 && m->mask && m->class_pixels);
            EI_CHECK(m->mask_width == img.width && m->mask_height == img.height);
            EI_CHECK(m->frame_width == img.width && m->frame_height == img.height);
            EI_CHECK(m->n_classes == 21);
            gint64 sum = 0, labelled = 0;
            for (gint c = 0; m->class_pixels && c < m->n_classes; c++) sum += m->class_pixels[c];
            for (gint64 k = 0; m->mask && k < (gint64)m->mask_width * m->mask_height; k++)
                labelled += m->mask[k] != 255;
            EI_CHECK(sum == labelled && sum > 0);
            EI_CHECK(res.seg.labels && memcmp(m->mask, res.seg.labels, (size_t)img.width * (size_t)img.height) == 0);
            for (gint c = 0; res.seg.pixel_count && c < m->n_classes; c++)
                EI_CHECK(m->class_pixels[c] == (gint64)res.seg.pixel_count[c]);
            printf("frame %d: %dx%d mask, %" G_GINT64_FORMAT " labelled pixels, dog (12): %" G_GINT64_FORMAT "\n", n,
                   m->mask_width, m->mask_height, sum, m->class_pixels[12]);
        }
        gst_sample_unref(s);
    }
    EI_CHECK(n == n_frames);
    ei_frame_result_free(&res);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(p);
    g_free(desc);
    ei_image_free(&img);
    ref_close(&ref);
    remove(config);
    g_free(config);
    g_free(model);
    g_free(image);
}

int main(int argc, char ** argv) {
    test_setup(&argc, &argv);
    EI_RUN(test_segment);
    gst_deinit();
    EI_TEST_EXIT();
}
