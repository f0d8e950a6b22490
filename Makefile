# portcheck — the commands a user types. See README.md.
CARGO ?= cargo
CASES ?=

.PHONY: run test bench snapshots mutants build

build:
	$(CARGO) build --workspace --all-targets

## The main job: the conformance check against the bundled native runtime.
run:
	$(CARGO) run --release -q -p portcheck -- run --sut native $(if $(CASES),--cases $(CASES))

## Every test (unit, property, kernel, CLI, snapshots). CI runs this.
test:
	INSTA_UPDATE=no $(CARGO) test --workspace --no-fail-fast

bench:
	$(CARGO) bench -p portcheck

## Regenerate snapshots on purpose, then review the diff.
snapshots:
	INSTA_UPDATE=always INSTA_FORCE_PASS=1 $(CARGO) test --workspace --no-fail-fast
	git diff --stat -- snapshots/ ; git status --short -- snapshots/
