# flexhooks — the two commands a newcomer needs are `make run` and `make test`.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHTIME   ?= 1x
FUZZTIME    ?= 30s

.PHONY: run emulator test bench fuzz lint fmt build tidy chaos

## run: the service on the embedded Twilio emulator (no Twilio account needed); set TWILIO_* for real Twilio
run:
	$(GO) run ./cmd/flexhooks serve

## emulator: the Twilio emulator alone, for several replicas or for poking at it with curl
emulator:
	$(GO) run ./cmd/flexhooks emulator

## test: every test, with the race detector
test:
	$(GO) test -race -count=1 ./...

## bench: benchmarks with their figures (req/s, p50/p99, round trips); BENCHTIME=5s for steadier numbers
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## chaos: the randomized contact-centre day (a fifth of Twilio's calls failing, the sweeper healing) for seeds 1..CHAOS_SEEDS (50), CHAOS_CUSTOMERS (12) customers over CHAOS_ROUNDS (36) rounds; make test plays seeds 1-3 of a short day
CHAOS_SEEDS ?= 50
CHAOS_CUSTOMERS ?= 12
CHAOS_ROUNDS ?= 36
chaos:
	@$(GO) test -c -o .chaos.test ./webhooks && fail=0; for s in $$(seq 1 $(CHAOS_SEEDS)); do \
		(cd webhooks && FLEXHOOKS_CHAOS_SEED=$$s FLEXHOOKS_CHAOS_CUSTOMERS=$(CHAOS_CUSTOMERS) FLEXHOOKS_CHAOS_ROUNDS=$(CHAOS_ROUNDS) \
			../.chaos.test -test.count=1 -test.run TestChaosHeals >/dev/null 2>&1) \
			&& echo "seed $$s: healed" || { echo "seed $$s: NOT healed (FLEXHOOKS_CHAOS_SEED=$$s FLEXHOOKS_CHAOS_CUSTOMERS=$(CHAOS_CUSTOMERS) FLEXHOOKS_CHAOS_ROUNDS=$(CHAOS_ROUNDS) go test -v -run TestChaosHeals ./webhooks)"; fail=1; }; \
	done; rm -f .chaos.test; exit $$fail

## fuzz: each fuzz target for FUZZTIME (30s): the TaskRouter expression parser; the service's HTTP surface (no 5xx, no panic)
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/emulator/taskrouter/expr
	$(GO) test -run '^$$' -fuzz FuzzHTTP -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/app

## lint: go vet and staticcheck (fetched through the Go module proxy)
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -s -w .

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/flexhooks ./cmd/flexhooks

tidy:
	$(GO) mod tidy
