#!/usr/bin/env python3
"""Export SegFormer-B0 (512x512, 150 ADE20K classes), written from the paper.

Xie et al. 2021, "SegFormer: Simple and Efficient Design for Semantic Segmentation with
Transformers". Encoder MiT-B0:

- 4 stages; overlapping patch embedding = Conv2d(k, stride s, padding k//2) + LayerNorm, with
  k/s = 7/4 for stage 1 and 3/2 for stages 2-4 (so 512 -> 128, 64, 32, 16);
- hidden sizes [32, 64, 160, 256], depths [2, 2, 2, 2], heads [1, 2, 5, 8];
- each block: x + EfficientSelfAttention(LN(x)), then x + MixFFN(LN(x));
- efficient self-attention: Q from all tokens; K and V from the sequence reduced by a
  Conv2d(C, C, R, stride R) + LayerNorm, with R = [8, 4, 2, 1] (no reduction in stage 4);
  softmax(QK^T / sqrt(d_head)) V, then an output Linear;
- Mix-FFN: Linear(C, 4C), 3x3 depthwise Conv2d on the token grid, GELU (exact, erf), Linear(4C, C);
- LayerNorm after each stage, then back to NCHW.

Decoder (all-MLP): per stage Linear(C_i, 256), bilinear upsample (align_corners=False) to 1/4
resolution, concatenate (stage 4 first, as the reference code does), 1x1 Conv(1024 -> 256, no
bias) + BatchNorm + ReLU, then a 1x1 Conv classifier to 150 classes.

Input `pixel_values` [1,3,512,512], output `logits` [1,150,128,128]. LayerNorm eps 1e-6 (the
reference MiT). Two exports: opset 17 (torch emits LayerNormalization) and opset 13 (LayerNorm
decomposed into ReduceMean/Sub/Pow/Add/Sqrt/Div/Mul/Add). Random weights, fixed seed; LayerNorm
and BatchNorm affine parameters are perturbed so that none of them is an identity.
"""
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_common as ec  # noqa: E402

IMAGE_SIZE = 512
NUM_CLASSES = 150
HIDDEN = [32, 64, 160, 256]
DEPTHS = [2, 2, 2, 2]
HEADS = [1, 2, 5, 8]
SR_RATIOS = [8, 4, 2, 1]
PATCH = [(7, 4), (3, 2), (3, 2), (3, 2)]
MLP_RATIO = 4
DECODER_DIM = 256
LN_EPS = 1e-6
OPSETS = (17, 13)


def file_stem(opset):
    return f"segformer_b0_512_opset{opset}"


def build():
    import torch
    from torch import nn
    import torch.nn.functional as F

    class OverlapPatchEmbed(nn.Module):
        def __init__(self, cin, cout, k, s):
            super().__init__()
            self.proj = nn.Conv2d(cin, cout, k, stride=s, padding=k // 2)
            self.norm = nn.LayerNorm(cout, eps=LN_EPS)

        def forward(self, x):
            x = self.proj(x)
            _, _, h, w = x.shape
            return self.norm(x.flatten(2).transpose(1, 2)), h, w

    class EfficientSelfAttention(nn.Module):
        def __init__(self, dim, heads, sr):
            super().__init__()
            self.heads, self.sr = heads, sr
            self.scale = 1.0 / math.sqrt(dim // heads)
            self.q = nn.Linear(dim, dim)
            self.kv = nn.Linear(dim, 2 * dim)
            self.proj = nn.Linear(dim, dim)
            if sr > 1:
                self.sr_conv = nn.Conv2d(dim, dim, sr, stride=sr)
                self.sr_norm = nn.LayerNorm(dim, eps=LN_EPS)

        def forward(self, x, h, w):
            b, n, c = x.shape
            d = c // self.heads
            q = self.q(x).reshape(b, n, self.heads, d).permute(0, 2, 1, 3)
            if self.sr > 1:
                y = x.transpose(1, 2).reshape(b, c, h, w)
                y = self.sr_norm(self.sr_conv(y).flatten(2).transpose(1, 2))
            else:
                y = x
            kv = self.kv(y).reshape(b, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)
            k, v = kv[0], kv[1]
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            x = (attn @ v).transpose(1, 2).reshape(b, n, c)
            return self.proj(x)

    class MixFFN(nn.Module):
        def __init__(self, dim, hidden):
            super().__init__()
            self.fc1 = nn.Linear(dim, hidden)
            self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
            self.fc2 = nn.Linear(hidden, dim)

        def forward(self, x, h, w):
            x = self.fc1(x)
            b, n, c = x.shape
            x = self.dwconv(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
            return self.fc2(F.gelu(x))  # exact (erf) GELU

    class Block(nn.Module):
        def __init__(self, dim, heads, sr):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
            self.attn = EfficientSelfAttention(dim, heads, sr)
            self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
            self.mlp = MixFFN(dim, dim * MLP_RATIO)

        def forward(self, x, h, w):
            x = x + self.attn(self.norm1(x), h, w)
            return x + self.mlp(self.norm2(x), h, w)

    class MiT(nn.Module):
        def __init__(self):
            super().__init__()
            cins = [3] + HIDDEN[:-1]
            self.embeds = nn.ModuleList(
                [OverlapPatchEmbed(ci, co, k, s) for ci, co, (k, s) in zip(cins, HIDDEN, PATCH)])
            self.blocks = nn.ModuleList(
                [nn.ModuleList([Block(c, hd, sr) for _ in range(dp)])
                 for c, hd, sr, dp in zip(HIDDEN, HEADS, SR_RATIOS, DEPTHS)])
            self.norms = nn.ModuleList([nn.LayerNorm(c, eps=LN_EPS) for c in HIDDEN])

        def forward(self, x):
            feats = []
            b = x.shape[0]
            for embed, blocks, norm in zip(self.embeds, self.blocks, self.norms):
                x, h, w = embed(x)
                for blk in blocks:
                    x = blk(x, h, w)
                x = norm(x).reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
                feats.append(x)
            return feats

    class AllMLPDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear_c = nn.ModuleList([nn.Linear(c, DECODER_DIM) for c in HIDDEN])
            self.linear_fuse = nn.Conv2d(4 * DECODER_DIM, DECODER_DIM, 1, bias=False)
            self.bn = nn.BatchNorm2d(DECODER_DIM)
            self.classifier = nn.Conv2d(DECODER_DIM, NUM_CLASSES, 1)

        def forward(self, feats):
            b, _, h4, w4 = feats[0].shape
            outs = []
            for f, lin in zip(feats, self.linear_c):
                _, _, h, w = f.shape
                y = lin(f.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, -1, h, w)
                if (h, w) != (h4, w4):
                    y = F.interpolate(y, size=(h4, w4), mode="bilinear", align_corners=False)
                outs.append(y)
            x = torch.cat(outs[::-1], dim=1)
            x = torch.relu(self.bn(self.linear_fuse(x)))
            return self.classifier(x)  # dropout is a no-op at inference

    class SegFormerB0(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = MiT()
            self.decoder = AllMLPDecoder()

        def forward(self, pixel_values):
            return self.decoder(self.encoder(pixel_values))

    return SegFormerB0()


def init_weights(net, seed=ec.SEED):
    """SegFormer's own init (trunc-normal 0.02 Linear, fan-out normal Conv) with perturbed norms."""
    import torch
    from torch import nn
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen).clamp_(-2, 2) * 0.02)
                m.bias.copy_(0.02 * torch.randn(m.bias.shape, generator=gen))
            elif isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                std = math.sqrt(2.0 / fan_out)
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                if m.bias is not None:
                    m.bias.copy_(0.02 * torch.randn(m.bias.shape, generator=gen))
            elif isinstance(m, nn.LayerNorm):
                m.weight.copy_(1.0 + 0.1 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.05 * torch.randn(m.bias.shape, generator=gen))


def export(out_dir, only=None, quiet=False):
    import torch
    stems = {file_stem(o): o for o in OPSETS}
    wanted = [s for s in stems if not only or s in only]
    if not wanted:
        return []
    ec.seed_everything()
    net = build()
    init_weights(net)
    # The only BatchNorm is in the decoder: calibrate it on encoder features of one noise image
    # (running the whole network in train mode would cost several times as much).
    net.eval()
    with torch.no_grad():
        noise = torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE,
                            generator=torch.Generator().manual_seed(ec.SEED + 2))
        feats = net.encoder(noise)
    ec.calibrate_batchnorm(net.decoder, None, batches=1, make_input=lambda gen: feats)
    net.eval()
    example = torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE,
                          generator=torch.Generator().manual_seed(ec.SEED + 1))
    paths = []
    for stem in wanted:
        t0 = time.perf_counter()
        path = os.path.join(out_dir, stem + ".onnx")
        ref = ec.torch_to_onnx(net, example, path, ["pixel_values"], ["logits"], stems[stem])
        ec.validate(path, {"pixel_values": example.numpy()}, ref, quiet=quiet)
        if not quiet:
            print(f"  {stem}: {time.perf_counter() - t0:.1f} s")
        paths.append(path)
    return paths


if __name__ == "__main__":
    sys.exit(ec.main_single(export, __doc__.splitlines()[0]))
