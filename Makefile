# zoptic — plain GNU make.  `make` builds build/libzoptic.a, the shared
# library build/libzoptic.so (soname libzoptic.so.$(SOMAJOR)) and build/zoptic;
# `make check` installs missing Debian packages, builds and runs every test;
# `make asan` does the same under AddressSanitizer + UBSan in build-asan/.
# -Wno-psabi: GCC vector-extension helpers (src/nn/conv_direct.c) are static
# inline; the ABI note about returning wide vectors without AVX-512 does not
# apply to them.
# Sources are found by wildcard: a new file in src/<module>/ or a new
# tests/test_*.c needs no Makefile edit.
#
# A bare machine's first `make`/`make demo`/`make check` must work: nothing
# that depends on installed packages is evaluated while this file is parsed.
# Every compile and link rule has `deps` (scripts/deps.sh) as an order-only
# prerequisite, and the pkg-config flags are computed lazily, at the first
# recipe that uses them, i.e. after deps.sh has installed the .pc files
# (tests/bare_make_test.sh proves it).

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= gcc
PKGS    := gsl hdf5 check zlib inih

# lazy NAME,COMMAND: NAME expands to COMMAND's output, run once, on first use.
lazy = $(eval $(1) = $$(eval $(1) := $$$$(shell $(2)))$$($(1)))
$(call lazy,PKG_CFLAGS,pkg-config --cflags $(PKGS))
# GSL's own CBLAS is slow: link OpenBLAS for cblas_* instead of -lgslcblas.
$(call lazy,PKG_LIBS,pkg-config --libs gsl hdf5 zlib inih | sed 's/-lgslcblas//')
$(call lazy,CHECK_LIBS,pkg-config --libs check)

OPT     ?= -O2 -march=native
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-psabi
ifneq ($(CI),)
WARN    += -Werror
endif
CFLAGS  ?=
# -fPIC: the same objects make libzoptic.a and libzoptic.so;
# -fno-semantic-interposition keeps intra-library calls direct (as in the archive).
CFLAGS  += -std=c11 -D_DEFAULT_SOURCE -g $(OPT) $(WARN) -fno-math-errno -fPIC -fno-semantic-interposition -Isrc -Itests $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
LDLIBS   = $(PKG_LIBS) -lopenblas -lpthread -lm

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

# Version from the umbrella header; the soname's major number changes with
# every incompatible ABI change (docs/library.md, "ABI").
VERSION := $(or $(shell sed -n 's/^\#define ZOPTIC_VERSION "\([^"]*\)".*/\1/p' src/zoptic.h src/core/version.h 2>/dev/null | head -n 1),0.0.0)
SOMAJOR := 0
SONAME  := libzoptic.so.$(SOMAJOR)
LIB   := $(BUILD)/libzoptic.a
SO    := $(BUILD)/libzoptic.so
SOREAL := $(BUILD)/libzoptic.so.$(VERSION)
PROG  := $(BUILD)/zoptic
CHIPD := $(if $(CHIPD_SRC),$(BUILD)/zoptic-chipd)

.SECONDARY:
.PHONY: all check asan test-run clean install deps demo fuzz bench
all: $(LIB) $(SO) $(PROG) $(CHIPD)

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(SOREAL): $(LIB_OBJ) | deps
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,-z,defs $(LDFLAGS) $(LIB_OBJ) $(LDLIBS) -o $@
$(BUILD)/$(SONAME): $(SOREAL)
	ln -sf $(notdir $<) $@
$(SO): $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(PROG): $(CLI_OBJ) $(LIB) | deps
	$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -o $@

ifneq ($(CHIPD_SRC),)
$(CHIPD): $(CHIPD_OBJ) $(LIB) | deps
	$(CC) $(CFLAGS) $(LDFLAGS) $(CHIPD_OBJ) $(LIB) $(LDLIBS) -o $@
endif

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON_OBJ) $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(TEST_COMMON_OBJ) $(LIB) $(CHECK_LIBS) $(LDLIBS) -MMD -MP -MF $@.d -o $@

# Sub-makes of check/asan get ZPT_DEPS_DONE=1: deps.sh ran once already.
deps:
	$(if $(ZPT_DEPS_DONE),,@bash scripts/deps.sh)

# The test command of the README.
check: deps
	@$(MAKE) --no-print-directory ZPT_DEPS_DONE=1 all $(TEST_BIN)
	@BUILD=$(BUILD) bash scripts/run-tests.sh $(TEST_BIN)

asan: deps
	@$(MAKE) --no-print-directory ZPT_DEPS_DONE=1 BUILD=build-asan OPT="-O1" \
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
	install -m 644 $(LIB) $(SOREAL) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(SOREAL)) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libzoptic.so
	install -m 755 $(PROG) $(CHIPD) $(DESTDIR)$(PREFIX)/bin/
	for h in $(HEADERS); do \
	  d=$(DESTDIR)$(PREFIX)/include/zoptic/$$(dirname $${h#src/}); \
	  install -d $$d && install -m 644 $$h $$d/; done
	sed -e 's|@PREFIX@|$(PREFIX)|g' zoptic.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/zoptic.pc

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(CHIPD_OBJ:.o=.d) $(TEST_COMMON_OBJ:.o=.d) $(TEST_BIN:=.d)
