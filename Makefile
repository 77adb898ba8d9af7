# make install: .venv with everything (runtime, export, dev); make test; make demo: the main job, offline.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBS := espeak-ng sox ffmpeg libportaudio2 libgl1
STAMP := $(VENV)/.installed

.PHONY: install system test demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(MAKE) --no-print-directory system
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[export,dev]'
	touch $(STAMP)

# Debian packages for speech synthesis in tests and the demo, audio I/O and video decoding; skipped where present.
system:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then echo "install these packages yourself: $$missing"; exit 0; fi; \
	SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	echo "installing $$missing"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null

test: install
	$(BIN)/pytest -q

demo: install
	$(BIN)/python -m tools.demo

bench: install
	$(BIN)/python tools/bench/transport.py

clean:
	rm -rf $(VENV) build *.egg-info
