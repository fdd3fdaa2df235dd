/* Batches of frames from several sources, as edgemux makes them and edgedemux splits them.
 *
 * A batch is a buffer with caps GST_EI_BATCH_CAPS and no memory of its own: a GstEiBatchMeta holds
 * a reference to each frame's own buffer (zero copy: the decoder's buffer travels as it is) with
 * its video info, source id and frame number. Frames of one batch may differ in size and format.
 * Elements that change a frame (edgeinfer attaching results, edgeosd drawing) make the frame
 * writable through gst_ei_batch_frame_make_writable and work on it like a single-frame buffer.
 *
 * Every edgeinfer element accepts both batches and plain video/x-raw; gst_ei_frames_collect
 * presents either as a list of frames so that element code has one path. */
#ifndef GST_EI_BATCH_H
#define GST_EI_BATCH_H

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_EI_BATCH_MEDIA_TYPE "video/x-edgeinfer-batch"
#define GST_EI_BATCH_CAPS       GST_EI_BATCH_MEDIA_TYPE
/* The raw formats every element takes (system memory). */
#define GST_EI_VIDEO_FORMATS "{ RGB, BGR, NV12, I420 }"

typedef struct _GstEiBatchFrame {
    GstBuffer *  buffer;       /* owned reference */
    GstVideoInfo info;         /* format and size of buffer */
    guint        source_id;    /* the edgemux sink pad index */
    guint64      frame_number; /* per source, from 0 */
} GstEiBatchFrame;

typedef struct _GstEiBatchMeta {
    GstMeta           meta;
    guint             n_frames;
    guint             capacity;
    GstEiBatchFrame * frames; /* owned, n_frames used */
} GstEiBatchMeta;

GType               gst_ei_batch_meta_api_get_type(void);
const GstMetaInfo * gst_ei_batch_meta_get_info(void);
#define GST_EI_BATCH_META_API_TYPE (gst_ei_batch_meta_api_get_type())
#define GST_EI_BATCH_META_INFO     (gst_ei_batch_meta_get_info())

/* An empty batch meta on buffer (writable). Copying the buffer copies the meta with new
 * references to the same frame buffers. */
GstEiBatchMeta * gst_buffer_add_ei_batch_meta(GstBuffer * buffer);
GstEiBatchMeta * gst_buffer_get_ei_batch_meta(GstBuffer * buffer);
/* Appends a frame, taking ownership of frame. */
void gst_ei_batch_meta_append(GstEiBatchMeta * meta, GstBuffer * frame, const GstVideoInfo * info, guint source_id,
                              guint64 frame_number);
/* Makes frame i writable (a shallow copy when it is shared) and returns it. */
GstBuffer * gst_ei_batch_frame_make_writable(GstEiBatchMeta * meta, guint i);

/* A uniform view of the frames of a buffer: the batch's frames, or the buffer itself when it is a
 * plain video frame described by `single` (source 0, frame number given by the caller). */
typedef struct _GstEiFrameRef {
    GstBuffer **         slot; /* where the frame's buffer lives (replace it when making it writable) */
    const GstVideoInfo * info;
    guint                source_id;
    guint64              frame_number;
} GstEiFrameRef;

/* Fills refs (capacity max_refs) and returns how many frames buffer holds (0 when a batch buffer
 * has no batch meta). For a plain frame, *buffer must stay valid while the refs are used.
 * writable: each batch frame is made writable first (buffer itself must then be writable). */
guint gst_ei_frames_collect(GstBuffer ** buffer, const GstVideoInfo * single, guint64 single_frame_number,
                            gboolean writable, GstEiFrameRef * refs, guint max_refs);

/* TRUE when caps are a batch (GST_EI_BATCH_MEDIA_TYPE). */
gboolean gst_ei_caps_is_batch(const GstCaps * caps);

G_END_DECLS
#endif
