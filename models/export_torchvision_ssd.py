#!/usr/bin/env python3
"""Export torchvision's SSDlite320-MobileNetV3-Large and SSD300-VGG16, network only.

torchvision's SSD wraps the network in a GeneralizedRCNNTransform (resize + normalise) and
follows it with anchor decoding and NMS. We export neither: the graph is backbone + SSDHead, and
its two outputs are the head outputs exactly as SSDHead returns them, concatenated over all
feature maps:

    bbox_regression  [1, N, 4]   raw box regression against torchvision's DefaultBoxGenerator
    cls_logits       [1, N, 91]  raw class logits (91 = COCO ids incl. background/unused)

N = 3234 for SSDlite320 and 8732 for SSD300. Inputs are named `images`: [1,3,320,320] and
[1,3,300,300], already normalised (ImageNet mean/std would be the natural choice; the weights are
random, so the preprocessing is a test choice only).

Weights are random (weights=None, weights_backbone=None) from a fixed torch seed. The head's
zero biases get small random values, and BatchNorm running statistics are calibrated on seeded
noise, so that no bias is zero and no BN layer is an identity.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_common as ec  # noqa: E402

OPSET = 13  # torch 1.13 exports every op used here at 13 (HardSwish becomes HardSigmoid + Mul)

MODELS = {
    # file stem: (torchvision builder name, input size)
    "ssdlite320_mobilenet_v3_large": ("ssdlite320_mobilenet_v3_large", 320),
    "ssd300_vgg16": ("ssd300_vgg16", 300),
}


def _network_only(builder_name):
    import torch
    from torchvision.models import detection

    class SSDNetworkOnly(torch.nn.Module):
        """backbone + head of a torchvision SSD, without transform, anchors and NMS."""

        def __init__(self, ssd):
            super().__init__()
            self.backbone = ssd.backbone
            self.head = ssd.head

        def forward(self, images):
            features = list(self.backbone(images).values())
            out = self.head(features)
            return out["bbox_regression"], out["cls_logits"]

    ssd = getattr(detection, builder_name)(weights=None, weights_backbone=None)
    return SSDNetworkOnly(ssd).eval()


def export_one(stem, out_dir, quiet=False):
    import torch
    builder, size = MODELS[stem]
    ec.seed_everything()
    net = _network_only(builder)
    ec.randomize_zero_biases(net)
    # Batch 2: the last SSDlite extra layers are 1x1, and train-mode BN needs >1 value per channel.
    ec.calibrate_batchnorm(net, (2, 3, size, size))
    example = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(ec.SEED + 1))
    path = os.path.join(out_dir, stem + ".onnx")
    ref = ec.torch_to_onnx(net, example, path, ["images"], ["bbox_regression", "cls_logits"], OPSET)
    ec.validate(path, {"images": example.numpy()}, ref, quiet=quiet)
    return path


def export(out_dir, only=None, quiet=False):
    paths = []
    for stem in MODELS:
        if only and stem not in only:
            continue
        t0 = time.perf_counter()
        paths.append(export_one(stem, out_dir, quiet=quiet))
        if not quiet:
            print(f"  {stem}: {time.perf_counter() - t0:.1f} s")
    return paths


if __name__ == "__main__":
    sys.exit(ec.main_single(export, __doc__.splitlines()[0]))
