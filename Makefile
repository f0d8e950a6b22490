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

## Benchmarks: figures are printed (never asserted), with the machine they
## came from. A few minutes. See README.md, "Benchmarks".
bench:
	@echo "machine: kernel $$(uname -r), $$(nproc) cpus, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	$(CARGO) bench -q -p portcheck --bench model_replay
	$(CARGO) bench -q -p portcheck --bench lockstep
	$(CARGO) bench -q -p portcheck --bench find_and_shrink
	$(CARGO) bench -q -p portcheck-harness --bench throughput
	$(CARGO) bench -q -p portcheck-harness --bench fifo_noatime

## Mutation testing (cargo-mutants, configured in .cargo/mutants.toml) of the
## native runtime, the model and the option algebra, with a fixed seed and
## case count. Prints caught / missed / unviable / timeout and the missed
## mutants. Hours on two cores; MUTANTS_ARGS='-F regex' narrows it.
mutants: MUTANTS_SEED ?= 4242
mutants: MUTANTS_CASES ?= 1000
mutants: MUTANTS_JOBS ?= 2
mutants: MUTANTS_TIMEOUT ?= 180
mutants: MUTANTS_ARGS ?=
mutants: MUTANTS_ENV = INSTA_UPDATE=no PORTCHECK_SEED=$(MUTANTS_SEED) PROPTEST_CASES=$(MUTANTS_CASES)
mutants: MUTANTS_TESTS = --lib --test 'native_*' --test lockstep --test planted_bugs \
	--test seed_scenarios --test option_algebra --test watermark_crossing
mutants:
	@command -v cargo-mutants >/dev/null 2>&1 || $(CARGO) install cargo-mutants --locked
	@echo "machine: kernel $$(uname -r), $$(nproc) cpus, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	@echo "mutants: PORTCHECK_SEED=$(MUTANTS_SEED) PROPTEST_CASES=$(MUTANTS_CASES), $(MUTANTS_JOBS) jobs, $(MUTANTS_TIMEOUT) s test timeout"
	# Baseline: the tests every mutant gets, on the unmutated tree (cargo-mutants'
	# own baseline would test only the mutated packages, not the suite's).
	$(MUTANTS_ENV) $(CARGO) test -q --workspace $(MUTANTS_TESTS)
	@s=0; $(MUTANTS_ENV) $(CARGO) mutants --baseline skip --jobs $(MUTANTS_JOBS) --timeout $(MUTANTS_TIMEOUT) \
	  --build-timeout 1200 $(MUTANTS_ARGS) -- $(MUTANTS_TESTS) || s=$$?; \
	n() { cat mutants.out/$$1.txt 2>/dev/null | wc -l; }; \
	echo "caught $$(n caught)  missed $$(n missed)  unviable $$(n unviable)  timeout $$(n timeout)"; \
	awk -v c=$$(n caught) -v m=$$(n missed) -v t=$$(n timeout) 'BEGIN { v = c + m + t; if (v) \
	  printf "caught %.1f%% of %d viable mutants (%.1f%% counting timeouts as caught)\n", 100*c/v, v, 100*(c+t)/v }'; \
	if [ -s mutants.out/missed.txt ]; then echo "missed:"; sed 's/^/  /' mutants.out/missed.txt; fi; \
	case $$s in 0|2|3) exit 0;; *) exit $$s;; esac

## Regenerate snapshots on purpose, then review the diff.
snapshots:
	INSTA_UPDATE=always INSTA_FORCE_PASS=1 $(CARGO) test --workspace --no-fail-fast
	git diff --stat -- snapshots/ ; git status --short -- snapshots/
