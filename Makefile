# zoptic — plain GNU make.  `make` builds build/libzoptic.a and build/zoptic;
# `make check` installs missing Debian packages, builds and runs every test;
# `make asan` does the same under AddressSanitizer + UBSan in build-asan/.
# -Wno-psabi: GCC vector-extension helpers (src/nn/conv_direct.c) are static
# inline; the ABI note about returning wide vectors without AVX-512 does not
# apply to them.
# Sources are found by wildcard: a new file in src/<module>/ or a new
# tests/test_*.c needs no Makefile edit.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= gcc
PKGS    := gsl hdf5 check zlib inih

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# GSL's own CBLAS is slow: link OpenBLAS for cblas_* instead of -lgslcblas.
PKG_LIBS   := $(filter-out -lgslcblas,$(shell pkg-config --libs gsl hdf5 zlib inih 2>/dev/null)) -lopenblas
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

OPT     ?= -O2 -march=native
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-psabi
ifneq ($(CI),)
WARN    += -Werror
endif
CFLAGS  ?=
CFLAGS  += -std=c11 -D_DEFAULT_SOURCE -g $(OPT) $(WARN) -fno-math-errno -Isrc -Itests $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
LDLIBS  := $(PKG_LIBS) -lpthread -lm

MODULES := core nn mzi zo data io hw
LIB_SRC := $(foreach m,$(MODULES),$(wildcard src/$(m)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC := $(wildcard src/cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
CHIPD_SRC := $(wildcard src/chipd/*.c)
CHIPD_OBJ := $(CHIPD_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_COMMON := $(wildcard tests/common/*.c)
TEST_COMMON_OBJ := $(TEST_COMMON:%.c=$(BUILD)/%.o)
HEADERS := $(foreach m,$(MODULES),$(wildcard src/$(m)/*.h)) src/zoptic.h

LIB   := $(BUILD)/libzoptic.a
PROG  := $(BUILD)/zoptic
CHIPD := $(if $(CHIPD_SRC),$(BUILD)/zoptic-chipd)

.SECONDARY:
.PHONY: all check asan test-run clean install deps demo fuzz bench
all: $(LIB) $(PROG) $(CHIPD)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(PROG): $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -o $@

ifneq ($(CHIPD_SRC),)
$(CHIPD): $(CHIPD_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(CHIPD_OBJ) $(LIB) $(LDLIBS) -o $@
endif

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(TEST_COMMON_OBJ) $(LIB) $(CHECK_LIBS) $(LDLIBS) -MMD -MP -MF $@.d -o $@

deps:
	@bash scripts/deps.sh

# The test command of the README.
check: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@BUILD=$(BUILD) bash scripts/run-tests.sh $(TEST_BIN)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" check

demo: deps all
	@bash scripts/demo.sh

bench: deps all
	@bash bench/run.sh

fuzz: deps
	@bash scripts/fuzz.sh

clean:
	rm -rf build build-asan build-fuzz

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(PROG) $(CHIPD) $(DESTDIR)$(PREFIX)/bin/
	for h in $(HEADERS); do \
	  d=$(DESTDIR)$(PREFIX)/include/zoptic/$$(dirname $${h#src/}); \
	  install -d $$d && install -m 644 $$h $$d/; done
	sed -e 's|@PREFIX@|$(PREFIX)|g' zoptic.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/zoptic.pc

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(CHIPD_OBJ:.o=.d) $(TEST_COMMON_OBJ:.o=.d) $(TEST_BIN:=.d)
