"""Real-image inputs for the model tests: decoding, video frames and per-model preprocessing.

The preprocessing recipes follow shared/assets/MANIFEST.md (what each model's upstream demo
does); docs/models.md lists them in a table. Images are decoded with Pillow, video frames with
the ffmpeg CLI (to PNG), and resized with an OpenCV-compatible bilinear resize (cv2.INTER_LINEAR
semantics: half-pixel centres, no antialiasing, edge clamp, rounded back to uint8), since the
upstream demos use cv2.resize. Only numpy and Pillow are needed.
"""
import dataclasses
import os
import shutil
import subprocess
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# decoding


def load_image_rgb(path):
    """HxWx3 uint8 RGB. EXIF orientation is applied, as cv2.imread does by default."""
    from PIL import Image, ImageOps
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def ffmpeg_available():
    return shutil.which("ffmpeg") is not None


def extract_video_frame(video, index, out_png):
    """Decode frame `index` (0-based, in decode order) of `video` to `out_png` with ffmpeg."""
    if os.path.exists(out_png) and os.path.getsize(out_png) > 0:
        return out_png
    os.makedirs(os.path.dirname(out_png), exist_ok=True)
    tmp = out_png + ".tmp.png"
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", video,
           "-vf", f"select=eq(n\\,{int(index)})", "-vsync", "0", "-frames:v", "1", tmp]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0 or not os.path.exists(tmp) or os.path.getsize(tmp) == 0:
        raise RuntimeError(f"ffmpeg could not extract frame {index} of {video}: "
                           f"{res.stderr.strip()[-500:]}")
    os.replace(tmp, out_png)
    return out_png


# ---------------------------------------------------------------------------------------------
# geometry


def resize_bilinear(img, out_w, out_h):
    """cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_LINEAR) for HxWxC uint8, in numpy.

    Same sampling grid as OpenCV (src = (dst + 0.5) * scale - 0.5, clamped at the edges);
    OpenCV interpolates uint8 in 11-bit fixed point, we in float32, so a pixel can differ by 1.
    """
    in_h, in_w = img.shape[:2]
    if (in_w, in_h) == (out_w, out_h):
        return img.copy()

    def axis(n_in, n_out):
        src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        i0 = np.floor(src).astype(np.int64)
        f = (src - i0).astype(np.float32)
        f[i0 < 0] = 0.0
        i0 = np.clip(i0, 0, n_in - 1)
        f[i0 >= n_in - 1] = 0.0
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, f

    y0, y1, fy = axis(in_h, out_h)
    x0, x1, fx = axis(in_w, out_w)
    src = img.astype(np.float32)
    top = src[y0][:, x0] * (1 - fx)[None, :, None] + src[y0][:, x1] * fx[None, :, None]
    bot = src[y1][:, x0] * (1 - fx)[None, :, None] + src[y1][:, x1] * fx[None, :, None]
    out = top * (1 - fy)[:, None, None] + bot * fy[:, None, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def letterbox_top_left(img, size_w, size_h, pad_value=114):
    """YOLOX's preproc: scale by r = min(H/h, W/w), paste at the top-left of a padded canvas."""
    h, w = img.shape[:2]
    r = min(size_h / h, size_w / w)
    nw, nh = int(w * r), int(h * r)
    canvas = np.full((size_h, size_w, img.shape[2]), pad_value, dtype=np.uint8)
    canvas[:nh, :nw] = resize_bilinear(img, nw, nh)
    return canvas


# ---------------------------------------------------------------------------------------------
# normalisation: float32 HxWx3 in 0..255 (already in the model's colour order) -> float32


def norm_raw(x):
    return x


def norm_ulfd(x):
    return (x - 127.0) / 128.0


def norm_minus1_1(x):
    return x / 127.5 - 1.0


def norm_imagenet(x):
    """RGB only: x/255, then (x - mean) / std per channel (torchvision's convention)."""
    return (x / 255.0 - IMAGENET_MEAN) / IMAGENET_STD


# ---------------------------------------------------------------------------------------------
# recipes


@dataclasses.dataclass
class Recipe:
    """How one model wants its single image input."""
    width: int
    height: int
    colour: str                      # "RGB" or "BGR" channel order
    geometry: str                    # "stretch" (plain resize) or "letterbox_tl" (YOLOX)
    normalize: Callable              # float32 HxWx3 (0..255, model's colour order) -> float32
    layout: str                      # "NCHW" or "NHWC"
    summary: str                     # one line for the docs and the report
    pad_value: int = 114

    def apply(self, rgb):
        if self.geometry == "letterbox_tl":
            img = letterbox_top_left(rgb, self.width, self.height, self.pad_value)
        elif self.geometry == "stretch":
            img = resize_bilinear(rgb, self.width, self.height)
        else:
            raise ValueError(f"unknown geometry {self.geometry!r}")
        if self.colour == "BGR":
            img = img[:, :, ::-1]
        elif self.colour != "RGB":
            raise ValueError(f"unknown colour order {self.colour!r}")
        x = self.normalize(img.astype(np.float32)).astype(np.float32)
        if self.layout == "NCHW":
            x = x.transpose(2, 0, 1)
        elif self.layout != "NHWC":
            raise ValueError(f"unknown layout {self.layout!r}")
        return np.ascontiguousarray(x[None], dtype=np.float32)


def _ulfd(w, h):
    return Recipe(w, h, "RGB", "stretch", norm_ulfd, "NCHW",
                  f"RGB, resize to {w}x{h} (no letterbox), (x-127)/128, NCHW")


def _yolox(s):
    return Recipe(s, s, "BGR", "letterbox_tl", norm_raw, "NCHW",
                  f"BGR, letterbox to {s}x{s} at top-left, pad 114, raw 0..255, NCHW")


def imagenet_recipe(w, h):
    return Recipe(w, h, "RGB", "stretch", norm_imagenet, "NCHW",
                  f"RGB, resize to {w}x{h}, x/255 then ImageNet mean/std, NCHW")


# Source specs: "img:<path under assets>", "coco:<file name in coco_tiny_val2017/val2017>",
# "video:<file in videos/>:<0-based frame index>". Each list puts a video frame second, so that
# even --max-inputs 2 exercises a real video frame.
FACE_INPUTS = ["img:images/faces/ulfd-1.jpg", "video:one-by-one-person-detection.mp4:100",
               "img:images/faces/ulfd-13.jpg", "coco:000000338304.jpg",
               "img:images/faces/ulfd-2.jpg"]
COCO_INPUTS = ["img:images/darknet/dog.jpg", "video:car-detection.mp4:150",
               "coco:000000125952.jpg", "coco:000000184324.jpg", "img:images/darknet/giraffe.jpg"]
PERSON_INPUTS = ["img:images/darknet/person.jpg", "video:one-by-one-person-detection.mp4:600",
                 "coco:000000161799.jpg", "video:one-by-one-person-detection.mp4:100"]
VOC_SEG_INPUTS = ["img:images/darknet/dog.jpg", "video:bottle-detection.mp4:300",
                  "img:images/darknet/person.jpg", "coco:000000384513.jpg"]
ROAD_INPUTS = ["coco:000000454661.jpg", "video:car-detection.mp4:0",
               "video:car-detection.mp4:150"]
EXPORTED_INPUTS = ["img:images/darknet/dog.jpg", "video:bottle-detection.mp4:300",
                   "coco:000000436738.jpg", "img:images/darknet/horses.jpg"]


@dataclasses.dataclass
class ModelSpec:
    input_name: Optional[str]        # None: the model's only input
    recipe: Recipe
    sources: Sequence[str]
    big: bool = False                # heavy model: fewer inputs (--max-inputs-big)


# Asset models, keyed by path relative to ASSETS/models (see MANIFEST.md).
ASSET_SPECS = {
    "face_detection/ulfd-version-RFB-320.onnx": ModelSpec("input", _ulfd(320, 240), FACE_INPUTS),
    "face_detection/ulfd-version-slim-320.onnx": ModelSpec("input", _ulfd(320, 240), FACE_INPUTS),
    "face_detection/ulfd-version-RFB-320_without_postprocessing.onnx":
        ModelSpec("input", _ulfd(320, 240), FACE_INPUTS),
    "face_detection/ulfd-version-slim-320_without_postprocessing.onnx":
        ModelSpec("input", _ulfd(320, 240), FACE_INPUTS),
    "face_detection/ulfd-version-RFB-640.onnx": ModelSpec("input", _ulfd(640, 480), FACE_INPUTS),
    "coco_detection/yolox_nano_416.onnx": ModelSpec("images", _yolox(416), COCO_INPUTS),
    "person_detection/lightweight_person_detector_192.onnx":
        ModelSpec("images", _yolox(192), PERSON_INPUTS),
    "segmentation/deeplabv3_mnv2_voc_257.onnx": ModelSpec(
        "sub_7", Recipe(257, 257, "RGB", "stretch", norm_minus1_1, "NHWC",
                        "RGB, resize to 257x257 (no letterbox), x/127.5-1, NHWC"), VOC_SEG_INPUTS),
    "segmentation/road_segmentation_adas_0001.onnx": ModelSpec(
        "data", Recipe(896, 512, "BGR", "stretch", norm_raw, "NHWC",
                       "BGR, resize to 896x512 (no letterbox), raw 0..255, NHWC"),
        ROAD_INPUTS, big=True),
}

# Models written by models/export_all.py, keyed by file name. Random weights, so the recipe is
# a test choice: real images, resized to the network size, ImageNet mean/std.
EXPORTED_SPECS = {
    "tiny_cnn.onnx": ModelSpec("image", imagenet_recipe(64, 64), EXPORTED_INPUTS),
    "ssdlite320_mobilenet_v3_large.onnx":
        ModelSpec("images", imagenet_recipe(320, 320), EXPORTED_INPUTS),
    "ssd300_vgg16.onnx": ModelSpec("images", imagenet_recipe(300, 300), EXPORTED_INPUTS, big=True),
    "ssd_mobilenet_v1_voc.onnx": ModelSpec("input_0", imagenet_recipe(300, 300), EXPORTED_INPUTS),
    "segformer_b0_512_opset17.onnx":
        ModelSpec("pixel_values", imagenet_recipe(512, 512), EXPORTED_INPUTS, big=True),
    "segformer_b0_512_opset13.onnx":
        ModelSpec("pixel_values", imagenet_recipe(512, 512), EXPORTED_INPUTS, big=True),
}


def generic_spec(input_shape) -> Optional[ModelSpec]:
    """A guess for a model we have no entry for: a 4-D 3-channel float image input.

    NCHW when dim 1 is 3, NHWC when the last dim is 3; unknown spatial dims become 224. Returns
    None when the input does not look like an image.
    """
    dims = [d if isinstance(d, int) and d > 0 else None for d in input_shape]
    if len(dims) != 4:
        return None
    if dims[1] == 3:
        layout, h, w = "NCHW", dims[2], dims[3]
    elif dims[3] == 3:
        layout, h, w = "NHWC", dims[1], dims[2]
    else:
        return None
    h, w = h or 224, w or 224
    r = imagenet_recipe(w, h)
    r.layout = layout
    r.summary = f"(generic guess) RGB, resize to {w}x{h}, x/255 then ImageNet mean/std, {layout}"
    return ModelSpec(None, r, EXPORTED_INPUTS)


class SourceCache:
    """Decodes each source (image file or video frame) once, as RGB uint8."""

    def __init__(self, assets_dir, work_dir):
        self.assets = assets_dir
        self.work = work_dir
        self.cache = {}
        self.video_ok = ffmpeg_available()

    def is_video(self, spec):
        return spec.startswith("video:")

    def available(self, spec):
        if self.is_video(spec):
            return self.video_ok and os.path.exists(self.path_of(spec))
        return os.path.exists(self.path_of(spec))

    def path_of(self, spec):
        kind, rest = spec.split(":", 1)
        if kind == "img":
            return os.path.join(self.assets, rest)
        if kind == "coco":
            return os.path.join(self.assets, "coco_tiny_val2017", "val2017", rest)
        if kind == "video":
            return os.path.join(self.assets, "videos", rest.rsplit(":", 1)[0])
        raise ValueError(f"unknown source kind in {spec!r}")

    def tag(self, spec):
        """Short printable name: dog.jpg, car#150 (frame 150 of car-detection.mp4), ..."""
        kind, rest = spec.split(":", 1)
        if kind == "video":
            name, idx = rest.rsplit(":", 1)
            return f"{os.path.splitext(name)[0].replace('-detection', '')}#{idx}"
        return os.path.basename(rest)

    def rgb(self, spec) -> Tuple[np.ndarray, str]:
        if spec not in self.cache:
            if self.is_video(spec):
                name, idx = spec.split(":", 1)[1].rsplit(":", 1)
                png = os.path.join(self.work, "frames", f"{os.path.splitext(name)[0]}_f{idx}.png")
                extract_video_frame(self.path_of(spec), int(idx), png)
                self.cache[spec] = load_image_rgb(png)
            else:
                self.cache[spec] = load_image_rgb(self.path_of(spec))
        return self.cache[spec]
