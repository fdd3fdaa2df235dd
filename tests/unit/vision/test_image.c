/* Images: format names, allocation, YUV conversion against the BT.601 formula, PNG/JPEG round trips
 * and every PNG flavour, and the errors (corrupt, truncated, not an image, oversized header). */
#include <png.h>
#include <stdint.h>
#include <unistd.h>

#include "edgeinfer/image.h"
#include "ei_test.h"

static void test_format_names(void) {
    ei_pixel_format f;
    for (int i = 0; i < EI_PIXEL_FORMAT_COUNT; i++) {
        EI_CHECK(ei_pixel_format_parse(ei_pixel_format_name((ei_pixel_format)i), &f) == 0);
        EI_CHECK(f == (ei_pixel_format)i);
    }
    EI_CHECK(ei_pixel_format_parse("NV12", &f) == 0 && f == EI_PIXEL_NV12);
    EI_CHECK(ei_pixel_format_parse("yuyv", &f) != 0);
    EI_CHECK(strcmp(ei_pixel_format_name((ei_pixel_format)99), "invalid") == 0);
    EI_CHECK(ei_pixel_format_channels(EI_PIXEL_BGRA) == 4);
    EI_CHECK(ei_pixel_format_channels(EI_PIXEL_GRAY) == 1);
    EI_CHECK(ei_pixel_format_channels(EI_PIXEL_I420) == 3);
}

static void test_alloc_free(void) {
    ei_image img;
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_BGR, 5, 3, &img));
    EI_CHECK(img.stride[0] == 15 && img.owned == img.plane[0]);
    ei_image_free(&img);
    EI_CHECK(img.plane[0] == NULL && img.owned == NULL);
    ei_image_free(&img);
    ei_image_free(NULL);
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_I420, 4, 2, &img));
    EI_CHECK(img.plane[1] == img.plane[0] + 8 && img.plane[2] == img.plane[1] + 2 && img.stride[2] == 2);
    ei_image_free(&img);
    EI_CHECK_ERROR(ei_image_alloc(EI_PIXEL_NV12, 5, 4, &img), EI_CODE_INVALID_ARGUMENT, "even size");
    EI_CHECK_ERROR(ei_image_alloc(EI_PIXEL_RGB, 0, 4, &img), EI_CODE_INVALID_ARGUMENT, "not positive");
    EI_CHECK_ERROR(ei_image_alloc(EI_PIXEL_RGB, 65536, 65536, &img), EI_CODE_INVALID_ARGUMENT, "2^28");
}

static int ref_channel(double v) {
    long r = lround(v);
    return r < 0 ? 0 : r > 255 ? 255 : (int)r;
}

/* NV12 and I420 of the same samples convert identically, within 1 of the BT.601 formula. */
static void test_yuv_conversion(void) {
    enum { W = 16, H = 8 };
    ei_image nv, i4, rgb, bgr;
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_NV12, W, H, &nv));
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_I420, W, H, &i4));
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_RGB, W, H, &rgb));
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_BGR, W, H, &bgr));
    for (int i = 0; i < W * H; i++) nv.plane[0][i] = i4.plane[0][i] = (uint8_t)(i * 37 % 256);
    for (int i = 0; i < W * H / 4; i++) {
        uint8_t u = (uint8_t)(i * 53 % 256), v = (uint8_t)(255 - i * 29 % 256);
        nv.plane[1][2 * i] = i4.plane[1][i] = u;
        nv.plane[1][2 * i + 1] = i4.plane[2][i] = v;
    }
    EI_CHECK_OK(ei_image_convert(&nv, &rgb));
    EI_CHECK_OK(ei_image_convert(&i4, &bgr));
    int worst = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int Y = nv.plane[0][y * W + x], U = i4.plane[1][(y / 2) * (W / 2) + x / 2] - 128,
                V = i4.plane[2][(y / 2) * (W / 2) + x / 2] - 128;
            double yy = 1.164 * (Y < 16 ? 0 : Y - 16);
            int    ref[3] = {ref_channel(yy + 1.596 * V), ref_channel(yy - 0.813 * V - 0.391 * U),
                             ref_channel(yy + 2.018 * U)};
            for (int c = 0; c < 3; c++) {
                int d = abs(rgb.plane[0][(y * W + x) * 3 + c] - ref[c]);
                worst = d > worst ? d : worst;
                EI_CHECK(rgb.plane[0][(y * W + x) * 3 + c] == bgr.plane[0][(y * W + x) * 3 + 2 - c]);
            }
        }
    EI_CHECK(worst <= 1);
    ei_image gray;
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_GRAY, W, H, &gray));
    EI_CHECK_OK(ei_image_convert(&rgb, &gray));
    const uint8_t * p = rgb.plane[0];
    EI_CHECK_NEAR(gray.plane[0][5], 0.299 * p[15] + 0.587 * p[16] + 0.114 * p[17], 0.51);
    EI_CHECK_ERROR(ei_image_convert(&rgb, &nv), EI_CODE_INVALID_ARGUMENT, "destination format nv12");
    ei_image_free(&gray), ei_image_free(&nv), ei_image_free(&i4), ei_image_free(&rgb), ei_image_free(&bgr);
}

static void tmp_path(char * buf, size_t n, const char * ext) {
    snprintf(buf, n, "/tmp/ei_test_image_%ld%s", (long)getpid(), ext);
}

static void test_png_jpeg_round_trip(void) {
    ei_image img, back;
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_BGR, 33, 17, &img));
    for (int i = 0; i < 33 * 17 * 3; i++) img.plane[0][i] = (uint8_t)((i / 3 % 33) * 5 + (i % 3) * 30);
    char path[128];
    tmp_path(path, sizeof path, ".png");
    EI_CHECK_OK(ei_image_save(&img, path, 0));
    EI_CHECK_OK(ei_image_load(path, EI_PIXEL_BGR, &back));
    EI_CHECK(back.width == 33 && back.height == 17 && memcmp(back.plane[0], img.plane[0], 33 * 17 * 3) == 0);
    ei_image_free(&back);
    EI_CHECK_OK(ei_image_load(path, EI_PIXEL_RGBA, &back));
    EI_CHECK(back.plane[0][0] == img.plane[0][2] && back.plane[0][2] == img.plane[0][0] && back.plane[0][3] == 255);
    ei_image_free(&back);
    unlink(path);
    tmp_path(path, sizeof path, ".jpg");
    EI_CHECK_OK(ei_image_save(&img, path, 95));
    EI_CHECK_OK(ei_image_load(path, EI_PIXEL_BGR, &back));
    int worst = 0;
    for (int i = 0; i < 33 * 17 * 3; i++)
        worst = abs(back.plane[0][i] - img.plane[0][i]) > worst ? abs(back.plane[0][i] - img.plane[0][i]) : worst;
    EI_CHECK(back.width == 33 && worst < 12);
    ei_image_free(&back);
    /* Truncated JPEG: an error naming the file, nothing leaked. */
    FILE *  f = fopen(path, "rb");
    uint8_t buf[8192];
    size_t  n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(path, "wb");
    fwrite(buf, 1, n / 2, f);
    fclose(f);
    EI_CHECK_ERROR(ei_image_load(path, EI_PIXEL_RGB, &back), EI_CODE_INVALID_ARGUMENT, path);
    EI_CHECK_ERROR(ei_image_decode(buf, n / 2, EI_PIXEL_RGB, &back), EI_CODE_INVALID_ARGUMENT, "corrupt JPEG");
    /* Oversized header: SOF0 patched to 65000 x 65000. */
    for (size_t i = 0; i + 9 < n; i++)
        if (buf[i] == 0xff && buf[i + 1] == 0xc0) {
            buf[i + 5] = buf[i + 7] = 0xfd;
            buf[i + 6] = buf[i + 8] = 0xe8;
            break;
        }
    EI_CHECK_ERROR(ei_image_decode(buf, n, EI_PIXEL_RGB, &back), EI_CODE_INVALID_ARGUMENT,
                   "65000x65000 is more than 2^28");
    unlink(path);
    /* Saving: a bad extension or folder leaves nothing behind. */
    EI_CHECK_ERROR(ei_image_save(&img, "/tmp/x.bmp", 0), EI_CODE_INVALID_ARGUMENT, "unknown image extension");
    EI_CHECK_ERROR(ei_image_save(&img, "/nonexistent-dir/x.png", 0), EI_CODE_IO, "/nonexistent-dir/x.png");
    ei_image_free(&img);
}

/* Writes a PNG of the given type with libpng (rows of w samples made from x and y). */
static void write_png(const char * path, int w, int h, int color_type, int depth, int with_trns) {
    FILE *      f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop   info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
        png_set_PLTE(png, info, pal, 4);
        if (with_trns) {
            png_byte t[1] = {0};
            png_set_tRNS(png, info, t, 1, NULL);
        }
    }
    png_write_info(png, info);
    int       channels = png_get_channels(png, info);
    size_t    row_bytes = png_get_rowbytes(png, info);
    uint8_t * row = calloc(1, row_bytes);
    for (int y = 0; y < h; y++) {
        for (size_t i = 0; i < row_bytes; i++)
            row[i] = (uint8_t)(color_type == PNG_COLOR_TYPE_PALETTE ? (i + (size_t)y) % 4 : i * 9 + (size_t)y);
        (void)channels;
        png_write_row(png, row);
    }
    free(row);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void test_png_flavours(void) {
    char path[128];
    tmp_path(path, sizeof path, "_flavour.png");
    ei_image img;
    write_png(path, 5, 3, PNG_COLOR_TYPE_GRAY, 8, 0);
    EI_CHECK_OK(ei_image_load(path, EI_PIXEL_RGB, &img));
    EI_CHECK(img.format == EI_PIXEL_RGB && img.plane[0][3] == 9 && img.plane[0][4] == 9 && img.plane[0][5] == 9);
    ei_image_free(&img);
    write_png(path, 4, 2, PNG_COLOR_TYPE_PALETTE, 8, 1);
    EI_CHECK_OK(ei_image_load(path, EI_PIXEL_BGR, &img));
    EI_CHECK(img.plane[0][0] == 0 && img.plane[0][2] == 255 && img.plane[0][3] == 0 && img.plane[0][4] == 255);
    ei_image_free(&img);
    write_png(path, 3, 2, PNG_COLOR_TYPE_RGB, 16, 0); /* high bytes 0, 18, 36...: bytes 0, 2, 4 of a row */
    EI_CHECK_OK(ei_image_load(path, EI_PIXEL_RGB, &img));
    EI_CHECK(img.width == 3 && img.plane[0][0] == 0 && img.plane[0][1] == 18 && img.plane[0][2] == 36);
    ei_image_free(&img);
    write_png(path, 3, 2, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0);
    EI_CHECK_OK(ei_image_load(path, EI_PIXEL_GRAY, &img));
    EI_CHECK(img.format == EI_PIXEL_GRAY && img.stride[0] == 3);
    EI_CHECK_NEAR(img.plane[0][1], 0.299 * 36 + 0.587 * 45 + 0.114 * 54, 0.51);
    ei_image_free(&img);
    write_png(path, 3, 2, PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0);
    EI_CHECK_OK(ei_image_load(path, EI_PIXEL_BGRA, &img));
    EI_CHECK(img.plane[0][3] == 255 && img.plane[0][4] == 36);
    ei_image_free(&img);
    /* Oversized header: a valid IHDR announcing 20000 x 20000. */
    FILE *      f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop   info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, 20000, 20000, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    EI_CHECK_ERROR(ei_image_load(path, EI_PIXEL_RGB, &img), EI_CODE_INVALID_ARGUMENT, "20000x20000 is more than 2^28");
    /* Corrupt: a PNG signature followed by junk. */
    f = fopen(path, "wb");
    fwrite("\x89PNG\r\n\x1a\nthis is not a chunk at all", 1, 34, f);
    fclose(f);
    EI_CHECK_ERROR(ei_image_load(path, EI_PIXEL_RGB, &img), EI_CODE_INVALID_ARGUMENT, "corrupt PNG");
    f = fopen(path, "wb");
    fwrite("GIF89a....", 1, 10, f);
    fclose(f);
    EI_CHECK_ERROR(ei_image_load(path, EI_PIXEL_RGB, &img), EI_CODE_UNSUPPORTED, "not a JPEG or PNG");
    unlink(path);
    EI_CHECK_ERROR(ei_image_load(path, EI_PIXEL_RGB, &img), EI_CODE_NOT_FOUND, path);
    EI_CHECK_ERROR(ei_image_decode("", 0, EI_PIXEL_RGB, &img), EI_CODE_UNSUPPORTED, "0 bytes");
    EI_CHECK_ERROR(ei_image_decode("\xff\xd8\xff", 3, EI_PIXEL_NV12, &img), EI_CODE_INVALID_ARGUMENT, "nv12");
}

static void test_scaled_decode(void) {
    ei_image img, small;
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_RGB, 64, 48, &img));
    memset(img.plane[0], 128, 64 * 48 * 3);
    char path[128];
    tmp_path(path, sizeof path, "_scaled.jpg");
    EI_CHECK_OK(ei_image_save(&img, path, 90));
    EI_CHECK_OK(ei_image_load_scaled(path, EI_PIXEL_RGB, 16, 10, &small));
    EI_CHECK(small.width == 16 && small.height == 12); /* 1/4: never below the minimum */
    ei_image_free(&small);
    EI_CHECK_OK(ei_image_load_scaled(path, EI_PIXEL_RGB, 17, 10, &small));
    EI_CHECK(small.width == 32 && small.height == 24);
    ei_image_free(&small);
    EI_CHECK_OK(ei_image_load_scaled(path, EI_PIXEL_RGB, 0, 0, &small));
    EI_CHECK(small.width == 64);
    ei_image_free(&small);
    unlink(path);
    ei_image_free(&img);
}

int main(void) {
    EI_RUN(test_format_names);
    EI_RUN(test_alloc_free);
    EI_RUN(test_yuv_conversion);
    EI_RUN(test_png_jpeg_round_trip);
    EI_RUN(test_png_flavours);
    EI_RUN(test_scaled_decode);
    EI_TEST_EXIT();
}
