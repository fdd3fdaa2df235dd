/* Pre-processing: one image into one slot of a float network input, in a single pass over the
 * output. Rows of the resized image come from the streaming resizer (cv2.resize-exact uint8, see
 * resize.c) and are normalised, scale * (v - offset) per network channel (computed in vectorised
 * loops for 3-channel NCHW, from 256-entry tables otherwise: the same floats), straight into the
 * NCHW or NHWC slot; no resized or float image is ever materialised. 3-channel bilinear NCHW asks
 * for planar rows, whose horizontal pass is AVX2 (resize.c) and whose vertical pass writes the
 * normalised floats itself.
 * NV12/I420 frames with bilinear or nearest taps are never converted whole: only the source
 * pixels the taps touch are converted to RGB (yuv_taps.c: straight inside the horizontal pass for
 * bilinear NCHW, else the touched columns of each needed row), with OpenCV's fixed-point formula, so the result is
 * bit-identical to cvtColor followed by resize. Other filters (area sums), and colour frames for a GRAY network, are
 * converted first at full size, which is exact too. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "edgeinfer/preprocess.h"
#include "vision/image_internal.h"
#include "vision/resize.h"
#include "vision/yuv_taps.h"

ei_preprocess_spec ei_preprocess_spec_default(void) {
    ei_preprocess_spec s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    s.color = EI_PIXEL_RGB;
    s.layout = EI_LAYOUT_NCHW;
    s.filter = EI_RESIZE_BILINEAR;
    for (int c = 0; c < 3; c++) s.scale[c] = 1.f;
    return s;
}

ei_status * ei_preprocess_spec_set_mean_std(ei_preprocess_spec * spec, const float mean[3], const float std[3]) {
    if (!spec || !mean || !std) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "set_mean_std: NULL argument");
    for (int c = 0; c < 3; c++)
        if (!(std[c] != 0.f) || !isfinite(std[c]) || !isfinite(mean[c]))
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "set_mean_std: channel %d has mean %g, std %g (std must be "
                             "finite and non-zero)",
                             c, (double)mean[c], (double)std[c]);
    /* (x/255 - mean) / std = (1 / (255 std)) * (x - 255 mean) */
    for (int c = 0; c < 3; c++) {
        spec->scale[c] = 1.f / (255.f * std[c]);
        spec->offset[c] = 255.f * mean[c];
    }
    return NULL;
}

int ei_preprocess_spec_channels(const ei_preprocess_spec * spec) { return spec->color == EI_PIXEL_GRAY ? 1 : 3; }

void ei_frame_to_image(const ei_frame_transform * xf, float xn, float yn, float * xi, float * yi) {
    *xi = (xn - xf->pad_x) / xf->scale_x;
    *yi = (yn - xf->pad_y) / xf->scale_y;
}

void ei_frame_to_network(const ei_frame_transform * xf, float xi, float yi, float * xn, float * yn) {
    *xn = xi * xf->scale_x + xf->pad_x;
    *yn = yi * xf->scale_y + xf->pad_y;
}

void ei_frame_transform_set_source(ei_frame_transform * xf, int32_t src_width, int32_t src_height) {
    if (src_width <= 0 || src_height <= 0 || xf->src_width <= 0 || xf->src_height <= 0) return;
    xf->scale_x = (float)((double)xf->scale_x * xf->src_width / src_width);
    xf->scale_y = (float)((double)xf->scale_y * xf->src_height / src_height);
    xf->src_width = src_width;
    xf->src_height = src_height;
}

/* Where the resized image lands in the network input. */
typedef struct geometry {
    int32_t rw, rh, px, py;
} geometry;

static geometry geometry_of(const ei_preprocess_spec * spec, int32_t w, int32_t h, ei_frame_transform * xf) {
    geometry g = {spec->width, spec->height, 0, 0};
    xf->src_width = w, xf->src_height = h;
    xf->net_width = spec->width, xf->net_height = spec->height;
    if (spec->keep_aspect) {
        /* As YOLOX: r = min(W/w, H/h), size (int)(w r) x (int)(h r) (truncated), at least 1. */
        double r = fmin((double)spec->width / w, (double)spec->height / h);
        g.rw = (int32_t)(w * r);
        g.rh = (int32_t)(h * r);
        if (g.rw < 1) g.rw = 1;
        if (g.rh < 1) g.rh = 1;
        if (g.rw > spec->width) g.rw = spec->width;
        if (g.rh > spec->height) g.rh = spec->height;
        if (spec->symmetric_pad) {
            g.px = (spec->width - g.rw) / 2;
            g.py = (spec->height - g.rh) / 2;
        }
        xf->scale_x = xf->scale_y = (float)r;
    } else {
        xf->scale_x = (float)((double)spec->width / w);
        xf->scale_y = (float)((double)spec->height / h);
    }
    xf->pad_x = (float)g.px;
    xf->pad_y = (float)g.py;
    return g;
}

ei_frame_transform ei_preprocess_transform(const ei_preprocess_spec * spec, int32_t src_width, int32_t src_height) {
    ei_frame_transform xf;
    memset(&xf, 0, sizeof xf);
    if (spec && spec->width > 0 && spec->height > 0 && src_width > 0 && src_height > 0)
        (void)geometry_of(spec, src_width, src_height, &xf);
    return xf;
}

static ei_status * check_spec(const ei_preprocess_spec * spec) {
    if (!spec) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: spec is NULL");
    if (spec->size != sizeof *spec)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "preprocess: spec.size is %u, expected %zu (start from ei_preprocess_spec_default)",
                         spec->size, sizeof *spec);
    if (spec->width <= 0 || spec->height <= 0 || (int64_t)spec->width * spec->height > ((int64_t)1 << 28))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: network size %dx%d is not valid", spec->width,
                         spec->height);
    if (spec->color != EI_PIXEL_RGB && spec->color != EI_PIXEL_BGR && spec->color != EI_PIXEL_GRAY)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: network colour %s is not rgb, bgr or gray",
                         ei_pixel_format_name(spec->color));
    if (spec->layout != EI_LAYOUT_NCHW && spec->layout != EI_LAYOUT_NHWC)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: unknown layout %d", (int)spec->layout);
    if (spec->filter != EI_RESIZE_NEAREST && spec->filter != EI_RESIZE_BILINEAR && spec->filter != EI_RESIZE_AREA)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: unknown filter %d", (int)spec->filter);
    for (int c = 0; c < 3; c++)
        if (!isfinite(spec->scale[c]) || !isfinite(spec->offset[c]) || !isfinite(spec->pad_value[c]))
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: scale/offset/pad of channel %d is not finite", c);
    return NULL;
}

static ei_status * check_image(const ei_image * src) {
    if (!src) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: image is NULL");
    if ((unsigned)src->format >= EI_PIXEL_FORMAT_COUNT)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: image has invalid format %d", (int)src->format);
    if (src->width <= 0 || src->height <= 0 || !src->plane[0])
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: image is empty (%dx%d)", src->width, src->height);
    int yuv = src->format == EI_PIXEL_NV12 || src->format == EI_PIXEL_I420;
    int nplanes = src->format == EI_PIXEL_I420 ? 3 : yuv ? 2 : 1;
    for (int p = 1; p < nplanes; p++)
        if (!src->plane[p])
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: %s image lacks plane %d",
                             ei_pixel_format_name(src->format), p);
    int64_t row = yuv ? src->width : (int64_t)src->width * ei_pixel_format_channels(src->format);
    if (src->stride[0] < row)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: stride %d is less than a row (%lld bytes)",
                         src->stride[0], (long long)row);
    return NULL;
}

/* Byte index inside a source pixel of each network channel. */
static void channel_map(ei_pixel_format src, ei_pixel_format net, int map[3]) {
    if (src == EI_PIXEL_GRAY || net == EI_PIXEL_GRAY) {
        map[0] = map[1] = map[2] = 0;
        return;
    }
    int src_rgb = src == EI_PIXEL_RGB || src == EI_PIXEL_RGBA;
    int same = src_rgb == (net == EI_PIXEL_RGB);
    map[0] = same ? 0 : 2;
    map[1] = 1;
    map[2] = same ? 2 : 0;
}

/* The resizer of a packed image, or of a 4:2:0 frame read through yuv_source when the filter has
 * taps (*ok = 0 otherwise: the caller converts the whole frame first). */
static ei_status * resizer_open(const ei_image * img, const ei_preprocess_spec * spec, const geometry * g,
                                ei_yuv_source * yc, ei_resizer ** rz, int * ok) {
    int yuv = img->format == EI_PIXEL_NV12 || img->format == EI_PIXEL_I420;
    *ok = 1;
    EI_TRY(ei_resizer_create(img->plane[0], img->width, img->height, (size_t)img->stride[0],
                             yuv ? 3 : ei_pixel_format_channels(img->format), g->rw, g->rh, spec->filter, rz));
    if (!yuv) return NULL;
    ei_status * st = NULL;
    yc->img = img;
    if (!ei_resizer_has_taps(*rz))
        *ok = 0;
    else if (spec->layout == EI_LAYOUT_NCHW && ei_resizer_set_hpass(*rz, ei_yuv_hpass, yc))
        ; /* the fast path: taps read straight from the planes */
    else if (!(yc->buf = malloc((size_t)g->rw * 6)))
        st = ei_errorf(EI_CODE_OUT_OF_MEMORY, "preprocess: out of memory");
    else
        st = ei_resizer_set_source(*rz, ei_yuv_rows, yc);
    if (st || !*ok) ei_resizer_destroy(*rz), *rz = NULL;
    return st;
}

/* The resizer of the last image a thread pre-processed, kept with what it was made for: its tables
 * (taps, weights, the 4:2:0 windows of yuv_taps.c) depend only on the sizes, so the frames of a
 * stream reuse them and allocate nothing. One per thread (pthread key, freed at thread exit); a
 * frame of other sizes replaces it. Without a key (pthread_key_create failed) each call builds
 * its own, as before. */
typedef struct pre_cache {
    ei_resizer *    rz; /* NULL with ok = 0: the filter has no taps, the frame is converted first */
    ei_yuv_source   yc;
    ei_pixel_format fmt;
    int32_t         sw, sh, rw, rh;
    int             filter, layout, avx2, ok, valid;
} pre_cache;

static pthread_key_t  cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int            cache_key_ok;

static void cache_clear(pre_cache * pc) {
    ei_resizer_destroy(pc->rz);
    ei_yuv_source_release(&pc->yc);
    memset(pc, 0, sizeof *pc);
}

static void cache_free(void * p) {
    if (!p) return;
    cache_clear(p);
    free(p);
}

static void cache_key_init(void) { cache_key_ok = pthread_key_create(&cache_key, cache_free) == 0; }

/* This thread's cache, created on first use; NULL when there can be none. */
static pre_cache * cache_of_thread(void) {
    pthread_once(&cache_once, cache_key_init);
    if (!cache_key_ok) return NULL;
    pre_cache * pc = pthread_getspecific(cache_key);
    if (pc) return pc;
    pc = calloc(1, sizeof *pc);
    if (pc && pthread_setspecific(cache_key, pc) != 0) {
        free(pc);
        pc = NULL;
    }
    return pc;
}

/* pc's resizer for img at g: reused (pointed at img) when made for the same sizes, format, layout,
 * filter and code path, else made anew. *ok as resizer_open's. */
static ei_status * cache_prepare(pre_cache * pc, const ei_image * img, const ei_preprocess_spec * spec,
                                 const geometry * g, int * ok) {
    int avx2 = ei_resize_avx2();
    if (pc->valid && pc->fmt == img->format && pc->sw == img->width && pc->sh == img->height && pc->rw == g->rw &&
        pc->rh == g->rh && pc->filter == (int)spec->filter && pc->layout == (int)spec->layout && pc->avx2 == avx2) {
        *ok = pc->ok;
        if (pc->rz) ei_resizer_rebind(pc->rz, img->plane[0], (size_t)img->stride[0]);
        pc->yc.img = img;
        return NULL;
    }
    cache_clear(pc);
    EI_TRY(resizer_open(img, spec, g, &pc->yc, &pc->rz, ok));
    pc->fmt = img->format, pc->sw = img->width, pc->sh = img->height, pc->rw = g->rw, pc->rh = g->rh;
    pc->filter = (int)spec->filter, pc->layout = (int)spec->layout, pc->avx2 = avx2, pc->ok = *ok;
    pc->valid = 1;
    return NULL;
}

/* A packed 3-byte row into three planes, normalised: scale * (v - offset), the same expression the
 * tables hold (so the same floats), computed instead of looked up so the loop vectorises. */
EI_VEC_CLONES static void planes3(const uint8_t * restrict s, const int map[3], const float scale[3],
                                  const float offset[3], float * restrict d0, float * restrict d1, float * restrict d2,
                                  int32_t     n) {
    float s0 = scale[0], s1 = scale[1], s2 = scale[2], o0 = offset[0], o1 = offset[1], o2 = offset[2];
    if (map[0] == 0) {
        for (int32_t x = 0; x < n; x++) {
            d0[x] = s0 * ((float)s[3 * x] - o0);
            d1[x] = s1 * ((float)s[3 * x + 1] - o1);
            d2[x] = s2 * ((float)s[3 * x + 2] - o2);
        }
    } else {
        for (int32_t x = 0; x < n; x++) {
            d0[x] = s0 * ((float)s[3 * x + 2] - o0);
            d1[x] = s1 * ((float)s[3 * x + 1] - o1);
            d2[x] = s2 * ((float)s[3 * x] - o2);
        }
    }
}

static void fill(float * p, size_t n, float v) {
    for (size_t i = 0; i < n; i++) p[i] = v;
}

static ei_status * run(const ei_preprocess_spec * spec, const ei_image * img, float * dst, const geometry * g,
                       int * ran) {
    pre_cache   local, *pc = cache_of_thread();
    ei_status * st;
    if (!pc) memset(&local, 0, sizeof local), pc = &local;
    if ((st = cache_prepare(pc, img, spec, g, ran)) || !*ran) {
        if (st || pc == &local) cache_clear(pc);
        return st;
    }
    ei_resizer *    rz = pc->rz;
    int             yuv = img->format == EI_PIXEL_NV12 || img->format == EI_PIXEL_I420;
    ei_pixel_format packed = yuv ? EI_PIXEL_RGB : img->format;
    int             C = ei_preprocess_spec_channels(spec);
    int             cn = ei_pixel_format_channels(packed);
    int             map[3];
    float           lut[3][256], pad[3];
    size_t          W = (size_t)spec->width, H = (size_t)spec->height, plane = W * H;
    channel_map(packed, spec->color, map);
    int planar = spec->layout == EI_LAYOUT_NCHW && C == 3 && cn == 3 && ei_resizer_set_planar(rz);
    for (int c = 0; c < C; c++) {
        for (int v = 0; v < 256; v++) lut[c][v] = spec->scale[c] * ((float)v - spec->offset[c]);
        pad[c] = spec->scale[c] * (spec->pad_value[c] - spec->offset[c]);
    }
    int letterbox = g->rw != spec->width || g->rh != spec->height;
    for (size_t y = 0; y < H; y++) {
        int32_t dy = (int32_t)y - g->py;
        int     inside = dy >= 0 && dy < g->rh;
        if (spec->layout == EI_LAYOUT_NCHW) {
            for (int c = 0; c < C; c++) {
                float * d = dst + (size_t)c * plane + y * W;
                if (!inside) {
                    fill(d, W, pad[c]);
                } else if (letterbox) {
                    fill(d, (size_t)g->px, pad[c]);
                    fill(d + g->px + g->rw, W - (size_t)g->px - (size_t)g->rw, pad[c]);
                }
            }
            if (!inside) continue;
            size_t off = y * W + (size_t)g->px;
            if (planar) { /* the vertical pass writes the floats itself */
                float * const d[3] = {dst + off, dst + plane + off, dst + 2 * plane + off};
                ei_resizer_row_planar_f32(rz, dy, map, spec->scale, spec->offset, d);
                continue;
            }
            const uint8_t * s = ei_resizer_row(rz, dy);
            if (C == 3 && cn == 3)
                planes3(s, map, spec->scale, spec->offset, dst + off, dst + plane + off, dst + 2 * plane + off, g->rw);
            else
                for (int c = 0; c < C; c++) {
                    float * restrict d = dst + (size_t)c * plane + off;
                    const uint8_t * restrict sc = s + map[c];
                    const float * restrict l = lut[c];
                    for (int32_t x = 0; x < g->rw; x++) d[x] = l[sc[(size_t)x * (size_t)cn]];
                }
        } else {
            float * row = dst + y * W * (size_t)C;
            if (!inside || letterbox) {
                for (size_t x = 0; x < W; x++)
                    for (int c = 0; c < C; c++) row[x * (size_t)C + (size_t)c] = pad[c];
            }
            if (!inside) continue;
            const uint8_t * s = ei_resizer_row(rz, dy);
            float * restrict d = row + (size_t)g->px * (size_t)C;
            if (C == 3) {
                for (int32_t x = 0; x < g->rw; x++) {
                    const uint8_t * p = s + (size_t)x * (size_t)cn;
                    d[3 * x + 0] = lut[0][p[map[0]]];
                    d[3 * x + 1] = lut[1][p[map[1]]];
                    d[3 * x + 2] = lut[2][p[map[2]]];
                }
            } else {
                for (int32_t x = 0; x < g->rw; x++) d[x] = lut[0][s[(size_t)x * (size_t)cn]];
            }
        }
    }
    if (pc == &local) cache_clear(pc);
    return NULL;
}

ei_status * ei_preprocess(const ei_preprocess_spec * spec, const ei_image * src, float * dst, ei_frame_transform * xf) {
    EI_TRY(check_spec(spec));
    EI_TRY(check_image(src));
    if (!dst) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess: dst is NULL");
    ei_frame_transform t;
    geometry           g = geometry_of(spec, src->width, src->height, &t);
    if (xf) *xf = t;
    /* Formats the resizer cannot read directly are converted first, at full size. */
    ei_pixel_format work = src->format;
    int             ran = 0;
    if (spec->color == EI_PIXEL_GRAY && src->format != EI_PIXEL_GRAY) {
        work = EI_PIXEL_GRAY;
    } else if (src->format == EI_PIXEL_NV12 || src->format == EI_PIXEL_I420) {
        EI_TRY(run(spec, src, dst, &g, &ran)); /* per plane, when the filter has taps */
        if (ran) return NULL;
        work = spec->color;
    }
    if (work == src->format) return run(spec, src, dst, &g, &ran);
    ei_image tmp;
    EI_TRY(ei_image_alloc(work, src->width, src->height, &tmp));
    ei_status * st = ei_image_convert(src, &tmp);
    if (!st) st = run(spec, &tmp, dst, &g, &ran);
    ei_image_free(&tmp);
    return st;
}

ei_status * ei_preprocess_batch(const ei_preprocess_spec * spec, const ei_image * images, int32_t n, ei_tensor * dst,
                                ei_frame_transform * xf) {
    EI_TRY(check_spec(spec));
    if (!dst || (!images && n > 0) || n < 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "preprocess_batch: NULL tensor or images, or n = %d", n);
    int      C = ei_preprocess_spec_channels(spec);
    ei_shape want = {4, {n, C, spec->height, spec->width}};
    if (spec->layout == EI_LAYOUT_NHWC) want = (ei_shape){4, {n, spec->height, spec->width, C}};
    const ei_shape * have = ei_tensor_shape(dst);
    int              ok = ei_tensor_dtype(dst) == EI_DTYPE_F32 && have->rank == 4;
    for (int i = 0; ok && i < 4; i++) ok = have->dim[i] == want.dim[i];
    if (!ok) {
        char a[128], b[128];
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "preprocess_batch: tensor is %s %s but %d %s images of %dx%d need float32 %s",
                         ei_dtype_name(ei_tensor_dtype(dst)), ei_shape_format(have, a, sizeof a), n,
                         spec->layout == EI_LAYOUT_NCHW ? "NCHW" : "NHWC", spec->width, spec->height,
                         ei_shape_format(&want, b, sizeof b));
    }
    float * data = ei_tensor_data(dst);
    size_t  slot = (size_t)C * (size_t)spec->width * (size_t)spec->height;
    for (int32_t i = 0; i < n; i++) {
        ei_status * st = ei_preprocess(spec, &images[i], data + (size_t)i * slot, xf ? &xf[i] : NULL);
        if (st) return ei_status_wrapf(st, "batch image %d", i);
    }
    return NULL;
}
