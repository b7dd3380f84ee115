PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean openapi image image-check image-lock fuzz pduclient

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,snmp,modbus,mqtt,http,hid,autoping]'
	$(MAKE) --no-print-directory pduclient
	touch $(STAMP)

# pdudaemon's own client, unchanged, from its release (the PyPI wheel leaves it out):
# tests/pdudaemon/ drive the listener with it
PDUCLIENT := $(VENV)/share/pdudaemon-1.1.1/pduclient
pduclient: $(PDUCLIENT)
$(PDUCLIENT):
	mkdir -p $(VENV)/share
	$(BIN)/pip download --quiet --no-deps --no-binary :all: --dest $(VENV)/share pdudaemon==1.1.1
	tar -xzf $(VENV)/share/pdudaemon-1.1.1.tar.gz -C $(VENV)/share pdudaemon-1.1.1/pduclient

run: install
	$(BIN)/powerctl serve

# three workers on two cores: much of the suite waits on real servers, boards and brokers;
# a file's tests stay on one worker, so module-scoped servers start once
test: install
	$(BIN)/python -m pytest -n 3 --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/run_all.py

# docs/openapi.yaml -> powerctl/openapi.json, the copy the server ships (tests/api/test_openapi.py)
# and docs/fleet-server-openapi.yaml -> fleetserver/openapi.json (tests/fleetserver/)
openapi: install
	$(BIN)/python -c 'import sys; from powerctl.openapi import main; sys.exit(main())'
	$(BIN)/python -c 'import sys; from powerctl.openapi import main; sys.exit(main())' \
		docs/fleet-server-openapi.yaml fleetserver/openapi.json

# dist/: the wheel and the firmware overlay tarball (docs/firmware.md)
image: install
	$(BIN)/python packaging/build.py --dist dist

# two complete builds of this tree, compared byte for byte
image-check: install
	rm -rf build/image-check
	$(BIN)/python packaging/build.py --dist build/image-check/one
	$(BIN)/python packaging/build.py --dist build/image-check/two
	cmp build/image-check/one/powerctl-*-none-any.whl build/image-check/two/powerctl-*-none-any.whl
	cmp build/image-check/one/powerctl-overlay-*.tar.gz build/image-check/two/powerctl-overlay-*.tar.gz

# re-resolve packaging/requirements.txt, the image's exact runtime packages
image-lock: install
	$(BIN)/python packaging/build.py --lock --dist build/image-lock

# the OpenAPI fuzzer at length: FUZZ_EXAMPLES random examples per operation (make test runs 3)
FUZZ_EXAMPLES ?= 500
fuzz: install
	POWERCTL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -p no:cacheprovider tests/e2e/test_schemathesis.py \
		tests/fleetserver/test_openapi.py

clean:
	rm -rf $(VENV) build dist *.egg-info
