/* The inference config reader: defaults, every message the issue names (asserted by text), typed
 * values of each key family, and every shipped config in configs/. */
#define _GNU_SOURCE /* mkdtemp */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeinfer/config.h"
#include "ei_test.h"

#define MODEL "onnx-file=/m.onnx\n"
#define DET   "[property]\n" MODEL "num-detected-classes=2\ndecoder=yolox\n"

static ei_status * parse(const char * text, ei_infer_config ** out) {
    return ei_infer_config_parse(text, strlen(text), "infer.ini", out);
}

static int has_warning(const ei_infer_config * cfg, const char * text) {
    for (int32_t i = 0; i < cfg->n_warnings; i++)
        if (strstr(cfg->warnings[i], text)) return 1;
    return 0;
}

static void expect_error(const char * text, ei_code code, const char * msg) {
    ei_infer_config * cfg = NULL;
    EI_CHECK_ERROR(parse(text, &cfg), code, msg);
    EI_CHECK(cfg == NULL);
}

static void test_defaults(void) {
    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(parse(DET, &cfg));
    if (!cfg) return;
    EI_CHECK(cfg->size == sizeof *cfg);
    EI_CHECK(cfg->n_warnings == 0);
    EI_CHECK(cfg->batch_size == 1);
    EI_CHECK(cfg->network_mode == EI_NETWORK_MODE_FP32 && cfg->precision == EI_PRECISION_FP32);
    EI_CHECK(cfg->network_type == EI_NETWORK_TYPE_DETECTOR);
    EI_CHECK(cfg->cluster_mode == EI_CLUSTER_MODE_NMS);
    EI_CHECK(cfg->gie_unique_id == 1 && cfg->interval == 0);
    EI_CHECK(cfg->overall_topk == -1 && cfg->nms_class_agnostic == 0);
    EI_CHECK(cfg->preprocess.color == EI_PIXEL_RGB && cfg->preprocess.layout == EI_LAYOUT_NCHW);
    EI_CHECK(cfg->preprocess.filter == EI_RESIZE_NEAREST && cfg->preprocess.keep_aspect == 0);
    EI_CHECK(cfg->preprocess.width == 0 && cfg->preprocess.height == 0);
    EI_CHECK(cfg->preprocess.scale[1] == 1.0f && cfg->preprocess.offset[2] == 0.0f);
    EI_CHECK(cfg->decoder.kind == EI_DECODER_YOLOX && cfg->decoder.num_classes == 2);
    EI_CHECK(cfg->decoder.n_strides == 3 && cfg->decoder.strides[2] == 32);
    EI_CHECK(cfg->decoder.center_variance == 0.1f && cfg->decoder.size_variance == 0.2f);
    EI_CHECK(cfg->segment.layout == EI_LAYOUT_NCHW && isinf(cfg->segment.threshold));
    EI_CHECK(cfg->n_class_attrs == 2);
    for (int i = 0; i < cfg->n_class_attrs; i++) {
        EI_CHECK(cfg->class_attrs[i].pre_cluster_threshold == 0.2f);
        EI_CHECK(cfg->class_attrs[i].post_cluster_threshold == 0.0f);
        EI_CHECK(cfg->class_attrs[i].nms_iou_threshold == 0.3f);
        EI_CHECK(cfg->class_attrs[i].topk == -1);
    }
    EI_CHECK(!strcmp(cfg->onnx_file, "/m.onnx"));
    ei_infer_config_destroy(cfg);
}

static void test_unknown_key_and_group(void) {
    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(parse(DET "net-scale-factr=1\nwhatever-this-is=3\n[proprty]\nx=1\n[class-atrs-1]\n"
                          "[class-attrs-all]\npre-clustr-threshold=0.5\n",
                      &cfg));
    if (!cfg) return;
    EI_CHECK(has_warning(cfg, "infer.ini: [property] unknown key 'net-scale-factr'; did you mean 'net-scale-factor'?"));
    EI_CHECK(has_warning(cfg, "infer.ini: [property] unknown key 'whatever-this-is'"));
    EI_CHECK(!has_warning(cfg, "'whatever-this-is'; did you mean"));
    EI_CHECK(has_warning(cfg, "infer.ini: unknown group [proprty] ignored; did you mean [property]?"));
    EI_CHECK(has_warning(cfg, "unknown group [class-atrs-1] ignored; did you mean [class-attrs-1]?"));
    EI_CHECK(has_warning(cfg, "[class-attrs-all] unknown key 'pre-clustr-threshold'; did you mean "
                              "'pre-cluster-threshold'?"));
    EI_CHECK(cfg->n_warnings == 5);
    EI_CHECK(cfg->warnings[cfg->n_warnings] == NULL);
    ei_infer_config_destroy(cfg);
}

static void test_ignored_nvinfer_keys(void) {
    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(parse(DET "gpu-id=0\nprocess-mode=1\nworkspace-size=1024\nint8-calib-file=cal.bin\nnetwork-mode=2\n"
                          "[class-attrs-all]\neps=0.2\nborder-color=1;0;0;1\n",
                      &cfg));
    if (!cfg) return;
    EI_CHECK(has_warning(cfg, "infer.ini: [property] gpu-id is ignored: "));
    EI_CHECK(has_warning(cfg, "[property] process-mode is ignored: secondary"));
    EI_CHECK(has_warning(cfg, "[property] workspace-size is ignored: a TensorRT setting"));
    EI_CHECK(has_warning(cfg, "[property] int8-calib-file has no effect without network-mode=1 (int8)"));
    EI_CHECK(has_warning(cfg, "[class-attrs-all] eps is ignored: used by cluster-mode 0, 1 or 3"));
    EI_CHECK(has_warning(cfg, "[class-attrs-all] border-color is ignored"));
    EI_CHECK(cfg->network_mode == EI_NETWORK_MODE_FP16 && cfg->precision == EI_PRECISION_FP16);
    ei_infer_config_destroy(cfg);
}

static void test_network_mode_precision(void) {
    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(parse(DET "network-mode=1\nint8-calib-file=model.calib\n", &cfg));
    if (cfg) {
        EI_CHECK(cfg->precision == EI_PRECISION_INT8 && cfg->int8_calib_file &&
                 strstr(cfg->int8_calib_file, "model.calib"));
    }
    ei_infer_config_destroy(cfg);
    cfg = NULL;
    EI_CHECK_OK(parse(DET "network-mode=int8\nint8-calib-file=model.calib\n", &cfg));
    EI_CHECK(cfg && cfg->precision == EI_PRECISION_INT8);
    ei_infer_config_destroy(cfg);
    expect_error(DET "network-mode=1\n", EI_CODE_INVALID_ARGUMENT, "int8 needs int8-calib-file=FILE");
}

static void test_bad_values(void) {
    expect_error(DET "net-scale-factor=abc\n", EI_CODE_INVALID_ARGUMENT,
                 "infer.ini: [property] net-scale-factor = 'abc': not a number");
    expect_error(DET "batch-size=two\n", EI_CODE_INVALID_ARGUMENT, "[property] batch-size = 'two': not an integer");
    expect_error(DET "batch-size=0\n", EI_CODE_INVALID_ARGUMENT, "batch-size = '0': out of range [1, 1024]");
    expect_error(DET "maintain-aspect-ratio=yes\n", EI_CODE_INVALID_ARGUMENT,
                 "maintain-aspect-ratio = 'yes': not a boolean (0, 1, true or false)");
    expect_error(DET "model-color-format=7\n", EI_CODE_INVALID_ARGUMENT,
                 "model-color-format = '7': expected one of 0 (rgb), 1 (bgr), 2 (gray)");
    expect_error(DET "offsets=1;x;3\n", EI_CODE_INVALID_ARGUMENT, "offsets = '1;x;3': item 2 ('x') is not a number");
    expect_error(DET "net-scale-factor=nan\n", EI_CODE_INVALID_ARGUMENT, "not a number");
    expect_error(DET "net-scale-factor=1e999\n", EI_CODE_INVALID_ARGUMENT, "not a number");
    expect_error(DET "[class-attrs-all]\nnms-iou-threshold=high\n", EI_CODE_INVALID_ARGUMENT,
                 "infer.ini: [class-attrs-all] nms-iou-threshold = 'high': not a number");
    expect_error(DET "[class-attrs-all]\ndetected-min-w=-3\n", EI_CODE_INVALID_ARGUMENT,
                 "detected-min-w = '-3': must not be negative");
    expect_error(DET "decoder=retinanet\n", EI_CODE_INVALID_ARGUMENT,
                 "decoder = 'retinanet': expected one of 0 (ssd), 1 (boxes-scores)");
    expect_error(DET "onnx-file=\n", EI_CODE_INVALID_ARGUMENT, "onnx-file = '': empty");
    expect_error("garbage without a group\n", EI_CODE_INVALID_ARGUMENT, "infer.ini: not a valid INI file");
    expect_error("[class-attrs-all]\n", EI_CODE_INVALID_ARGUMENT, "infer.ini: no [property] group");
    expect_error("", EI_CODE_INVALID_ARGUMENT, "no [property] group");
}

static void test_refused_enum_values(void) {
    expect_error(DET "cluster-mode=1\n", EI_CODE_INVALID_ARGUMENT,
                 "infer.ini: [property] cluster-mode = '1': DBSCAN (cluster-mode=1) is not implemented; supported: 2 "
                 "(NMS), 4 (no clustering)");
    expect_error(DET "cluster-mode=0\n", EI_CODE_INVALID_ARGUMENT, "OpenCV groupRectangles (cluster-mode=0)");
    expect_error(DET "cluster-mode=3\n", EI_CODE_INVALID_ARGUMENT, "DBSCAN + NMS hybrid (cluster-mode=3)");
    expect_error(DET "network-type=3\n", EI_CODE_INVALID_ARGUMENT,
                 "network-type = '3': instance segmentation (network-type=3) is not implemented");
    expect_error(DET "scaling-filter=2\n", EI_CODE_INVALID_ARGUMENT,
                 "scaling-filter = '2': nvinfer's interpolation 2 (GPU cubic / VIC 5-tap) (scaling-filter=2) is not "
                 "implemented; supported: 0 (nearest), 1 (bilinear), area");
    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(parse(DET "cluster-mode=4\nscaling-filter=area\nnetwork-type=0\n", &cfg));
    if (cfg) EI_CHECK(cfg->cluster_mode == EI_CLUSTER_MODE_NONE && cfg->preprocess.filter == EI_RESIZE_AREA);
    ei_infer_config_destroy(cfg);
    EI_CHECK_OK(parse(DET "scaling-filter=1\ncluster-mode=nms\n", &cfg));
    if (cfg) EI_CHECK(cfg->preprocess.filter == EI_RESIZE_BILINEAR && cfg->cluster_mode == EI_CLUSTER_MODE_NMS);
    ei_infer_config_destroy(cfg);
}

static void test_model_and_paths(void) {
    expect_error("[property]\nnum-detected-classes=2\ndecoder=yolox\n", EI_CODE_INVALID_ARGUMENT,
                 "infer.ini: [property] no model: set onnx-file (or model-engine-file)");
    ei_infer_config * cfg = NULL;
    const char *      t = "[property]\nonnx-file=../models/m.onnx\nmodel-engine-file=m.engine\n"
                          "labelfile-path=/abs/labels.txt\nnum-detected-classes=2\ndecoder=yolox\n";
    EI_CHECK_OK(ei_infer_config_parse(t, strlen(t), "/tmp/ei-nowhere/cfgs/infer.ini", &cfg));
    if (!cfg) return;
    EI_CHECK(!strcmp(cfg->base_dir, "/tmp/ei-nowhere/cfgs"));
    EI_CHECK(!strcmp(cfg->onnx_file, "/tmp/ei-nowhere/models/m.onnx"));
    EI_CHECK(!strcmp(cfg->model_engine_file, "/tmp/ei-nowhere/cfgs/m.engine"));
    EI_CHECK(!strcmp(cfg->labelfile_path, "/abs/labels.txt"));
    EI_CHECK(!strcmp(cfg->config_path, "/tmp/ei-nowhere/cfgs/infer.ini"));
    EI_CHECK_ERROR(ei_infer_config_check_files(cfg), EI_CODE_NOT_FOUND,
                   "/tmp/ei-nowhere/cfgs/infer.ini: [property] onnx-file: no such file: /tmp/ei-nowhere/models/m.onnx");
    ei_infer_config_destroy(cfg);

    /* A relative config path resolves against the working directory. */
    char cwd[4096];
    EI_CHECK(getcwd(cwd, sizeof cwd) != NULL);
    EI_CHECK_OK(ei_infer_config_parse(t, strlen(t), "sub/infer.ini", &cfg));
    if (cfg) {
        char want[4200];
        snprintf(want, sizeof want, "%s/sub/m.engine", cwd);
        EI_CHECK(!strcmp(cfg->model_engine_file, want));
    }
    ei_infer_config_destroy(cfg);

    /* load(): a missing config, then a config whose model is missing. */
    EI_CHECK_ERROR(ei_infer_config_load("/nonexistent/infer.ini", &cfg), EI_CODE_NOT_FOUND,
                   "/nonexistent/infer.ini: cannot read the config");
    char dir[] = "/tmp/ei_cfg_XXXXXX";
    if (!mkdtemp(dir)) return;
    char ini[256], model[256];
    snprintf(ini, sizeof ini, "%s/infer.ini", dir);
    snprintf(model, sizeof model, "%s/m.onnx", dir);
    FILE * f = fopen(ini, "w");
    if (f) {
        fputs("[property]\nonnx-file=m.onnx\nnum-detected-classes=1\ndecoder=yolov8\n", f);
        fclose(f);
    }
    char msg[512];
    snprintf(msg, sizeof msg, "[property] onnx-file: no such file: %s", model);
    EI_CHECK_ERROR(ei_infer_config_load(ini, &cfg), EI_CODE_NOT_FOUND, msg);
    EI_CHECK(cfg == NULL);
    f = fopen(model, "w");
    if (f) fclose(f);
    EI_CHECK_OK(ei_infer_config_load(ini, &cfg));
    if (cfg) EI_CHECK(cfg->decoder.kind == EI_DECODER_YOLOV8 && !strcmp(cfg->onnx_file, model));
    ei_infer_config_destroy(cfg);
    unlink(model);
    unlink(ini);
    rmdir(dir);
}

static void test_classes_and_attrs(void) {
    expect_error("[property]\n" MODEL "decoder=yolox\n", EI_CODE_INVALID_ARGUMENT,
                 "infer.ini: [property] num-detected-classes is required for a detector (network-type=0)");
    expect_error("[property]\n" MODEL "num-detected-classes=3\n", EI_CODE_INVALID_ARGUMENT,
                 "a detector (network-type=0) needs decoder = ssd, boxes-scores, yolox");
    expect_error(DET "[class-attrs-2]\ntopk=3\n", EI_CODE_INVALID_ARGUMENT,
                 "infer.ini: [class-attrs-2] class 2 does not exist: num-detected-classes is 2");
    expect_error(DET "[class-attrs-x]\ntopk=3\n", EI_CODE_INVALID_ARGUMENT,
                 "[class-attrs-x] is not a class group: expected [class-attrs-all] or [class-attrs-<class id>]");
    expect_error(DET "[class-attrs--1]\n", EI_CODE_INVALID_ARGUMENT, "is not a class group");
    expect_error(DET "[class-attrs-all]\nthreshold=0.4\npre-cluster-threshold=0.5\n", EI_CODE_INVALID_ARGUMENT,
                 "[class-attrs-all] threshold (nvinfer's legacy name) and pre-cluster-threshold both given");

    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(parse("[property]\n" MODEL "num-detected-classes=3\ndecoder=yolox\n"
                      "[class-attrs-all]\npre-cluster-threshold=0.4\nnms-iou-threshold=0.5\ntopk=20\n"
                      "[class-attrs-1]\npre-cluster-threshold=0.9\ndetected-min-w=8\ndetected-max-h=300\n"
                      "[class-attrs-2]\nthreshold=0.6\npost-cluster-threshold=0.7\n",
                      &cfg));
    if (!cfg) return;
    EI_CHECK(cfg->n_class_attrs == 3);
    EI_CHECK_NEAR(cfg->class_attrs[0].pre_cluster_threshold, 0.4, 1e-7);
    EI_CHECK_NEAR(cfg->class_attrs[0].nms_iou_threshold, 0.5, 1e-7);
    EI_CHECK(cfg->class_attrs[0].topk == 20 && cfg->class_attrs[0].min_w == 0);
    EI_CHECK_NEAR(cfg->class_attrs[1].pre_cluster_threshold, 0.9, 1e-7);
    EI_CHECK_NEAR(cfg->class_attrs[1].nms_iou_threshold, 0.5, 1e-7); /* inherited from [class-attrs-all] */
    EI_CHECK(cfg->class_attrs[1].min_w == 8 && cfg->class_attrs[1].max_h == 300 && cfg->class_attrs[1].topk == 20);
    EI_CHECK_NEAR(cfg->class_attrs[2].pre_cluster_threshold, 0.6, 1e-7);
    EI_CHECK_NEAR(cfg->class_attrs[2].post_cluster_threshold, 0.7, 1e-7);
    ei_infer_config_destroy(cfg);

    /* Segmentation and other networks need no class count and no decoder. */
    EI_CHECK_OK(parse("[property]\n" MODEL "network-type=2\n", &cfg));
    if (cfg) EI_CHECK(cfg->n_class_attrs == 0 && cfg->class_attrs == NULL);
    ei_infer_config_destroy(cfg);
    EI_CHECK_OK(parse("[property]\n" MODEL "network-type=100\ndecoder=yolox\n", &cfg));
    if (cfg) EI_CHECK(has_warning(cfg, "[property] decoder is ignored: network-type=100 is not a detector"));
    ei_infer_config_destroy(cfg);
}

static void test_normalisation(void) {
    expect_error(DET "offsets=1;2\n", EI_CODE_INVALID_ARGUMENT,
                 "infer.ini: [property] offsets = '1;2': 2 values, model-color-format 0 (RGB) needs 3");
    expect_error(DET "model-color-format=2\noffsets=1;2;3\n", EI_CODE_INVALID_ARGUMENT,
                 "offsets = '1;2;3': 3 values, model-color-format 2 (GRAY) needs 1");
    expect_error(DET "mean=0.5;0.5;0.5\nstd=0.5;0.5;0.5\nnet-scale-factor=0.5\n", EI_CODE_INVALID_ARGUMENT,
                 "infer.ini: [property] mean/std and net-scale-factor/offsets both given");
    expect_error(DET "mean=0.5;0.5;0.5\n", EI_CODE_INVALID_ARGUMENT, "mean given without std");
    expect_error(DET "mean=0.5;0.5;0.5\nstd=0.5;0;0.5\n", EI_CODE_INVALID_ARGUMENT, "every std must be positive");
    expect_error(DET "infer-dims=1;416;416\n", EI_CODE_INVALID_ARGUMENT,
                 "infer-dims = '1;416;416': C must be 3 for model-color-format 0 (RGB) or 1 (BGR)");
    expect_error(DET "infer-dims=416;416\n", EI_CODE_INVALID_ARGUMENT, "expected C;H;W");

    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(parse(DET "model-color-format=1\nnet-scale-factor=0.5\noffsets=1;2;3;\ninfer-dims=3;240;320\n"
                          "maintain-aspect-ratio=true\nsymmetric-padding=1\npad-value=114\nnetwork-input-order=nhwc\n",
                      &cfg));
    if (cfg) {
        EI_CHECK(cfg->preprocess.color == EI_PIXEL_BGR && cfg->preprocess.layout == EI_LAYOUT_NHWC);
        EI_CHECK(cfg->preprocess.width == 320 && cfg->preprocess.height == 240);
        EI_CHECK(cfg->infer_dims[0] == 3 && cfg->infer_dims[1] == 240 && cfg->infer_dims[2] == 320);
        EI_CHECK(cfg->preprocess.keep_aspect == 1 && cfg->preprocess.symmetric_pad == 1);
        EI_CHECK(cfg->preprocess.pad_value[0] == 114 && cfg->preprocess.pad_value[2] == 114);
        EI_CHECK(cfg->preprocess.scale[0] == 0.5f && cfg->preprocess.scale[2] == 0.5f);
        EI_CHECK(cfg->preprocess.offset[0] == 1 && cfg->preprocess.offset[1] == 2 && cfg->preprocess.offset[2] == 3);
        EI_CHECK(cfg->n_offsets == 3 && cfg->net_scale_factor == 0.5f && cfg->n_warnings == 0);
    }
    ei_infer_config_destroy(cfg);

    /* (x/255 - mean) / std == (x - 255 mean) / (255 std) */
    EI_CHECK_OK(parse(DET "mean=0.485;0.456;0.406\nstd=0.229;0.224;0.225\nsymmetric-padding=1\n", &cfg));
    if (cfg) {
        EI_CHECK_NEAR(cfg->preprocess.offset[0], 255 * 0.485, 1e-4);
        EI_CHECK_NEAR(cfg->preprocess.scale[2], 1 / (255 * 0.225), 1e-7);
        EI_CHECK(has_warning(cfg, "symmetric-padding has no effect without maintain-aspect-ratio=1"));
    }
    ei_infer_config_destroy(cfg);

    EI_CHECK_OK(parse(DET "model-color-format=gray\noffsets=10\ninfer-dims=1;64;64\n", &cfg));
    if (cfg) EI_CHECK(cfg->preprocess.color == EI_PIXEL_GRAY && cfg->preprocess.offset[0] == 10);
    ei_infer_config_destroy(cfg);
}

static void test_decoder_keys(void) {
    expect_error(DET "parse-bbox-func-name=NvDsInferParseCustom\ncustom-lib-path=/x.so\n", EI_CODE_INVALID_ARGUMENT,
                 "[property] decoder = 'yolox' contradicts parse-bbox-func-name = 'NvDsInferParseCustom'");
    expect_error("[property]\n" MODEL "num-detected-classes=2\ndecoder=custom\n", EI_CODE_INVALID_ARGUMENT,
                 "decoder=custom needs custom-lib-path and parse-bbox-func-name");
    expect_error("[property]\n" MODEL "num-detected-classes=2\ndecoder=boxes-scores\nbackground-class=2\n",
                 EI_CODE_INVALID_ARGUMENT, "background-class = '2': not a class: num-detected-classes is 2");
    expect_error("[property]\n" MODEL "num-detected-classes=2\ndecoder=ssd\n", EI_CODE_INVALID_ARGUMENT,
                 "[property] prior-style is required by decoder=ssd");
    expect_error("[property]\n" MODEL "num-detected-classes=2\ndecoder=ssd\nprior-style=min-boxes\n"
                 "prior-feature-maps=40x30;20x15\n",
                 EI_CODE_INVALID_ARGUMENT, "prior-min-boxes is required by prior-style=min-boxes");
    expect_error("[property]\n" MODEL "num-detected-classes=2\ndecoder=ssd\nprior-style=min-boxes\n"
                 "prior-feature-maps=40x30;20x15\nprior-min-boxes=10,16;32;64\n",
                 EI_CODE_INVALID_ARGUMENT, "prior-min-boxes = '10,16;32;64': 3 levels, prior-feature-maps has 2");
    expect_error("[property]\n" MODEL "num-detected-classes=2\ndecoder=ssd\nprior-style=torchvision\n"
                 "prior-feature-maps=40x30;20y15\n",
                 EI_CODE_INVALID_ARGUMENT, "level 2 ('20y15') is not WxH or N with positive numbers");
    expect_error("[property]\n" MODEL "num-detected-classes=2\ndecoder=ssd\nprior-style=torchvision\n"
                 "prior-feature-maps=19;1e30\n",
                 EI_CODE_INVALID_ARGUMENT, "level 2: feature-map sizes are whole numbers up to 65536");
    expect_error("[property]\n" MODEL "num-detected-classes=2\ndecoder=ssd\nprior-style=torchvision\n"
                 "prior-feature-maps=19;2.5\n",
                 EI_CODE_INVALID_ARGUMENT, "level 2: feature-map sizes are whole numbers up to 65536");
    expect_error("[property]\n" MODEL "num-detected-classes=2\ndecoder=ssd\nprior-style=torchvision\n"
                 "prior-feature-maps=19;10\nprior-variances=0.1\n",
                 EI_CODE_INVALID_ARGUMENT, "prior-variances = '0.1': expected two positive numbers");

    /* a custom parser alone implies decoder=custom */
    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(parse("[property]\n" MODEL "num-detected-classes=4\nparse-bbox-func-name=my_parse\n"
                      "custom-lib-path=libmy.so\n",
                      &cfg));
    if (cfg) {
        EI_CHECK(cfg->decoder.kind == EI_DECODER_CUSTOM && !strcmp(cfg->parse_bbox_func_name, "my_parse"));
        EI_CHECK(cfg->custom_lib_path[0] == '/' && strstr(cfg->custom_lib_path, "/libmy.so") != NULL);
    }
    ei_infer_config_destroy(cfg);

    EI_CHECK_OK(parse("[property]\n" MODEL "num-detected-classes=91\ndecoder=ssd\nscore-function=softmax\n"
                      "infer-dims=3;320;320\noutput-blob-names=bbox_regression;cls_logits\n"
                      "boxes-output-name=bbox_regression\nscores-output-name=cls_logits\nprior-style=torchvision\n"
                      "prior-feature-maps=20;10;5;3;2;1\nprior-aspect-ratios=2,3;2,3;2,3;2,3;2,3;2,3\n"
                      "prior-min-ratio=0.2\nprior-max-ratio=0.95\nprior-clip=0\nprior-variances=0.1;0.2\n"
                      "prior-steps=16;32;64;107;160;320\noverall-topk=300\nnms-class-agnostic=0\n",
                      &cfg));
    if (cfg) {
        const ei_decoder_params * d = &cfg->decoder;
        EI_CHECK(d->kind == EI_DECODER_SSD && d->score_fn == EI_SCORE_SOFTMAX && d->num_classes == 91);
        EI_CHECK(!strcmp(d->boxes_output, "bbox_regression") && !strcmp(d->scores_output, "cls_logits"));
        EI_CHECK(cfg->n_output_blob_names == 2 && !strcmp(cfg->output_blob_names[1], "cls_logits"));
        EI_CHECK(d->priors.style == EI_PRIOR_TORCHVISION && d->priors.n_levels == 6);
        EI_CHECK(d->priors.image_w == 320 && d->priors.image_h == 320 && d->priors.clip == 0);
        EI_CHECK(d->priors.level[0].fm_w == 20 && d->priors.level[0].fm_h == 20);
        EI_CHECK(d->priors.level[3].step_x == 107 && d->priors.level[3].step_y == 107);
        EI_CHECK(d->priors.level[5].n_aspect_ratios == 2 && d->priors.level[5].aspect_ratios[1] == 3);
        EI_CHECK_NEAR(d->priors.max_ratio, 0.95, 1e-7);
        EI_CHECK(cfg->overall_topk == 300);
    }
    ei_infer_config_destroy(cfg);

    EI_CHECK_OK(parse("[property]\n" MODEL "num-detected-classes=21\ndecoder=ssd\nprior-style=pytorch-ssd\n"
                      "prior-feature-maps=19;10;5;3;2;1\nprior-min-sizes=60;105;150;195;240;285\n"
                      "prior-max-sizes=105;150;195;240;285;330\nprior-aspect-ratios=2;2,3;2,3;2,3;2;2\n",
                      &cfg));
    if (cfg) {
        EI_CHECK(cfg->decoder.priors.style == EI_PRIOR_PYTORCH_SSD);
        EI_CHECK(cfg->decoder.priors.level[1].min_size == 105 && cfg->decoder.priors.level[5].max_size == 330);
        EI_CHECK(cfg->decoder.priors.level[0].n_aspect_ratios == 1);
    }
    ei_infer_config_destroy(cfg);

    EI_CHECK_OK(parse(DET "yolo-strides=8;16;32;64\nyolo-sigmoid=1\nprior-style=min-boxes\n", &cfg));
    if (cfg) {
        EI_CHECK(cfg->decoder.n_strides == 4 && cfg->decoder.strides[3] == 64 && cfg->decoder.yolo_sigmoid == 1);
        EI_CHECK(has_warning(cfg, "[property] prior-style is ignored: it applies to decoder=ssd only"));
    }
    ei_infer_config_destroy(cfg);
}

static void test_segmentation_keys(void) {
    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(parse("[property]\n" MODEL "network-type=segmentation\nsegmentation-threshold=0.5\n"
                      "segmentation-output-order=1\nsegmentation-upsample=labels\nsegmentation-sigmoid=1\n",
                      &cfg));
    if (cfg) {
        EI_CHECK(cfg->network_type == EI_NETWORK_TYPE_SEGMENTATION);
        EI_CHECK(cfg->segment.threshold == 0.5f && cfg->segment.layout == EI_LAYOUT_NHWC);
        EI_CHECK(cfg->segment.upsample_scores == 0 && cfg->segment.sigmoid == 1);
    }
    ei_infer_config_destroy(cfg);
    expect_error("[property]\n" MODEL "network-type=2\nmean-file=mean.ppm\n", EI_CODE_INVALID_ARGUMENT,
                 "mean-file = 'mean.ppm': mean files are not supported");
}

/* ---- the shipped configs ---- */

static char * configs_dir(void) {
    /* __FILE__ is <repo>/tests/unit/config/test_config.c in a CMake build. */
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char * cut = strstr(dir, "tests/unit/config/test_config.c");
    if (!cut) return NULL;
    snprintf(cut, sizeof dir - (size_t)(cut - dir), "configs");
    return dir;
}

static ei_infer_config * parse_shipped(const char * name) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", configs_dir(), name);
    FILE * f = fopen(path, "rb");
    EI_CHECK(f != NULL);
    if (!f) return NULL;
    static char text[65536];
    size_t      n = fread(text, 1, sizeof text, f);
    fclose(f);
    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(ei_infer_config_parse(text, n, path, &cfg));
    if (!cfg) return NULL;
    EI_CHECK(cfg->n_warnings == 0);
    for (int32_t i = 0; i < cfg->n_warnings; i++) fprintf(stderr, "%s: warning: %s\n", name, cfg->warnings[i]);
    /* The files it names: present in a checkout beside shared/assets (load checks them), else reported
     * by path; then checked against $EI_ASSETS_DIR by giving parse a config path in a virtual checkout
     * beside it (paths are resolved lexically, so the folder need not exist). */
    if (access(cfg->onnx_file, F_OK) == 0) {
        EI_CHECK_OK(ei_infer_config_check_files(cfg));
        ei_infer_config * loaded = NULL;
        EI_CHECK_OK(ei_infer_config_load(path, &loaded));
        ei_infer_config_destroy(loaded);
    } else {
        EI_CHECK_ERROR(ei_infer_config_check_files(cfg), EI_CODE_NOT_FOUND, cfg->onnx_file);
    }
    /* A model shipped in the repository (models/shapes/) was checked above; the virtual checkout
     * below is for models in shared/assets only. */
    if (!strstr(cfg->onnx_file, "/shared/assets/")) return cfg;
    const char * assets = ei_test_assets_dir();
    size_t       la = strlen(assets);
    while (la > 1 && assets[la - 1] == '/') la--;
    char probe[4200];
    snprintf(probe, sizeof probe, "%.*s/models", (int)la, assets);
    if (la < 14 || strncmp(assets + la - 14, "/shared/assets", 14) || access(probe, F_OK)) {
        printf("  %s: assets not found at %s (or not in a folder named shared/assets): file check skipped\n", name,
               assets);
        return cfg;
    }
    snprintf(path, sizeof path, "%.*s/../../checkout/configs/%s", (int)la, assets, name);
    ei_infer_config * moved = NULL;
    EI_CHECK_OK(ei_infer_config_parse(text, n, path, &moved));
    if (moved) EI_CHECK_OK(ei_infer_config_check_files(moved));
    ei_infer_config_destroy(moved);
    return cfg;
}

static void check_attrs(const ei_infer_config * cfg, int32_t n, float thr, float iou) {
    EI_CHECK(cfg->num_detected_classes == n && cfg->n_class_attrs == n && cfg->decoder.num_classes == n);
    for (int32_t i = 0; i < cfg->n_class_attrs; i++) {
        EI_CHECK_NEAR(cfg->class_attrs[i].pre_cluster_threshold, thr, 1e-7);
        EI_CHECK_NEAR(cfg->class_attrs[i].nms_iou_threshold, iou, 1e-7);
    }
}

static void test_shipped_yolo(void) {
    ei_infer_config * cfg = parse_shipped("yolox_nano.ini");
    if (cfg) {
        EI_CHECK(strstr(cfg->onnx_file, "/shared/assets/models/coco_detection/yolox_nano_416.onnx") != NULL);
        EI_CHECK(strstr(cfg->labelfile_path, "coco80_classes.txt") != NULL);
        EI_CHECK(cfg->decoder.kind == EI_DECODER_YOLOX && cfg->decoder.yolo_sigmoid == 0);
        EI_CHECK(cfg->preprocess.color == EI_PIXEL_BGR && cfg->preprocess.filter == EI_RESIZE_BILINEAR);
        EI_CHECK(cfg->preprocess.width == 416 && cfg->preprocess.height == 416);
        EI_CHECK(cfg->preprocess.keep_aspect == 1 && cfg->preprocess.symmetric_pad == 0);
        EI_CHECK(cfg->preprocess.pad_value[0] == 114 && cfg->preprocess.pad_value[2] == 114);
        EI_CHECK(cfg->preprocess.scale[0] == 1 && cfg->preprocess.offset[0] == 0);
        EI_CHECK(cfg->nms_class_agnostic == 1);
        check_attrs(cfg, 80, 0.3f, 0.45f);
    }
    ei_infer_config_destroy(cfg);
    cfg = parse_shipped("person_detector.ini");
    if (cfg) {
        EI_CHECK(cfg->decoder.kind == EI_DECODER_YOLOX && cfg->preprocess.width == 192);
        EI_CHECK(cfg->preprocess.color == EI_PIXEL_BGR && cfg->preprocess.pad_value[1] == 114);
        check_attrs(cfg, 1, 0.4f, 0.5f);
    }
    ei_infer_config_destroy(cfg);
}

static void check_ulfd(const ei_infer_config * cfg) {
    EI_CHECK(cfg->preprocess.color == EI_PIXEL_RGB && cfg->preprocess.keep_aspect == 0);
    EI_CHECK(cfg->preprocess.width == 320 && cfg->preprocess.height == 240);
    EI_CHECK(cfg->preprocess.scale[1] == 0.0078125f && cfg->preprocess.offset[1] == 127);
    EI_CHECK(cfg->decoder.background_class == 0 && cfg->decoder.score_fn == EI_SCORE_NONE);
    EI_CHECK(!strcmp(cfg->decoder.boxes_output, "boxes") && !strcmp(cfg->decoder.scores_output, "scores"));
    check_attrs(cfg, 2, 0.7f, 0.3f);
}

static void test_shipped_ulfd(void) {
    const char * names[] = {"ulfd_rfb320.ini", "ulfd_slim320.ini"};
    for (int i = 0; i < 2; i++) {
        ei_infer_config * cfg = parse_shipped(names[i]);
        if (cfg) {
            check_ulfd(cfg);
            EI_CHECK(cfg->decoder.kind == EI_DECODER_BOXES_SCORES && cfg->decoder.boxes_normalized == 1);
        }
        ei_infer_config_destroy(cfg);
    }
    ei_infer_config * cfg = parse_shipped("ulfd_rfb320_raw.ini");
    if (cfg) {
        check_ulfd(cfg);
        const ei_prior_spec * ps = &cfg->decoder.priors;
        EI_CHECK(cfg->decoder.kind == EI_DECODER_SSD && ps->style == EI_PRIOR_MIN_BOXES && ps->n_levels == 4);
        EI_CHECK(strstr(cfg->onnx_file, "ulfd-version-RFB-320_without_postprocessing.onnx") != NULL);
        EI_CHECK(ps->image_w == 320 && ps->image_h == 240 && ps->clip == 1);
        int32_t fw[] = {40, 20, 10, 5}, fh[] = {30, 15, 8, 4}, ns[] = {3, 2, 2, 3}, total = 0;
        for (int l = 0; l < 4; l++) {
            EI_CHECK(ps->level[l].fm_w == fw[l] && ps->level[l].fm_h == fh[l] && ps->level[l].n_sizes == ns[l]);
            EI_CHECK(ps->level[l].step_x == 0 && ps->level[l].n_aspect_ratios == 0);
            total += fw[l] * fh[l] * ps->level[l].n_sizes;
        }
        EI_CHECK(total == 4420); /* the graph's prior count */
        EI_CHECK(ps->level[0].sizes[2] == 24 && ps->level[3].sizes[2] == 256);
        EI_CHECK(cfg->decoder.center_variance == 0.1f && cfg->decoder.size_variance == 0.2f);
    }
    ei_infer_config_destroy(cfg);
}

static void test_shipped_segmentation(void) {
    ei_infer_config * cfg = parse_shipped("deeplabv3_voc.ini");
    if (cfg) {
        EI_CHECK(cfg->network_type == EI_NETWORK_TYPE_SEGMENTATION && cfg->num_detected_classes == 21);
        EI_CHECK(cfg->preprocess.layout == EI_LAYOUT_NHWC && cfg->segment.layout == EI_LAYOUT_NHWC);
        EI_CHECK(cfg->preprocess.color == EI_PIXEL_RGB && cfg->preprocess.width == 257);
        /* x / 127.5 - 1 */
        EI_CHECK_NEAR(cfg->preprocess.scale[0] * (255 - cfg->preprocess.offset[0]), 1.0, 1e-6);
        EI_CHECK_NEAR(cfg->preprocess.scale[2] * (0 - cfg->preprocess.offset[2]), -1.0, 1e-6);
        EI_CHECK(isinf(cfg->segment.threshold) && cfg->segment.upsample_scores == 1);
        EI_CHECK(!strcmp(cfg->output_blob_names[0], "ResizeBilinear_3"));
    }
    ei_infer_config_destroy(cfg);
    cfg = parse_shipped("road_segmentation.ini");
    if (cfg) {
        EI_CHECK(cfg->network_type == EI_NETWORK_TYPE_SEGMENTATION && cfg->num_detected_classes == 4);
        EI_CHECK(cfg->preprocess.layout == EI_LAYOUT_NHWC && cfg->segment.layout == EI_LAYOUT_NHWC);
        EI_CHECK(cfg->preprocess.color == EI_PIXEL_BGR);
        EI_CHECK(cfg->preprocess.width == 896 && cfg->preprocess.height == 512);
        EI_CHECK(cfg->preprocess.scale[0] == 1 && cfg->preprocess.offset[0] == 0);
    }
    ei_infer_config_destroy(cfg);
}

/* Every .ini in configs/ parses without a warning (new ones included, without a test of their own). */
static void test_every_shipped_config(void) {
    DIR * d = opendir(configs_dir());
    EI_CHECK(d != NULL);
    if (!d) return;
    int             n = 0;
    struct dirent * e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ini")) continue;
        ei_infer_config_destroy(parse_shipped(e->d_name));
        n++;
    }
    closedir(d);
    EI_CHECK(n >= 7);
}

int main(void) {
    EI_RUN(test_defaults);
    EI_RUN(test_unknown_key_and_group);
    EI_RUN(test_ignored_nvinfer_keys);
    EI_RUN(test_network_mode_precision);
    EI_RUN(test_bad_values);
    EI_RUN(test_refused_enum_values);
    EI_RUN(test_model_and_paths);
    EI_RUN(test_classes_and_attrs);
    EI_RUN(test_normalisation);
    EI_RUN(test_decoder_keys);
    EI_RUN(test_segmentation_keys);
    EI_RUN(test_shipped_yolo);
    EI_RUN(test_shipped_ulfd);
    EI_RUN(test_shipped_segmentation);
    EI_RUN(test_every_shipped_config);
    EI_TEST_EXIT();
}
