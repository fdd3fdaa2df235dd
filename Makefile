# The README's two commands:
#   make demo   installs what is missing, builds, and runs the streaming app on the bundled default
#               model (models/shapes/) and a generated video
#   make test   installs what is missing, builds (release + sanitizers), and runs every test
# Everything else is a step of those two.

BUILD      ?= build
ASAN_BUILD ?= build-asan
REF_BUILD  ?= build-ref
JOBS       ?= $(shell nproc)
PY         := .venv/bin/python
EI         := $(BUILD)/tools/edgeinfer/edgeinfer
FUZZ_SECONDS ?= 120

.PHONY: demo test machine-info setup build build-asan build-ref test-release test-asan test-ref fuzz tiny-model format format-check clean

demo: setup build
	$(PY) models/shapes/make_video.py --out $(BUILD)/demo/shapes.mp4
	$(EI) run configs/app/demo_shapes.ini
	@echo "demo: annotated video $(BUILD)/demo/shapes_annotated.mp4, detections $(BUILD)/demo/shapes.jsonl"

test: machine-info setup format-check build build-asan build-ref test-release test-asan test-ref fuzz

setup:
	bash scripts/setup.sh

# The log of a test run starts with the facts its times depend on.
machine-info:
	@bash scripts/machine_info.sh

# oneDNN on (the default where libdnnl-dev is installed; setup.sh installs it), explicit so that an
# older build folder configured OFF follows.
build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DEI_WITH_ONEDNN=ON
	cmake --build $(BUILD) -j $(JOBS)

build-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEI_SANITIZE=ON -DEI_WITH_ONEDNN=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The reference kernels alone (no oneDNN) and no GStreamer: the library and CLI must keep building
# and passing without either.
build-ref:
	cmake -S . -B $(REF_BUILD) -DCMAKE_BUILD_TYPE=Release -DEI_WITH_ONEDNN=OFF -DEI_WITH_GST=OFF
	cmake --build $(REF_BUILD) -j $(JOBS)

tiny-model: build
	$(PY) models/make_tiny_model.py --out models/tiny_cnn.onnx --input-out $(BUILD)/tiny_input.npy

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-ref: build-ref
	cd $(REF_BUILD) && ctest --output-on-failure -j $(JOBS)

# The sanitizer build runs everything but the large-model comparison (too slow under ASan).
test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -LE models

fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	bash scripts/check_format.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(REF_BUILD) build-fuzz
