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

MODULES := core nn mzi zo data io hw tasks api
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
.PHONY: all check asan test-run clean install uninstall deps demo fuzz bench valgrind python install-python
# A first `make` on a bare machine: deps.sh installs OpenMPI, but this file
# was parsed before it (MPICC below was empty), so `all` re-reads it in a
# sub-make once deps has run (tests/bare_make_test.sh: zoptic-mpi on the
# first run).
ifeq ($(ZPT_DEPS_DONE),)
all: deps
	@$(MAKE) --no-print-directory ZPT_DEPS_DONE=1 all
else
all: $(LIB) $(SO) $(PROG) $(CHIPD)
endif

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
	@$(MAKE) --no-print-directory ZPT_DEPS_DONE=1 all $(TEST_BIN) $(EX_BIN)
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

# memcheck of train, resume, eval and a driver session (build-valgrind/, no -march=native)
valgrind: deps
	@bash scripts/valgrind.sh

clean:
	rm -rf build build-asan build-fuzz build-valgrind

# The PUBLIC headers — zoptic.h and what it includes (so mzi/internal.h,
# nn/nn_internal.h are not among them) — staged in $(BUILD)/include/zoptic as
# `make install` installs them: include/zoptic/<module>/<name>.h, their
# includes of each other rewritten from "core/alloc.h" to
# <zoptic/core/alloc.h>.  A program compiles with -I<prefix>/include, writes
# #include <zoptic/zoptic.h>, and its own "io/config.h" cannot be taken for
# zoptic's.  The examples compile against this staged copy only.
PUBLIC_HEADERS = $(sort $(filter src/%.h,$(subst \, ,$(shell $(CC) -MM -Isrc $(PKG_CFLAGS) src/zoptic.h))))
INC_REWRITE := s@^([[:space:]]*\#[[:space:]]*include[[:space:]]*)"(($(subst $(eval) ,|,$(MODULES)))/[^"]+)"@\1<zoptic/\2>@
INC_STAGE := $(BUILD)/include
STAGED := $(INC_STAGE)/zoptic/zoptic.h
$(STAGED): $(HEADERS) | deps
	@rm -rf $(INC_STAGE)/zoptic
	@for h in $(filter-out src/zoptic.h,$(PUBLIC_HEADERS)) src/zoptic.h; do \
	  o=$(INC_STAGE)/zoptic/$${h#src/}; mkdir -p $$(dirname $$o) && \
	  sed -E '$(INC_REWRITE)' $$h > $$o.tmp && mv $$o.tmp $$o || exit 1; \
	done; echo "staged $(words $(PUBLIC_HEADERS)) public headers in $(INC_STAGE)/zoptic"

# examples/*.c and *.cc, built by `make check` against the staged headers and
# build/libzoptic.so, as a program outside the tree would be (tests/install_test.sh
# builds and runs them against an installed copy).
EX_C   := $(wildcard examples/*.c)
EX_CXX := $(wildcard examples/*.cc)
EX_BIN := $(EX_C:examples/%.c=$(BUILD)/examples/%) $(EX_CXX:examples/%.cc=$(BUILD)/examples/%_cxx)
EX_FLAGS = -g -O2 $(WARN) -I$(INC_STAGE) $(PKG_CFLAGS) $(EXTRA_CFLAGS) $(LDFLAGS)
EX_LIBS  = -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lzoptic -lm
$(BUILD)/examples/%: examples/%.c $(STAGED) $(SO) | deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(EX_FLAGS) $< $(EX_LIBS) -o $@
$(BUILD)/examples/%_cxx: examples/%.cc $(STAGED) $(SO) | deps
	@mkdir -p $(dir $@)
	$(CXX) -std=c++11 $(EX_FLAGS) $< $(EX_LIBS) -o $@

# `make install` / `make uninstall` (PREFIX, DESTDIR): both libraries, the
# programs, zoptic.pc and the staged public headers.
D_LIB := $(DESTDIR)$(PREFIX)/lib
D_INC := $(DESTDIR)$(PREFIX)/include/zoptic
LDCONFIG := $(if $(DESTDIR),,$(if $(filter /usr /usr/local,$(PREFIX)),-ldconfig))

install: all $(STAGED) install-python
	install -d $(D_LIB)/pkgconfig $(DESTDIR)$(PREFIX)/bin $(D_INC)
	install -m 644 $(LIB) $(D_LIB)/
	install -m 755 $(SOREAL) $(D_LIB)/
	ln -sf $(notdir $(SOREAL)) $(D_LIB)/$(SONAME)
	ln -sf $(SONAME) $(D_LIB)/libzoptic.so
	install -m 755 $(PROG) $(CHIPD) $(DESTDIR)$(PREFIX)/bin/
	cp -R $(INC_STAGE)/zoptic/. $(D_INC)/
	chmod -R u=rwX,go=rX $(D_INC)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' zoptic.pc.in > $(D_LIB)/pkgconfig/zoptic.pc
	$(LDCONFIG)

uninstall:
	rm -f $(D_LIB)/libzoptic.a $(D_LIB)/libzoptic.so $(D_LIB)/$(SONAME) $(D_LIB)/libzoptic.so.$(VERSION)
	rm -f $(D_LIB)/pkgconfig/zoptic.pc $(DESTDIR)$(PREFIX)/bin/zoptic $(DESTDIR)$(PREFIX)/bin/zoptic-chipd
	rm -rf $(D_INC) $(DESTDIR)$(PY_SITE)/zoptic
	$(LDCONFIG)

# The Python package (python/zoptic over libzoptic.so, docs/python.md):
# nothing to compile; `make python` builds the library and imports the
# package from the tree; install-python (part of install) copies it into
# the prefix's site-packages and records the library's directory.
PYTHON  ?= /usr/bin/python3
PY_SITE ?= $(PREFIX)/lib/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)/dist-packages
python: $(SO)
	@BUILD=$(BUILD) PYTHONPATH=python $(PYTHON) -c 'import zoptic; print("import zoptic: ok,", zoptic.LIBRARY_PATH)'
install-python:
ifneq ($(wildcard python/zoptic/__init__.py),)
	install -d $(DESTDIR)$(PY_SITE)/zoptic
	install -m 644 python/zoptic/*.py python/zoptic/_cdef.h $(DESTDIR)$(PY_SITE)/zoptic/
	printf 'LIBDIR = "%s"\n' '$(PREFIX)/lib' > $(DESTDIR)$(PY_SITE)/zoptic/_install.py
	@echo "zoptic: Python package installed in $(DESTDIR)$(PY_SITE)/zoptic (import zoptic$(if $(filter /usr/local /usr,$(PREFIX)),, with PYTHONPATH=$(PY_SITE)))"
else
	@echo "zoptic: no python/ in this tree: Python package not installed"
endif

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(CHIPD_OBJ:.o=.d) $(TEST_COMMON_OBJ:.o=.d) $(TEST_BIN:=.d)

# ---- zoptic-mpi (docs/distributed.md): the CLI over MPI.  A separate program
# so that libzoptic and build/zoptic stay MPI-free (no libmpi to link, no
# mpirun to run them): src/mpi/ + the CLI objects, with src/cli/main.c's main
# renamed.  Built by `all` when mpicc exists (OpenMPI, scripts/deps.sh);
# tests/mpi_test.sh skips with a reason otherwise.
MPICC_CMD ?= mpicc
MPICC := $(shell command -v $(MPICC_CMD) 2>/dev/null)
ifneq ($(MPICC),)
MPI_PROG := $(BUILD)/zoptic-mpi
MPI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard src/mpi/*.c)) $(BUILD)/src/mpi/cli_main.o
$(call lazy,MPI_CFLAGS,$(MPICC) --showme:compile)
$(call lazy,MPI_LIBS,$(MPICC) --showme:link)
$(BUILD)/src/mpi/%.o: src/mpi/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MPI_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/src/mpi/cli_main.o: src/cli/main.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Dmain=zpt_cli_main -MMD -MP -c $< -o $@
$(MPI_PROG): $(MPI_OBJ) $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJ)) $(LIB) | deps
	$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.o %.a,$^) $(LDLIBS) $(MPI_LIBS) -o $@
ifneq ($(ZPT_DEPS_DONE),)
all: $(MPI_PROG)
endif
-include $(MPI_OBJ:.o=.d)
endif
