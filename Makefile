# Tributary: build, test, bench, invoke, demo.
# `make test` and `make demo` do all set-up on a fresh machine.

SHELL      := /bin/bash
GO         ?= go
FUNCTIONS  := transform indexer lake alarm opsgenie
GOARCH_HOST := $(shell $(GO) env GOARCH)
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags "-s -w"
TOOLS      := .tools
PYTHON     ?= python3
VENV       := $(TOOLS)/venv

.PHONY: indexer-setup all build test unit integration lint vet fmt-check cfn-lint fuzz bench invoke demo clean tools sizes \
	$(addprefix build-,TransformFunction IndexerFunction LakeFunction AlarmFunction OpsgenieFunction)

all: build

## build: every function for linux on this machine's architecture, into build/<fn>/bootstrap
build: $(addprefix build/,$(addsuffix /bootstrap,$(FUNCTIONS)))
	@$(MAKE) --no-print-directory sizes

build/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_HOST) $(GO) build $(GOFLAGS_LAMBDA) -o $@ ./functions/$*

FORCE:

sizes:
	@for f in $(FUNCTIONS); do printf '%-10s %8d KiB\n' $$f $$(( $$(stat -c %s build/$$f/bootstrap) / 1024 )); done

## sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR set; Lambda runs arm64.
define sam_target
build-$(1):
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
endef
$(eval $(call sam_target,TransformFunction,transform))
$(eval $(call sam_target,IndexerFunction,indexer))
$(eval $(call sam_target,LakeFunction,lake))
$(eval $(call sam_target,AlarmFunction,alarm))
$(eval $(call sam_target,OpsgenieFunction,opsgenie))

## tools: pinned dev tools, installed when missing: Python (moto, cfn-lint, SAM translator) and the
## Maven-built OpenSearch node launcher the indexer's tests run
tools: $(VENV)/.installed tools/opensearch/target/classpath.txt tools/duckdb/node_modules/@duckdb/node-api/package.json

# DuckDB (npm, pinned by the lock file; its binary ships inside the package) reads our Parquet in the lake's tests.
tools/duckdb/node_modules/@duckdb/node-api/package.json: tools/duckdb/package.json tools/duckdb/package-lock.json
	npm install --prefix tools/duckdb --no-save --no-audit --no-fund

tools/opensearch/target/classpath.txt: tools/opensearch/pom.xml tools/opensearch/src/main/java/tributary/opensearch/Node.java
	cd tools/opensearch && (mvn -q -B -o package || mvn -q -B package)

$(VENV)/.installed: requirements-dev.txt
	@if ! $(PYTHON) -m venv --system-site-packages $(VENV) 2>/dev/null; then rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

## test: vet, format, template lint, unit + integration tests, short fuzzing
test: tools vet fmt-check cfn-lint build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" TRIBUTARY_BUILD_DIR="$(CURDIR)/build" $(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './$(TOOLS)/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

cfn-lint: tools
	$(VENV)/bin/python -c "import sys; from cfnlint.runner import main; sys.exit(main())" template.yaml

## fuzz: every fuzz target for FUZZTIME each (default 30s)
FUZZTIME ?= 30s
fuzz:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) bash tools/fuzz.sh

## bench: throughput and allocations on the shared workload (../shared/workload) and our fixtures
WORKLOAD_DIR ?= $(CURDIR)/.workload
bench: $(WORKLOAD_DIR)/.done tools build
	TRIBUTARY_WORKLOAD=$(WORKLOAD_DIR) GOMAXPROCS=1 $(GO) test -run '^$$' -bench . -benchmem -count 1 ./shared/...
	@echo "--- the built bootstraps through the local Runtime API (init, cold, warm, max memory used)"
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(GO) run ./cmd/lambdabench -workload $(WORKLOAD_DIR) -build build
	@echo "--- lake: NDJSON to Parquet against DuckDB and gzip -6 (tools/bench-lake.sh)"
	bash tools/bench-lake.sh $(WORKLOAD_DIR)

$(WORKLOAD_DIR)/.done:
	@if [ -d ../shared/workload ]; then \
	  (cd ../shared/workload && $(GO) run . standard -out $(WORKLOAD_DIR)) && touch $@; \
	else echo "../shared/workload is absent: benchmarks use the repo's fixtures only"; mkdir -p $(WORKLOAD_DIR); fi

## invoke: run a built function once through the local Lambda Runtime API
## (-local starts what the samples need: moto's AWS, the OpenSearch bulk server, the Opsgenie test server)
FN ?= transform
EVENT ?= $(firstword $(filter-out %.expected.json,$(wildcard events/$(FN)/*.json)))
invoke: tools build/$(FN)/bootstrap
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(GO) run ./cmd/invoke -local -fn $(FN) -event $(EVENT)

## demo: the pipeline on this machine, no AWS account needed
demo: tools build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(GO) run ./cmd/demo -build build -out demo-out

## indexer-setup: install the index template and ISM policy into $$OPENSEARCH_ENDPOINT
indexer-setup:
	$(GO) run ./cmd/indexer-setup

clean:
	rm -rf build demo-out .workload tools/opensearch/target
