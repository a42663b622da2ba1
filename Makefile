# The two commands of the README. Both set the machine up first (idempotent).
SHELL := /bin/bash
TANU := target/debug/tanu
export TANU_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test setup build bench

setup:
	@bash ops/setup/all.sh

# One invocation for both commands: the same package selection and targets
# give the same feature unification, so after `make test` this is a no-op
# (README, "Operating Tanu"); `-p tanu-idp` or `--bins` would resolve other
# features and recompile for minutes.
build: setup
	cargo build --workspace --all-targets

## make run: set up, build, migrate, create demo data, serve on http://127.0.0.1:8080
run: build
	$(TANU) migrate
	@bash ops/setup/demo.sh
	@echo
	@echo "Discovery:           http://127.0.0.1:8080/.well-known/openid-configuration"
	@echo "Demo relying party:  http://127.0.0.1:8081/   (click 'Log in with national biometrics')"
	@echo "Add yourself first:  $(TANU) registry add --sandbox --iin <your IIN> --name '<Family Given>' --photo selfie.jpg   (the demo relying party is a sandbox client: test persons only)"
	@bash ops/run.sh

## make test: set up, then every test, on SQLite and on PostgreSQL
test: build
	@bash ops/run-tests.sh

## make bench: Tanu (release) on SQLite and PostgreSQL beside node oidc-provider,
## pinned to separate cores (ops/bench/run.sh; not part of make test)
bench:
	@bash ops/bench/run.sh
