# partyline: `make run` and `make test` are the whole set-up.
CXX      ?= g++
PKGS      = libwebsockets libuv lua5.4 libcjson sqlite3 libsodium libssl libcrypto hiredis libssh libpq
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -Wall -Wextra -fno-exceptions -fno-rtti
BUILD     = build
# SAN=1: AddressSanitizer (with LeakSanitizer) and UBSan, in build-san/
ifeq ($(SAN),1)
CXXFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
BUILD     = build-san
endif
BIN       = $(BUILD)/partyline
# the core in layers (core/README.md): base, model, board, script, net; main.cpp on top
CORE_SRC  = $(filter-out core/main.cpp,$(wildcard core/*.cpp core/*/*.cpp))
CORE_HDR  = $(wildcard core/*.h core/*/*.h)
CORE_OBJ  = $(CORE_SRC:core/%.cpp=$(BUILD)/%.o)
UNIT_SRC  = $(wildcard tests/unit/*.cpp) tests/unit/model/up_stub.cpp
UNIT_BIN  = $(BUILD)/unit_tests
# the model's tests link base and model alone: they build only while the
# model needs nothing of the layers above it
MODEL_OBJ = $(filter $(BUILD)/base/% $(BUILD)/model/%,$(CORE_OBJ))
UNIT_MODEL_SRC = tests/unit/main.cpp $(wildcard tests/unit/model/*.cpp)
UNIT_MODEL_BIN = $(BUILD)/unit_model

# Run-time options for `make run`; override e.g. `make run ARGS="--ws-port 9000"`.
ARGS ?=

.PHONY: all deps www test-deps fuzz-deps bench-deps run test unit fuzz bench clean install
all: deps $(BIN) www

# the web page's files from npm (xterm.js), copied into etc/www/vendor
www: deps
	@sh scripts/vendor.sh

deps:
	@sh scripts/deps.sh build

test-deps:
	@sh scripts/deps.sh test

# pkg-config runs lazily so `make` works before deps.sh has installed anything
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

$(BUILD)/%.o: core/%.cpp $(CORE_HDR) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(PKG_CFLAGS) -Icore -c $< -o $@

$(BIN): $(CORE_OBJ) $(BUILD)/main.o
	$(CXX) $(CXXFLAGS) -o $@ $^ $(PKG_LIBS)

$(UNIT_BIN): $(UNIT_SRC) $(CORE_OBJ) $(CORE_HDR) tests/unit/*.h
	$(CXX) $(CXXFLAGS) $(PKG_CFLAGS) -Icore -Itests/unit -o $@ $(UNIT_SRC) $(CORE_OBJ) $(PKG_LIBS)

$(UNIT_MODEL_BIN): $(UNIT_MODEL_SRC) $(MODEL_OBJ) $(CORE_HDR) tests/unit/*.h tests/unit/model/*.h
	$(CXX) $(CXXFLAGS) $(PKG_CFLAGS) -Icore -Itests/unit -o $@ $(UNIT_MODEL_SRC) $(MODEL_OBJ) $(PKG_LIBS)

$(BUILD):
	@mkdir -p $(BUILD)

run: all
	./$(BIN) --config etc/partyline.conf $(ARGS)

unit: deps $(UNIT_BIN) $(UNIT_MODEL_BIN)

test: test-deps $(BIN) www $(UNIT_BIN) $(UNIT_MODEL_BIN)
	@PARTYLINE_BUILD=$(BUILD) node tests/run.js

# Benchmarks (scripts/bench): partyline against libwebsockets' mirror and a
# Node `ws` server under one load generator; never part of `make test`.
# BENCH=quick runs a short subset.
LOADGEN = $(BUILD)/loadgen
BENCH  ?=

$(LOADGEN): scripts/bench/loadgen.c | $(BUILD)
	$(CC) -O2 -Wall -Wextra -o $@ $< $(shell pkg-config --cflags --libs libwebsockets libuv libcrypto)

bench-deps:
	@sh scripts/deps.sh bench

bench: bench-deps $(BIN) $(LOADGEN)
	node scripts/bench/bench.js $(BENCH)

# Fuzzing (libFuzzer, clang): each target runs FUZZ_SECONDS from its seed
# corpus in tests/fuzz/corpus; new finds go to build-fuzz/corpus.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS  = telnet jwt text requests head proxy
FUZZ_CXXFLAGS = -g -O1 -std=c++17 -Wall -Wextra -fno-exceptions -fno-rtti -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ      = $(CORE_SRC:core/%.cpp=build-fuzz/%.o)

build-fuzz/%.o: core/%.cpp $(CORE_HDR)
	@mkdir -p $(dir $@)
	clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -Icore -c $< -o $@

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.cpp $(FUZZ_OBJ)
	clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -Icore -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)

fuzz-deps:
	@sh scripts/deps.sh fuzz

# keep the instrumented objects between runs (they are intermediates of the
# fuzz_% rule, which make would otherwise delete after each build)
.SECONDARY: $(FUZZ_OBJ)

fuzz: fuzz-deps $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  ./build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build-fuzz/corpus/$$t tests/fuzz/corpus/$$t 2>build-fuzz/$$t.log || { tail -40 build-fuzz/$$t.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units|cov:" build-fuzz/$$t.log | tail -2; \
	done

# `make install PREFIX=/usr DESTDIR=...`: the binary, the default scripts,
# the web client and the README under PREFIX, an example configuration in
# SYSCONFDIR/partyline (kept when one is there), and a systemd unit that
# runs the board as its own user with data_dir in /var/lib/partyline.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR      = $(PREFIX)/bin
SHAREDIR    = $(PREFIX)/share/partyline
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(SYSCONFDIR)/partyline $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/partyline
	rm -rf $(DESTDIR)$(SHAREDIR)/lua $(DESTDIR)$(SHAREDIR)/www
	cp -R lua $(DESTDIR)$(SHAREDIR)/lua
	cp -R etc/www $(DESTDIR)$(SHAREDIR)/www
	install -m 0644 README.md $(DESTDIR)$(SHAREDIR)/README.md
	sed -e 's|^data_dir = .*|data_dir = /var/lib/partyline|' -e 's|^scripts_dir = .*|scripts_dir = $(SHAREDIR)/lua|' \
	    -e 's|^www_dir = .*|www_dir = $(SHAREDIR)/www|' etc/partyline.conf > $(DESTDIR)$(SHAREDIR)/partyline.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/partyline/partyline.conf ] || \
	    install -m 0644 $(DESTDIR)$(SHAREDIR)/partyline.conf.example $(DESTDIR)$(SYSCONFDIR)/partyline/partyline.conf
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SHAREDIR@|$(SHAREDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    etc/systemd/partyline.service > $(DESTDIR)$(UNITDIR)/partyline.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/partyline.service

clean:
	rm -rf build build-san build-fuzz
