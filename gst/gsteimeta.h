/* The results edgeinfer attaches to video frames: one GstEiFrameMeta per frame and model.
 *
 * A frame is either a plain video/x-raw buffer (the meta sits on it) or one frame of a batch
 * (gsteibatch.h: the meta sits on that frame's own buffer inside the batch). Field names follow
 * GstAnalyticsODMtd (x, y, w, h, confidence, class quark) so that a GStreamer 1.24 analytics-meta
 * path stays a small addition. The meta owns its arrays; set them with the setters below. */
#ifndef GST_EI_META_H
#define GST_EI_META_H

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

typedef struct _GstEiObject {
    gfloat x, y, w, h; /* box in pixels of the frame the meta describes (frame_width x frame_height) */
    gfloat confidence;
    gint   class_id; /* 0-based class of the model */
    GQuark label;    /* the class's label, 0 when the model has no label file */
} GstEiObject;

/* Per-frame time of each stage in milliseconds: a batch's time divided by its frames. */
typedef struct _GstEiStageTimes {
    gdouble preprocess_ms;
    gdouble infer_ms;
    gdouble postprocess_ms;
    gdouble osd_ms;
} GstEiStageTimes;

typedef struct _GstEiFrameMeta {
    GstMeta meta;

    guint    source_id;                 /* the edgemux pad the frame came in on (0 without a muxer) */
    guint64  frame_number;              /* per source, counted from 0 */
    guint    unique_id;                 /* gie-unique-id of the model that produced the results */
    gboolean inferred;                  /* FALSE on frames the model skipped (interval): no objects, no mask */
    gint     frame_width, frame_height; /* what the coordinates refer to; scaled with the frame */

    guint         n_objects;
    GstEiObject * objects; /* owned */

    /* Segmentation: a label map of mask_width x mask_height class ids (255: below the threshold),
     * covering the whole frame; its size stays fixed when the frame is scaled. */
    gint     mask_width, mask_height;
    gint     n_classes;
    guint8 * mask;         /* owned, NULL for detectors */
    gint64 * class_pixels; /* owned, n_classes pixel counts of the mask, NULL for detectors */

    GstEiStageTimes times;
} GstEiFrameMeta;

GType               gst_ei_frame_meta_api_get_type(void);
const GstMetaInfo * gst_ei_frame_meta_get_info(void);
#define GST_EI_FRAME_META_API_TYPE (gst_ei_frame_meta_api_get_type())
#define GST_EI_FRAME_META_INFO     (gst_ei_frame_meta_get_info())

/* A zeroed meta (inferred FALSE, no objects). buffer must be writable. */
GstEiFrameMeta * gst_buffer_add_ei_frame_meta(GstBuffer * buffer);
/* The first GstEiFrameMeta on buffer, or NULL. */
GstEiFrameMeta * gst_buffer_get_ei_frame_meta(GstBuffer * buffer);
/* The meta the model unique_id attached, or NULL. */
GstEiFrameMeta * gst_buffer_get_ei_frame_meta_by_id(GstBuffer * buffer, guint unique_id);

/* Replace the arrays (copied; n == 0 or NULL clears them). */
void gst_ei_frame_meta_set_objects(GstEiFrameMeta * meta, const GstEiObject * objects, guint n);
void gst_ei_frame_meta_set_mask(GstEiFrameMeta * meta, gint width, gint height, gint n_classes, const guint8 * mask,
                                const gint64 * class_pixels);

/* One GstVideoRegionOfInterestMeta per object of meta on buffer (roi_type = label or "class-N",
 * with a "detection" GstStructure holding class-id, confidence and unique-id), for stock elements
 * and applications that read the standard meta. buffer must be writable. */
void gst_ei_frame_meta_add_roi_metas(GstBuffer * buffer, const GstEiFrameMeta * meta);

G_END_DECLS
#endif
