"""The shapes detector: a small anchor-free, single-stride (8) YOLOX-style network.

Input  [1, 3, S, S] RGB, x / 255 (S = 320 by default).
Output [1, (S/8)^2, 5 + C] rows [tx ty tw th obj cls0..cls(C-1)], grid cells row-major; the graph
applies the sigmoids to obj and cls (edgeinfer: decoder=yolox, yolo-strides=8, yolo-sigmoid=0):
cx = (tx + gx) * 8, cy = (ty + gy) * 8, w = exp(tw) * 8, h = exp(th) * 8, score = obj * cls.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDE = 8


def cbr(cin, cout, stride=1, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ShapesDetector(nn.Module):
    def __init__(self, num_classes=4):
        super().__init__()
        self.num_classes = num_classes
        self.s2 = nn.Sequential(cbr(3, 16, 2))  # /2
        self.s4 = nn.Sequential(cbr(16, 24, 2))  # /4
        self.s8 = nn.Sequential(cbr(24, 48, 2), cbr(48, 48))  # /8
        self.s16 = nn.Sequential(cbr(48, 64, 2), cbr(64, 64))  # /16
        self.s32 = nn.Sequential(cbr(64, 96, 2), cbr(96, 96))  # /32: context for large shapes
        self.lat16 = cbr(64 + 96, 64, k=1)
        self.neck = nn.Sequential(cbr(48 + 64, 48, k=1), cbr(48, 48))
        self.head = nn.Conv2d(48, 5 + num_classes, 1)
        with torch.no_grad():
            self.head.bias.zero_()
            self.head.bias[0:2] = 0.5  # cell centre
            self.head.bias[2:4] = 1.0  # ~ 2.7 cells wide
            self.head.bias[4:] = -4.6  # prior 0.01

    def raw(self, x):
        x = self.s2(x)
        x = self.s4(x)
        p8 = self.s8(x)
        p16 = self.s16(p8)
        p32 = self.s32(p16)
        p16 = self.lat16(torch.cat([p16, F.interpolate(p32, scale_factor=2.0, mode="nearest")], 1))
        f = self.neck(torch.cat([p8, F.interpolate(p16, scale_factor=2.0, mode="nearest")], 1))
        return self.head(f)  # [B, 5 + C, S/8, S/8]

    def forward(self, x):
        p = self.raw(x)
        b, c = p.shape[0], p.shape[1]
        p = torch.cat([p[:, :4], torch.sigmoid(p[:, 4:])], 1)
        return p.reshape(b, c, -1).permute(0, 2, 1)
