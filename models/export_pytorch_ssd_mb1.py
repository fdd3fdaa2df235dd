#!/usr/bin/env python3
"""Export SSD-MobileNet-v1 as trained with pytorch-ssd (the Jetson `train_ssd.py` models).

The architecture follows qfgaohao/pytorch-ssd and its dusty-nv fork (vision/nn/mobilenet.py,
vision/ssd/mobilenetv1_ssd.py, vision/ssd/ssd.py), rewritten here:

- base net: MobileNetV1 `model` (conv_bn 3->32/s2, then 13 depthwise-separable blocks
  conv_dw = dw3x3+BN+ReLU, pw1x1+BN+ReLU); the fc layer is not used.
- source layers: the output of base_net[0:12] (512 ch, 19x19) and of base_net[12:14]
  (1024 ch, 10x10).
- extras: four (1x1 conv + ReLU, 3x3/s2 pad 1 conv + ReLU) blocks: 1024->256->512 (5x5),
  512->128->256 (3x3), 256->128->256 (2x2), 256->128->256 (1x1).
- headers: a 3x3 pad 1 conv per feature map, 6 boxes per location: 6*4 regression channels,
  6*21 classification channels; output permuted to NHWC and reshaped to [1, HW*6, K].
  19^2*6 + 10^2*6 + 5^2*6 + 3^2*6 + 2^2*6 + 1*6 = 3000 priors.

Export as the fork's onnx_export.py does (SSD built with is_test=True): the graph applies
softmax(dim=2) to the confidences, decodes the regression against the priors generated from
mobilenetv1_ssd_config (center_variance 0.1, size_variance 0.2) and converts centre form to
corner form. Input `input_0` [1,3,300,300]; outputs `scores` [1,3000,21], `boxes` [1,3000,4].
pytorch-ssd itself feeds RGB (x - 127) / 128; the weights here are random (fixed seed).
"""
import itertools
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_common as ec  # noqa: E402

OPSET = 11  # an older-style export (Slice with inputs, opset-11 Softmax semantics)
NUM_CLASSES = 21  # PASCAL VOC + background
IMAGE_SIZE = 300
CENTER_VARIANCE = 0.1
SIZE_VARIANCE = 0.2
# mobilenetv1_ssd_config.specs: (feature map size, shrinkage, box size min, max, aspect ratios)
SPECS = [
    (19, 16, 60, 105, (2, 3)),
    (10, 32, 105, 150, (2, 3)),
    (5, 64, 150, 195, (2, 3)),
    (3, 100, 195, 240, (2, 3)),
    (2, 150, 240, 285, (2, 3)),
    (1, 300, 285, 330, (2, 3)),
]
FILE_STEM = "ssd_mobilenet_v1_voc"


def generate_priors(specs=SPECS, image_size=IMAGE_SIZE):
    """Centre-form priors [N,4] in pytorch-ssd's order (per map: row j, column i, 6 boxes)."""
    import torch
    priors = []
    for fm, shrink, bmin, bmax, ratios in specs:
        scale = image_size / shrink
        for j, i in itertools.product(range(fm), repeat=2):
            cx, cy = (i + 0.5) / scale, (j + 0.5) / scale
            s = bmin / image_size
            priors.append([cx, cy, s, s])
            s = math.sqrt(bmax * bmin) / image_size
            priors.append([cx, cy, s, s])
            s = bmin / image_size
            for r in ratios:
                r = math.sqrt(r)
                priors.append([cx, cy, s * r, s / r])
                priors.append([cx, cy, s / r, s * r])
    return torch.clamp(torch.tensor(priors, dtype=torch.float32), 0.0, 1.0)


def build(num_classes=NUM_CLASSES):
    import torch
    from torch import nn

    def conv_bn(inp, oup, stride):
        return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False),
                             nn.BatchNorm2d(oup), nn.ReLU(inplace=True))

    def conv_dw(inp, oup, stride):
        return nn.Sequential(nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
                             nn.BatchNorm2d(inp), nn.ReLU(inplace=True),
                             nn.Conv2d(inp, oup, 1, 1, 0, bias=False),
                             nn.BatchNorm2d(oup), nn.ReLU(inplace=True))

    def extra(inp, mid, oup):
        return nn.Sequential(nn.Conv2d(inp, mid, kernel_size=1), nn.ReLU(),
                             nn.Conv2d(mid, oup, kernel_size=3, stride=2, padding=1), nn.ReLU())

    class SSDMobileNetV1(nn.Module):
        def __init__(self):
            super().__init__()
            self.num_classes = num_classes
            self.base_net = nn.Sequential(
                conv_bn(3, 32, 2), conv_dw(32, 64, 1), conv_dw(64, 128, 2), conv_dw(128, 128, 1),
                conv_dw(128, 256, 2), conv_dw(256, 256, 1), conv_dw(256, 512, 2),
                *[conv_dw(512, 512, 1) for _ in range(5)],
                conv_dw(512, 1024, 2), conv_dw(1024, 1024, 1))
            self.source_layer_indexes = [12, 14]
            self.extras = nn.ModuleList([extra(1024, 256, 512), extra(512, 128, 256),
                                         extra(256, 128, 256), extra(256, 128, 256)])
            chans = [512, 1024, 512, 256, 256, 256]
            self.classification_headers = nn.ModuleList(
                [nn.Conv2d(c, 6 * num_classes, kernel_size=3, padding=1) for c in chans])
            self.regression_headers = nn.ModuleList(
                [nn.Conv2d(c, 6 * 4, kernel_size=3, padding=1) for c in chans])
            self.register_buffer("priors", generate_priors())
            self.is_test = True

        def compute_header(self, i, x):
            conf = self.classification_headers[i](x).permute(0, 2, 3, 1).contiguous()
            conf = conf.view(conf.size(0), -1, self.num_classes)
            loc = self.regression_headers[i](x).permute(0, 2, 3, 1).contiguous()
            loc = loc.view(loc.size(0), -1, 4)
            return conf, loc

        def forward(self, x):
            confs, locs = [], []
            start, header = 0, 0
            for end in self.source_layer_indexes:
                for layer in self.base_net[start:end]:
                    x = layer(x)
                start = end
                c, l_ = self.compute_header(header, x)
                header += 1
                confs.append(c)
                locs.append(l_)
            for layer in self.base_net[start:]:
                x = layer(x)
            for layer in self.extras:
                x = layer(x)
                c, l_ = self.compute_header(header, x)
                header += 1
                confs.append(c)
                locs.append(l_)
            confidences = torch.cat(confs, 1)
            locations = torch.cat(locs, 1)
            if not self.is_test:
                return confidences, locations
            confidences = torch.nn.functional.softmax(confidences, dim=2)
            # box_utils.convert_locations_to_boxes, then center_form_to_corner_form
            priors = self.priors.unsqueeze(0)
            boxes = torch.cat([
                locations[..., :2] * CENTER_VARIANCE * priors[..., 2:] + priors[..., :2],
                torch.exp(locations[..., 2:] * SIZE_VARIANCE) * priors[..., 2:]], dim=2)
            boxes = torch.cat([boxes[..., :2] - boxes[..., 2:] / 2,
                               boxes[..., :2] + boxes[..., 2:] / 2], dim=2)
            return confidences, boxes

    return SSDMobileNetV1().eval()


def export(out_dir, only=None, quiet=False):
    import torch
    if only and FILE_STEM not in only:
        return []
    t0 = time.perf_counter()
    ec.seed_everything()
    net = build()
    # Calibrate BN on the base net only; the extras have 1x1 maps, fine without BN.
    ec.calibrate_batchnorm(net.base_net, (2, 3, IMAGE_SIZE, IMAGE_SIZE))
    net.eval()
    example = torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE,
                          generator=torch.Generator().manual_seed(ec.SEED + 1))
    path = os.path.join(out_dir, FILE_STEM + ".onnx")
    ref = ec.torch_to_onnx(net, example, path, ["input_0"], ["scores", "boxes"], OPSET)
    ec.validate(path, {"input_0": example.numpy()}, ref, quiet=quiet)
    if not quiet:
        print(f"  {FILE_STEM}: {time.perf_counter() - t0:.1f} s")
    return [path]


if __name__ == "__main__":
    sys.exit(ec.main_single(export, __doc__.splitlines()[0]))
