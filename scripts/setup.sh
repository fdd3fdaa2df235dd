#!/usr/bin/env bash
# Installs everything edgeinfer needs on a fresh Debian 12 machine; re-running it is cheap.
# Apt packages: the C toolchain and libraries; GStreamer with the plugins the streaming app uses
# (decoders from libav, x264/x265 encoders, RTP, RTSP client and server). A Python venv (.venv) holds the test oracles
# (onnx, onnxruntime); it sees Debian's torch/torchvision, which the model export scripts use.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(build-essential cmake pkg-config clang-14 libclang-rt-14-dev clang-format
          python3 python3-venv python3-pip python3-numpy python3-torch python3-torchvision python3-pil ffmpeg
          libdnnl-dev libglib2.0-dev libjpeg62-turbo-dev libpng-dev
          libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev gstreamer1.0-tools
          gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
          gstreamer1.0-libav gstreamer1.0-rtsp)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's python (not a pyenv shim) so that Debian's torch is importable from the venv.
PY=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv --system-site-packages .venv
fi
if ! .venv/bin/python -c "import onnx, onnxruntime, numpy, torch, torchvision, cv2" 2>/dev/null; then
  echo "setup: installing Python test oracles into .venv"
  # numpy<2: Debian's torch is built against numpy 1.x.
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
fi
echo "setup: ok"
