# partyline: `make run` and `make test` are the whole set-up.
CXX      ?= g++
PKGS      = libwebsockets libuv lua5.4 libcjson sqlite3 libsodium libcrypto
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -Wall -Wextra -fno-exceptions -fno-rtti
BUILD     = build
# SAN=1: AddressSanitizer (with LeakSanitizer) and UBSan, in build-san/
ifeq ($(SAN),1)
CXXFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
BUILD     = build-san
endif
BIN       = $(BUILD)/partyline
CORE_SRC  = $(filter-out core/main.cpp,$(wildcard core/*.cpp))
CORE_OBJ  = $(CORE_SRC:core/%.cpp=$(BUILD)/%.o)
UNIT_SRC  = $(wildcard tests/unit/*.cpp)
UNIT_BIN  = $(BUILD)/unit_tests

# Run-time options for `make run`; override e.g. `make run ARGS="--ws-port 9000"`.
ARGS ?=

.PHONY: all deps test-deps run test unit clean
all: deps $(BIN)

deps:
	@sh scripts/deps.sh build

test-deps:
	@sh scripts/deps.sh test

# pkg-config runs lazily so `make` works before deps.sh has installed anything
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

$(BUILD)/%.o: core/%.cpp core/*.h | $(BUILD)
	$(CXX) $(CXXFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BIN): $(CORE_OBJ) $(BUILD)/main.o
	$(CXX) $(CXXFLAGS) -o $@ $^ $(PKG_LIBS)

$(UNIT_BIN): $(UNIT_SRC) $(CORE_OBJ) tests/unit/*.h
	$(CXX) $(CXXFLAGS) $(PKG_CFLAGS) -Icore -o $@ $(UNIT_SRC) $(CORE_OBJ) $(PKG_LIBS)

$(BUILD):
	@mkdir -p $(BUILD)

run: all
	./$(BIN) --config etc/partyline.conf $(ARGS)

unit: deps $(UNIT_BIN)

test: test-deps $(BIN) $(UNIT_BIN)
	@PARTYLINE_BUILD=$(BUILD) node tests/run.js

clean:
	rm -rf build build-san
