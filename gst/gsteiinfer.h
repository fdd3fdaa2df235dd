/* edgeinfer: runs an inference config (include/edgeinfer/infer.h) on every frame (or one in
 * interval+1) of plain video/x-raw or edgemux batches, on its own thread, and attaches the results
 * as GstEiFrameMeta + GstVideoRegionOfInterestMeta. docs/gst-elements.md, "edgeinfer". */
#ifndef GST_EI_INFER_H
#define GST_EI_INFER_H

#include <gst/gst.h>

G_BEGIN_DECLS

/* What a full queue does to upstream. */
typedef enum {
    GST_EI_INFER_LEAKY_NO = 0,         /* block upstream until there is room (backpressure) */
    GST_EI_INFER_LEAKY_DOWNSTREAM = 1, /* drop the oldest waiting buffer (counted in frames-dropped) */
} GstEiInferLeaky;

GType gst_ei_infer_leaky_get_type(void);
#define GST_TYPE_EI_INFER_LEAKY (gst_ei_infer_leaky_get_type())

#define GST_TYPE_EI_INFER (gst_ei_infer_get_type())
G_DECLARE_FINAL_TYPE(GstEiInfer, gst_ei_infer, GST, EI_INFER, GstElement)

G_END_DECLS
#endif
