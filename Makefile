# portcheck — the commands a user types. See README.md.
CARGO ?= cargo
CASES ?=

.PHONY: run test setup lint explore bench snapshots mutants mutants-summary corpus build

build:
	$(CARGO) build --workspace --all-targets

## The main job: the conformance check against the bundled native runtime.
run:
	$(CARGO) run --release -q -p portcheck -- run --sut native $(if $(CASES),--cases $(CASES))

## Every test (unit, property, kernel, CLI, snapshots), after the format
## and lint checks. CI runs this.
## Derandomized: the lockstep and differential properties use fixed seeds
## (suite/tests/lockstep.rs, differential.rs) and proptest's own tests a fixed
## RNG seed, so the same tree gives the same verdict. Exploring with fresh
## seeds is `make explore`.
## First installs what the tests need when it can (harness/setup.sh: as
## root, erlang-nox, iproute2, debootstrap and OTP 27/29 in chroots; else it
## names the commands and the tests that need them print SKIP). The
## differential runs on every OTP release present.
## Two lanes on the two cores (suite/test-lanes.sh): the real-OTP
## differential and node reuse beside every other test.
test: setup lint
	INSTA_UPDATE=no PROPTEST_RNG_SEED=$${PROPTEST_RNG_SEED:-4242} CARGO=$(CARGO) bash suite/test-lanes.sh

## What the tests need on this machine (PORTCHECK_SETUP=0 skips it).
setup:
	@bash harness/setup.sh

## rustfmt (rustfmt.toml) and clippy with warnings as errors, on every target.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -q -- -D warnings

## Benchmarks: figures are printed (never asserted), with the machine they
## came from. A few minutes. See README.md, "Benchmarks".
bench:
	@echo "machine: kernel $$(uname -r), $$(nproc) cpus, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	$(CARGO) bench -q -p portcheck --bench model_replay
	$(CARGO) bench -q -p portcheck --bench lockstep
	$(CARGO) bench -q -p portcheck --bench find_and_shrink
	$(CARGO) bench -q -p portcheck --bench differential
	$(CARGO) bench -q -p portcheck-native --bench throughput
	$(CARGO) bench -q -p portcheck-harness --bench fifo_noatime

## Mutation testing (cargo-mutants, configured in .cargo/mutants.toml) of the
## native runtime, the model and the option algebra, with a fixed seed and
## case count. Prints caught / missed / unviable / timeout and the missed
## mutants. MUTANTS_ARGS='-F regex' or '--shard k/n' narrows it ('-f file'
## does not: cargo-mutants adds it to the config's examine_globs), e.g.
## MUTANTS_ARGS="-F '^harness/native/src/driver_queue.rs:'".
##
## Cost, 2 cores, 2 jobs (the full run of 2026-11-25, with other work beside
## it part of the time): 1,261 mutants in 95 min, ~13 a minute; per mutant
## and job ~5.8 s to build (both jobs build at once) and ~2.8 s of tests:
## most are caught by the quick tests nextest runs first, a survivor costs
## ~10 s, a hang the 60 s timeout (5x a full test run). The first mutant of
## each job builds the copied tree from scratch (~3 min). Use
## MUTANTS_JOBS=1 while the machine is busy with something else.
##
## The target list below is the baseline's copy of additional_cargo_args in
## .cargo/mutants.toml: keep the two in step. cargo-mutants' own baseline
## tests only the mutated packages (not the suite's lockstep test), hence
## --baseline skip and this one. CARGO_TARGET_DIR is unset for cargo-mutants
## so each job builds in its own copy of the tree.
mutants: MUTANTS_SEED ?= 4242
mutants: MUTANTS_CASES ?= 1000
mutants: MUTANTS_JOBS ?= 2
mutants: MUTANTS_TIMEOUT ?= 60
mutants: MUTANTS_ARGS ?=
mutants: MUTANTS_ENV = INSTA_UPDATE=no PORTCHECK_SEED=$(MUTANTS_SEED) PROPTEST_CASES=$(MUTANTS_CASES)
mutants: MUTANTS_TESTS = --lib --test native --test native_close --test runtime --test derived_choices \
	--test model --test lockstep --test planted_bugs --test seed_scenarios --test otp_corpus
mutants:
	@command -v cargo-mutants >/dev/null 2>&1 || $(CARGO) install cargo-mutants --locked
	@command -v cargo-nextest >/dev/null 2>&1 || $(CARGO) install cargo-nextest --locked
	@echo "machine: kernel $$(uname -r), $$(nproc) cpus, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	@echo "mutants: PORTCHECK_SEED=$(MUTANTS_SEED) PROPTEST_CASES=$(MUTANTS_CASES), $(MUTANTS_JOBS) jobs, $(MUTANTS_TIMEOUT) s test timeout"
	# Baseline: the tests every mutant gets, as it gets them, on the unmutated tree.
	$(MUTANTS_ENV) $(CARGO) nextest run --workspace --cargo-profile mutants --profile mutants $(MUTANTS_TESTS)
	@s=0; $(MUTANTS_ENV) env -u CARGO_TARGET_DIR $(CARGO) mutants --baseline skip --jobs $(MUTANTS_JOBS) \
	  --timeout $(MUTANTS_TIMEOUT) --build-timeout 1200 $(MUTANTS_ARGS) || s=$$?; \
	$(MAKE) -s mutants-summary; \
	case $$s in 0|2|3) exit 0;; *) exit $$s;; esac

## The figures of the last (or an interrupted) `make mutants`, from
## mutants.out/. With MUTANTS_ARGS=--shuffle the mutants run in random order,
## so an interrupted run's figures are those of a uniform random sample.
mutants-summary:
	@n() { cat mutants.out/$$1.txt 2>/dev/null | wc -l; }; \
	total=$$(grep -o '"package"' mutants.out/mutants.json 2>/dev/null | wc -l); \
	echo "tested $$(($$(n caught) + $$(n missed) + $$(n unviable) + $$(n timeout))) of $$total mutants"; \
	echo "caught $$(n caught)  missed $$(n missed)  unviable $$(n unviable)  timeout $$(n timeout)"; \
	awk -v c=$$(n caught) -v m=$$(n missed) -v t=$$(n timeout) 'BEGIN { v = c + m + t; if (v) \
	  printf "caught %.1f%% of %d viable mutants (%.1f%% counting timeouts as caught)\n", 100*c/v, v, 100*(c+t)/v }'; \
	if [ -s mutants.out/missed.txt ]; then echo "missed:"; sed 's/^/  /' mutants.out/missed.txt; fi

## Record the OTP corpus again from real OTP, on every release present:
## the `erl` on PATH (OTP 25 here) and OTP 27/29 from their chroots
## (harness/beam/otp-chroots.sh). The cases suite/tests/otp_corpus.rs plays
## back, without erl: suite/corpus/otp<rel>-<sut>-<seed>.jsonl.gz. Fixed
## seeds; only passing cases are kept, and a run that fails says so and
## keeps the corpus file it replaces. Review the test's output before
## committing the new files.
## OTP 27 and 29 record the gate's 60 cases: seed 101 on OTP 27 failed
## once at case 132 (ST-1, a new send's bytes after the resumed senders'
## retries; it passed 3 of 3 replays: a timing the model does not allow
## yet, issue 13).
CORPUS_CASES ?= 150
CORPUS_CASES_CHROOT ?= 60
corpus:
	$(CARGO) build -q -p portcheck
	@set -e; for erl in "$$(command -v erl)" /opt/portcheck-otp/27/bin/erl /opt/portcheck-otp/29/bin/erl; do \
	  [ -x "$$erl" ] || { echo "corpus: $$erl missing, its release not recorded"; continue; }; \
	  rel=$$("$$erl" -noshell -eval 'io:format("~s",[erlang:system_info(otp_release)]), halt().'); \
	  for s in beam:101 beam-socket:202; do sut=$${s%%:*}; seed=$${s##*:}; \
	    out=suite/corpus/otp$$rel-$$sut-$$seed.jsonl.gz; new=suite/corpus/new-otp$$rel-$$sut.jsonl.gz; \
	    cases=$(CORPUS_CASES); case "$$erl" in /opt/portcheck-otp/*) cases=$(CORPUS_CASES_CHROOT);; esac; \
	    ./target/debug/portcheck run --sut $$sut --erl "$$erl" --cases $$cases --seed $$seed --shrink-limit 0 --generation uniform \
	      --record $$new > /tmp/portcheck-corpus-otp$$rel-$$sut.log 2>&1 || { \
	      echo "corpus: OTP $$rel $$sut seed $$seed did not pass (log: /tmp/portcheck-corpus-otp$$rel-$$sut.log); $$out kept"; \
	      rm -f $$new; exit 1; }; \
	    mv $$new $$out; echo "corpus: $$out"; done; done
	./target/debug/portcheck corpus suite/corpus/*.jsonl.gz | grep -E 'cases|predicted|FAILED'

## Regenerate snapshots on purpose, then review the diff. Runs only the
## tests that take snapshots (the seed scenarios, native and OTP, and the
## kernel fingerprint), so an unrelated failure elsewhere cannot block an
## intended snapshot change; a failure in these tests is still reported.
snapshots:
	INSTA_UPDATE=always INSTA_FORCE_PASS=1 $(CARGO) test -p portcheck --no-fail-fast \
	  --test seed_scenarios --test seed_scenarios_otp --test kernel
	git diff --stat -- snapshots/ ; git status --short -- snapshots/

## Exploration with fresh seeds, apart from the gate: runs `portcheck run`
## again and again until EXPLORE_TIME seconds are used, keeps going after a
## failure, saves each minimal case under EXPLORE_DIR (not replayed by
## anything until someone reviews it and moves it to suite/regressions/),
## and prints a summary. EXPLORE_SHARD=k/n spreads one exploration over n
## machines (a CI matrix): run r of shard k uses seed EXPLORE_SEED + r*n + k-1,
## so shards never repeat each other's cases; EXPLORE_SEED defaults to a
## fresh one, printed. Exit status 1 if any run failed.
## EXPLORE_ERL names the OTP build to explore (an installed release, a
## chroot's /opt/portcheck-otp/<rel>/bin/erl, or $ERL_TOP/bin/erl).
## EXPLORE_JOBS cases run at once (`portcheck run --jobs`, default 2: the
## verdicts are the serial run's). EXPLORE_GENERATION: swarm (the default
## here, also for OTP, whose `portcheck run` default is uniform: exploring
## is where swarm cases find OTP states the model does not cover yet) or
## uniform.
##   make explore EXPLORE_SUT=beam-socket EXPLORE_TIME=3600 EXPLORE_SHARD=2/4
##   make explore EXPLORE_SUT=beam EXPLORE_ERL=/opt/portcheck-otp/27/bin/erl
explore: EXPLORE_SUT ?= beam
explore: EXPLORE_CASES ?= 200
explore: EXPLORE_TIME ?= 600
explore: EXPLORE_SHARD ?= 1/1
explore: EXPLORE_DIR ?= explore-out
explore: EXPLORE_ERL ?=
explore: EXPLORE_JOBS ?= 2
explore: EXPLORE_GENERATION ?= swarm
explore: EXPLORE_SEED ?= $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
explore:
	$(CARGO) build -q --release -p portcheck
	@set -u; k=$${EXPLORE_SHARD%%/*}; n=$${EXPLORE_SHARD##*/}; \
	case "$$k$$n" in *[!0-9]*|"") echo "explore: EXPLORE_SHARD must be k/n, got $(EXPLORE_SHARD)" >&2; exit 3;; esac; \
	[ "$$k" -ge 1 ] && [ "$$k" -le "$$n" ] || { echo "explore: shard $$k of $$n" >&2; exit 3; }; \
	mkdir -p $(EXPLORE_DIR); end=$$(( $$(date +%s) + $(EXPLORE_TIME) )); r=0; runs=0; failed=0; \
	echo "explore: sut $(EXPLORE_SUT)$(if $(EXPLORE_ERL), on $(EXPLORE_ERL)), $(EXPLORE_GENERATION) cases, $(EXPLORE_CASES) a run, $(EXPLORE_JOBS) at once, $(EXPLORE_TIME) s, shard $$k/$$n, base seed $(EXPLORE_SEED), cases to $(EXPLORE_DIR)/"; \
	while [ $$(date +%s) -lt $$end ]; do \
	  seed=$$(( $(EXPLORE_SEED) + r * n + k - 1 )); r=$$((r + 1)); runs=$$((runs + 1)); \
	  if ./target/release/portcheck run --sut $(EXPLORE_SUT) $(if $(EXPLORE_ERL),--erl $(EXPLORE_ERL)) --cases $(EXPLORE_CASES) --seed $$seed --jobs $(EXPLORE_JOBS) --generation $(EXPLORE_GENERATION) \
	       --save $(EXPLORE_DIR)/$(EXPLORE_SUT)-$$seed.json > $(EXPLORE_DIR)/$(EXPLORE_SUT)-$$seed.log 2>&1; then \
	    rm -f $(EXPLORE_DIR)/$(EXPLORE_SUT)-$$seed.log; echo "seed $$seed: passed"; \
	  else failed=$$((failed + 1)); echo "seed $$seed: FAILED: $$(grep -m1 -E '^(FAILED|step [0-9]+:|portcheck:)' $(EXPLORE_DIR)/$(EXPLORE_SUT)-$$seed.log)"; fi; \
	done; \
	echo "explore: $$runs runs of $(EXPLORE_CASES) cases, $$failed failed; minimal cases and logs in $(EXPLORE_DIR)/"; \
	[ $$failed -eq 0 ]
