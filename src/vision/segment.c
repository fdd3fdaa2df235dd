/* Segmentation decode: class scores on the network grid -> a label map of the original frame.
 *
 * Every frame pixel is mapped to the score grid with half-pixel centres (docs/segmentation.md):
 *   x_net = (x_img + 0.5) * scale_x + pad_x - 0.5            (network input pixels)
 *   x_s   = (x_net + 0.5) * W_scores / net_width - 0.5        (score grid, when it is smaller)
 * Taps are clamped to the grid cells the image covers, so the letterbox padding is never sampled
 * (without a letterbox that is the whole grid: OpenCV INTER_LINEAR's border replication).
 * upsample_scores = 1 interpolates the C scores there and takes the argmax; the full C x H x W upsampled volume is
 * never built: each output row first blends its two source rows into one row of W*C floats, then each pixel blends two
 * taps per class. Ties go to the lowest class, as numpy.argmax does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "edgeinfer/segment.h"

#define EI_SEG_MAX_PIXELS ((int64_t)1 << 28)

ei_segment_params ei_segment_params_default(void) {
    ei_segment_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.layout = EI_LAYOUT_NCHW;
    p.threshold = -INFINITY; /* one-channel models use 0.5 (see seg_threshold) */
    p.sigmoid = 0;
    p.upsample_scores = 1;
    return p;
}

void ei_seg_map_free(ei_seg_map * map) {
    if (!map) return;
    free(map->labels);
    free(map->pixel_count);
    memset(map, 0, sizeof *map);
}

/* The score grid, viewed through strides so NCHW and NHWC share one code path. */
typedef struct seg_grid {
    const float * base; /* batch item */
    int32_t       c, h, w;
    int64_t       sc, sy, sx; /* element strides of channel, row, column */
} seg_grid;

/* One axis of the frame -> grid mapping: for output coordinate i, taps i0/i1 and weight of i1. */
typedef struct seg_axis {
    int32_t * i0;
    int32_t * i1;
    float *   w1;
    int32_t * nearest;
} seg_axis;

static void seg_axis_free(seg_axis * a) {
    free(a->i0);
    free(a->i1);
    free(a->w1);
    free(a->nearest);
}

/* Fills the taps for n frame pixels along one axis. scale/pad come from the frame transform, r is
 * score cells per network pixel (grid size / network size). Taps are clamped to the cells the
 * image covers (the letterbox padding is outside them), so padding never bleeds into the map even
 * where a downscaled image's edge pixel centre sits less than half a cell from the padding. */
static ei_status * seg_axis_build(seg_axis * a, int32_t n, float scale, float pad, double r, int32_t grid) {
    a->i0 = malloc((size_t)n * sizeof *a->i0);
    a->i1 = malloc((size_t)n * sizeof *a->i1);
    a->w1 = malloc((size_t)n * sizeof *a->w1);
    a->nearest = malloc((size_t)n * sizeof *a->nearest);
    if (!a->i0 || !a->i1 || !a->w1 || !a->nearest) return ei_status_oom();
    /* The image spans [lo_edge, hi_edge) in grid units; cells lo..hi lie wholly inside it (a cell
     * cut by less than 1e-4 of its width counts as inside, absorbing float error in scale and pad;
     * a cell the padding cuts further is left out). */
    const double lo_edge = (double)pad * r, hi_edge = ((double)pad + (double)n * (double)scale) * r;
    double       lo = ceil(lo_edge - 1e-4), hi = floor(hi_edge + 1e-4) - 1.0;
    if (lo < 0.0) lo = 0.0;
    if (hi > (double)(grid - 1)) hi = (double)(grid - 1);
    if (hi < lo) { /* the image is thinner than one cell: use the cell under its middle */
        double mid = floor(0.5 * (lo_edge + hi_edge));
        lo = hi = mid < 0.0 ? 0.0 : mid > (double)(grid - 1) ? (double)(grid - 1) : mid;
    }
    for (int32_t i = 0; i < n; i++) {
        /* Pixel centre in network pixels, then in grid cells (cell k spans [k, k+1)). */
        double cell = (((double)i + 0.5) * (double)scale + (double)pad) * r; /* = x_s + 0.5 */
        double xs = cell - 0.5;
        double k = floor(cell);
        a->nearest[i] = (int32_t)(k < lo ? lo : k > hi ? hi : k);
        if (xs <= lo) {
            a->i0[i] = a->i1[i] = (int32_t)lo;
            a->w1[i] = 0.0f;
        } else if (xs >= hi) {
            a->i0[i] = a->i1[i] = (int32_t)hi;
            a->w1[i] = 0.0f;
        } else {
            double f = floor(xs);
            a->i0[i] = (int32_t)f;
            a->i1[i] = (int32_t)f + 1;
            a->w1[i] = (float)(xs - f);
        }
    }
    return NULL;
}

static inline float seg_sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

/* Label of one pixel from its C scores (contiguous). */
static inline uint8_t seg_pick(const float * s, int32_t c, float threshold, int sigmoid) {
    if (c == 1) {
        float v = sigmoid ? seg_sigmoid(s[0]) : s[0];
        return v > threshold ? 1 : 0;
    }
    int32_t best = 0;
    float   bv = s[0];
    for (int32_t k = 1; k < c; k++)
        if (s[k] > bv) {
            bv = s[k];
            best = k;
        }
    return bv < threshold ? (uint8_t)EI_SEG_NONE : (uint8_t)best;
}

/* Bilinear: per output row, blend the two source rows into tmp (w * c, channel-fastest), then
 * blend two taps per pixel into px (c floats) and pick. */
static void seg_decode_bilinear(const seg_grid * g, const seg_axis * ax, const seg_axis * ay, int32_t out_w,
                                int32_t out_h, float threshold, int sigmoid, float * tmp, float * px,
                                uint8_t * labels) {
    const int32_t c = g->c;
    for (int32_t y = 0; y < out_h; y++) {
        const float * r0 = g->base + (int64_t)ay->i0[y] * g->sy;
        const float * r1 = g->base + (int64_t)ay->i1[y] * g->sy;
        const float   wy = ay->w1[y];
        if (g->sc == 1) { /* NHWC: a row is w*c contiguous floats */
            const int64_t n = (int64_t)g->w * c;
            for (int64_t k = 0; k < n; k++) tmp[k] = r0[k] + wy * (r1[k] - r0[k]);
        } else { /* NCHW: transpose to channel-fastest while blending */
            for (int32_t k = 0; k < c; k++) {
                const float * a = r0 + (int64_t)k * g->sc;
                const float * b = r1 + (int64_t)k * g->sc;
                for (int32_t x = 0; x < g->w; x++) tmp[(int64_t)x * c + k] = a[x] + wy * (b[x] - a[x]);
            }
        }
        uint8_t * row = labels + (int64_t)y * out_w;
        for (int32_t x = 0; x < out_w; x++) {
            const float * a = tmp + (int64_t)ax->i0[x] * c;
            const float * b = tmp + (int64_t)ax->i1[x] * c;
            const float   wx = ax->w1[x];
            if (c == 1) {
                px[0] = a[0] + wx * (b[0] - a[0]);
                row[x] = seg_pick(px, 1, threshold, sigmoid);
                continue;
            }
            /* Blend and argmax in one pass: no per-pixel score buffer to write and re-read. */
            int32_t best = 0;
            float   bv = a[0] + wx * (b[0] - a[0]);
            for (int32_t k = 1; k < c; k++) {
                const float v = a[k] + wx * (b[k] - a[k]);
                if (v > bv) bv = v, best = k;
            }
            row[x] = bv < threshold ? (uint8_t)EI_SEG_NONE : (uint8_t)best;
        }
    }
}

/* Nearest: argmax on the grid, then each frame pixel takes the label of the cell its centre lies in. */
static void seg_decode_nearest(const seg_grid * g, const seg_axis * ax, const seg_axis * ay, int32_t out_w,
                               int32_t out_h, float threshold, int sigmoid, float * px, uint8_t * grid_labels,
                               uint8_t * labels) {
    for (int32_t y = 0; y < g->h; y++)
        for (int32_t x = 0; x < g->w; x++) {
            const float * s = g->base + (int64_t)y * g->sy + (int64_t)x * g->sx;
            for (int32_t k = 0; k < g->c; k++) px[k] = s[(int64_t)k * g->sc];
            grid_labels[(int64_t)y * g->w + x] = seg_pick(px, g->c, threshold, sigmoid);
        }
    for (int32_t y = 0; y < out_h; y++) {
        const uint8_t * src = grid_labels + (int64_t)ay->nearest[y] * g->w;
        uint8_t *       row = labels + (int64_t)y * out_w;
        for (int32_t x = 0; x < out_w; x++) row[x] = src[ax->nearest[x]];
    }
}

static ei_status * seg_check(const ei_segment_params * params, const ei_tensor * scores, int32_t batch,
                             const ei_frame_transform * xf, ei_seg_map * out) {
    if (!params || !scores || !xf || !out)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segment: params, scores, transform and out must not be NULL");
    if (params->size != sizeof *params)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "segment: params.size is %u, expected %zu (initialise with ei_segment_params_default)",
                         params->size, sizeof *params);
    if (params->layout != EI_LAYOUT_NCHW && params->layout != EI_LAYOUT_NHWC)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segment: layout %d is neither NCHW (0) nor NHWC (1)",
                         (int)params->layout);
    if (isnan(params->threshold)) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segment: threshold is NaN");
    const ei_shape * s = ei_tensor_shape(scores);
    char             buf[96];
    if (ei_tensor_dtype(scores) != EI_DTYPE_F32)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segment: scores tensor %s is %s, expected float32",
                         ei_shape_format(s, buf, sizeof buf), ei_dtype_name(ei_tensor_dtype(scores)));
    if (s->rank != 4)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segment: scores tensor has shape %s (rank %d), expected rank 4 %s",
                         ei_shape_format(s, buf, sizeof buf), s->rank,
                         params->layout == EI_LAYOUT_NCHW ? "[N,C,H,W]" : "[N,H,W,C]");
    for (int i = 0; i < 4; i++)
        if (s->dim[i] <= 0 || s->dim[i] > INT32_MAX)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "segment: scores tensor has shape %s, an empty or huge dimension",
                             ei_shape_format(s, buf, sizeof buf));
    int64_t c = params->layout == EI_LAYOUT_NCHW ? s->dim[1] : s->dim[3];
    if (c > EI_SEG_MAX_CLASSES)
        return ei_errorf(EI_CODE_UNSUPPORTED, "segment: scores tensor %s has %lld classes, more than the %d supported",
                         ei_shape_format(s, buf, sizeof buf), (long long)c, EI_SEG_MAX_CLASSES);
    if (batch < 0 || batch >= s->dim[0])
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segment: batch item %d is outside scores tensor %s", (int)batch,
                         ei_shape_format(s, buf, sizeof buf));
    if (xf->src_width <= 0 || xf->src_height <= 0 || (int64_t)xf->src_width * xf->src_height > EI_SEG_MAX_PIXELS)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segment: frame size %dx%d is empty or larger than 2^28 pixels",
                         (int)xf->src_width, (int)xf->src_height);
    if (!(xf->scale_x > 0.0f) || !(xf->scale_y > 0.0f) || !isfinite(xf->scale_x) || !isfinite(xf->scale_y) ||
        !isfinite(xf->pad_x) || !isfinite(xf->pad_y) || xf->net_width < 0 || xf->net_height < 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "segment: bad frame transform (scale %g x %g, pad %g, %g, network %dx%d)", (double)xf->scale_x,
                         (double)xf->scale_y, (double)xf->pad_x, (double)xf->pad_y, (int)xf->net_width,
                         (int)xf->net_height);
    return NULL;
}

ei_status * ei_segment_decode(const ei_segment_params * params, const ei_tensor * scores, int32_t batch,
                              const ei_frame_transform * xf, ei_seg_map * out) {
    EI_TRY(seg_check(params, scores, batch, xf, out));
    memset(out, 0, sizeof *out);
    const ei_shape * s = ei_tensor_shape(scores);
    const int        nchw = params->layout == EI_LAYOUT_NCHW;
    seg_grid         g;
    g.c = (int32_t)(nchw ? s->dim[1] : s->dim[3]);
    g.h = (int32_t)(nchw ? s->dim[2] : s->dim[1]);
    g.w = (int32_t)(nchw ? s->dim[3] : s->dim[2]);
    if (nchw) {
        g.sc = (int64_t)g.h * g.w, g.sy = g.w, g.sx = 1;
    } else {
        g.sc = 1, g.sy = (int64_t)g.w * g.c, g.sx = g.c;
    }
    g.base = (const float *)ei_tensor_data_const(scores) + (int64_t)batch * g.c * g.h * g.w;

    /* The score grid may be coarser than the network input (stride-8 heads): r = cells per pixel.
     * A transform without a network size is taken to describe the grid itself. */
    const double  rx = xf->net_width > 0 ? (double)g.w / xf->net_width : 1.0;
    const double  ry = xf->net_height > 0 ? (double)g.h / xf->net_height : 1.0;
    const int32_t out_w = xf->src_width, out_h = xf->src_height;
    float         threshold = params->threshold;
    if (g.c == 1 && threshold == -INFINITY) threshold = 0.5f; /* the documented one-channel default */

    seg_axis    ax = {0}, ay = {0};
    float *     tmp = NULL, *px = NULL;
    uint8_t *   grid_labels = NULL;
    ei_status * st = seg_axis_build(&ax, out_w, xf->scale_x, xf->pad_x, rx, g.w);
    if (!st) st = seg_axis_build(&ay, out_h, xf->scale_y, xf->pad_y, ry, g.h);
    if (!st) {
        out->n_classes = g.c == 1 ? 2 : g.c;
        out->width = out_w;
        out->height = out_h;
        out->labels = malloc((size_t)out_w * (size_t)out_h);
        out->pixel_count = calloc((size_t)out->n_classes, sizeof *out->pixel_count);
        px = malloc((size_t)g.c * sizeof *px);
        if (params->upsample_scores)
            tmp = malloc((size_t)g.w * (size_t)g.c * sizeof *tmp);
        else
            grid_labels = malloc((size_t)g.w * (size_t)g.h);
        if (!out->labels || !out->pixel_count || !px || (params->upsample_scores ? !tmp : !grid_labels))
            st = ei_status_oom();
    }
    if (!st) {
        if (params->upsample_scores)
            seg_decode_bilinear(&g, &ax, &ay, out_w, out_h, threshold, params->sigmoid, tmp, px, out->labels);
        else
            seg_decode_nearest(&g, &ax, &ay, out_w, out_h, threshold, params->sigmoid, px, grid_labels, out->labels);
        const int64_t n = (int64_t)out_w * out_h;
        int64_t       hist[256] = {0};
        for (int64_t i = 0; i < n; i++) hist[out->labels[i]]++;
        for (int32_t k = 0; k < out->n_classes; k++) out->pixel_count[k] = hist[k];
    }
    seg_axis_free(&ax);
    seg_axis_free(&ay);
    free(tmp);
    free(px);
    free(grid_labels);
    if (st) ei_seg_map_free(out);
    return st;
}
