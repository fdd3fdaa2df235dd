/* Test driver for the Python oracle: loads an image, pre-processes (or only resizes) it with a spec
 * given as key=value arguments and writes the result as .npy.
 *   pre_driver IMAGE OUT.npy [mode=preprocess|resize] [w=] [h=] [color=rgb|bgr|gray] [layout=nchw|nhwc]
 *              [filter=0|1|2] [letterbox=0|1] [sym=0|1] [pad=a,b,c] [scale=a,b,c] [offset=a,b,c]
 *              [load=bgr|rgb|gray] [scaled=0|1]
 * mode=resize writes the uint8 [h, w, channels] image ei_image_resize produces from the loaded one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeinfer/edgeinfer.h"
#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"

static int parse3(const char * v, float out[3]) {
    int n = sscanf(v, "%f,%f,%f", &out[0], &out[1], &out[2]);
    if (n == 1) out[1] = out[2] = out[0];
    return n == 1 || n == 3 ? 0 : -1;
}

static int fail(ei_status * st) {
    fprintf(stderr, "pre_driver: %s\n", ei_status_message(st));
    ei_status_destroy(st);
    return 1;
}

int main(int argc, char ** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: pre_driver IMAGE OUT.npy [key=value...]\n");
        return 2;
    }
    ei_preprocess_spec spec = ei_preprocess_spec_default();
    ei_pixel_format    load = EI_PIXEL_BGR;
    int                resize_only = 0, scaled = 0;
    for (int i = 3; i < argc; i++) {
        char * eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "pre_driver: '%s' is not key=value\n", argv[i]);
            return 2;
        }
        *eq = 0;
        const char *k = argv[i], *v = eq + 1;
        int         bad = 0;
        if (!strcmp(k, "mode"))
            resize_only = !strcmp(v, "resize");
        else if (!strcmp(k, "w"))
            spec.width = atoi(v);
        else if (!strcmp(k, "h"))
            spec.height = atoi(v);
        else if (!strcmp(k, "color"))
            bad = ei_pixel_format_parse(v, &spec.color);
        else if (!strcmp(k, "load"))
            bad = ei_pixel_format_parse(v, &load);
        else if (!strcmp(k, "layout"))
            spec.layout = !strcmp(v, "nhwc") ? EI_LAYOUT_NHWC : EI_LAYOUT_NCHW;
        else if (!strcmp(k, "filter"))
            spec.filter = (ei_resize_filter)atoi(v);
        else if (!strcmp(k, "letterbox"))
            spec.keep_aspect = atoi(v);
        else if (!strcmp(k, "sym"))
            spec.symmetric_pad = atoi(v);
        else if (!strcmp(k, "scaled"))
            scaled = atoi(v);
        else if (!strcmp(k, "pad"))
            bad = parse3(v, spec.pad_value);
        else if (!strcmp(k, "scale"))
            bad = parse3(v, spec.scale);
        else if (!strcmp(k, "offset"))
            bad = parse3(v, spec.offset);
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "pre_driver: bad argument %s=%s\n", k, v);
            return 2;
        }
    }
    ei_image    img;
    ei_status * st = scaled ? ei_image_load_scaled(argv[1], load, spec.width, spec.height, &img)
                            : ei_image_load(argv[1], load, &img);
    if (st) return fail(st);
    ei_tensor * t = NULL;
    int         C = ei_preprocess_spec_channels(&spec);
    if (resize_only) {
        int      cn = ei_pixel_format_channels(load);
        ei_shape s = {3, {spec.height, spec.width, cn}};
        ei_image out;
        st = ei_tensor_create(EI_DTYPE_U8, &s, &t);
        if (!st) st = ei_image_alloc(load, spec.width, spec.height, &out);
        if (!st) {
            st = ei_image_resize(&img, &out, spec.filter);
            if (!st) memcpy(ei_tensor_data(t), out.plane[0], (size_t)spec.width * (size_t)spec.height * (size_t)cn);
            ei_image_free(&out);
        }
    } else {
        ei_shape s = {4, {1, C, spec.height, spec.width}};
        if (spec.layout == EI_LAYOUT_NHWC) s = (ei_shape){4, {1, spec.height, spec.width, C}};
        ei_frame_transform xf;
        st = ei_tensor_create(EI_DTYPE_F32, &s, &t);
        if (!st) st = ei_preprocess_batch(&spec, &img, 1, t, &xf);
        if (!st)
            printf("scale %.9g %.9g pad %g %g decoded %dx%d\n", (double)xf.scale_x, (double)xf.scale_y,
                   (double)xf.pad_x, (double)xf.pad_y, img.width, img.height);
    }
    if (!st) st = ei_tensor_save_file(t, "input", argv[2]);
    ei_tensor_destroy(t);
    ei_image_free(&img);
    return st ? fail(st) : 0;
}
