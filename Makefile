# zmalloc -- make [all|test|test-server|bench|bench-lazyfree|bench-server|demo|vendor|balloc|deps|install|print-libs|print-backends|clean]
#   MALLOC=bundled (default), or another of `make print-backends`
#   SANITIZER=address|undefined|memory|thread  (address = ASan + UBSan)
#   ZMALLOC_PREFIX=yes   prefix-header accounting (for testing that mode)
#   BALLOC_SECURE=1      balloc's hardened build (canaries, poisoning, guard pages)
#   PREFIX=/usr/local    where `make install` puts things

MALLOC ?= bundled
SANITIZER ?=
ZMALLOC_PREFIX ?= no
BALLOC_SECURE ?= 0
PREFIX ?= /usr/local
OPT ?= -O2

# The backends: one line each in backends/backends.mk (name, compile flags,
# library, Debian package). balloc is built from deps/balloc, whose public
# headers its flags add.
MALLOCS :=
BACKEND = $(eval MALLOCS += $(strip $1))$(eval DEFS_$(strip $1) := $2)$(eval LIBS_$(strip $1) := $(if $(strip $3),-l$(strip $3)))$(eval PKG_$(strip $1) := $(strip $4))
include backends/backends.mk
DEFS_bundled += -Ideps/balloc/include

SANITIZERS := address undefined memory thread
DEB_PACKAGES := $(sort $(foreach m,$(MALLOCS),$(PKG_$m))) gnuplot-nox tcl perl

ifeq ($(filter $(MALLOC),$(MALLOCS)),)
$(error MALLOC=$(MALLOC) is not a backend; choose one of: $(MALLOCS))
endif
ifneq ($(SANITIZER),)
ifeq ($(filter $(SANITIZER),$(SANITIZERS)),)
$(error SANITIZER=$(SANITIZER) is not supported; choose one of: $(SANITIZERS))
endif
endif
ifeq ($(filter $(ZMALLOC_PREFIX),yes no),)
$(error ZMALLOC_PREFIX=$(ZMALLOC_PREFIX) must be yes or no)
endif
ifeq ($(filter $(BALLOC_SECURE),0 1),)
$(error BALLOC_SECURE=$(BALLOC_SECURE) must be 0 or 1)
endif

# The sanitizer must see every allocation: all but TSan force libc.
ifneq ($(filter $(SANITIZER),address undefined memory),)
ifneq ($(MALLOC),libc)
$(info zmalloc: SANITIZER=$(SANITIZER) forces MALLOC=libc (was $(MALLOC)))
override MALLOC := libc
endif
endif

SAN_FLAGS_address := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SAN_FLAGS_undefined := -fsanitize=undefined -fno-sanitize-recover=undefined
SAN_FLAGS_memory := -fsanitize=memory -fno-omit-frame-pointer
SAN_FLAGS_thread := -fsanitize=thread
SAN_FLAGS := $(SAN_FLAGS_$(SANITIZER))
ifeq ($(SANITIZER),memory)
CC := clang
endif

# Each configuration builds in its own directory: switching MALLOC (or the
# mode, or the sanitizer) never reuses another one's objects.
SECURE_FLAG := $(if $(filter 1,$(BALLOC_SECURE)),-DBALLOC_SECURE=1)
CONFIG := $(MALLOC)$(if $(filter bundled,$(MALLOC)),$(if $(SECURE_FLAG),-secure))$(if $(filter yes,$(ZMALLOC_PREFIX)),-prefix)$(if $(SANITIZER),-$(SANITIZER))$(if $(filter clang%,$(notdir $(CC))),$(if $(filter memory,$(SANITIZER)),,-clang))
B := build/$(CONFIG)

DEFS := $(DEFS_$(MALLOC)) $(if $(filter yes,$(ZMALLOC_PREFIX)),-DNO_MALLOC_USABLE_SIZE)
WARN := -Wall -Wextra -Werror
CFLAGS_ALL := -std=c11 $(OPT) -g $(WARN) $(SAN_FLAGS) -I. $(DEFS) $(CFLAGS)
LDFLAGS_ALL := $(SAN_FLAGS) $(LDFLAGS)
LIBS := $(LIBS_$(MALLOC)) -lpthread

LIB := $(B)/libzmalloc.a

.PHONY: bench-lazyfree check-layers vendor test-server bench-server fuzz fuzz-short check-valgrind all lib test check check-backend bench bench-overhead demo balloc balloc-test balloc-test-asan balloc-test-secure balloc-secure balloc-nokey deps install print-libs print-cflags print-backends check-config clean
all: lib
lib: $(LIB)

# Rebuild when the flags change, not only the sources.
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LIBS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LIBS)' > $@
FORCE:

$(B)/%.o: %.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

ifeq ($(MALLOC),bundled)
# balloc builds with its own Makefile into this configuration's directory,
# with the same sanitizer, and its objects go into libzmalloc.a: one library
# to link.
BALLOC_BUILD := $(abspath $(B))/balloc
BALLOC_LIB := $(BALLOC_BUILD)/libballoc.a
BALLOC_INTERNAL_LIB := $(BALLOC_BUILD)/libballoc-internal.a
$(BALLOC_LIB): FORCE
	@$(MAKE) -s --no-print-directory -C deps/balloc BUILD=$(BALLOC_BUILD) CC=$(CC) SANITIZER= \
	  EXTRA_CFLAGS='$(SAN_FLAGS) $(SECURE_FLAG)' $(BALLOC_LIB) $(BALLOC_INTERNAL_LIB)
endif

# The core (what a server vendors), then the parts built on its API.
ZMALLOC_OBJS := $(B)/zmalloc.o $(B)/zmalloc_defrag.o $(B)/zmalloc_report.o $(B)/zmalloc_lazyfree.o
$(LIB): $(ZMALLOC_OBJS) $(BALLOC_LIB)
	rm -f $@
	{ echo 'CREATE $@'; printf 'ADDMOD %s\n' $(ZMALLOC_OBJS); \
	  $(if $(BALLOC_LIB),echo 'ADDLIB $(BALLOC_LIB)';) echo SAVE; echo END; } | ar -M

-include $(wildcard $(B)/*.d $(B)/*/*.d)

# balloc on its own: build/balloc/libballoc.a, libballoc.so (prefixed API)
# and libballoc-malloc.so (a drop-in malloc for LD_PRELOAD).
BALLOC_ALONE := $(abspath build/balloc)
balloc:
	@$(MAKE) -s --no-print-directory -C deps/balloc BUILD=$(BALLOC_ALONE) CC=$(CC) all
balloc-test:
	@$(MAKE) -s --no-print-directory -C deps/balloc BUILD=$(BALLOC_ALONE) CC=$(CC) test
balloc-test-asan:
	@$(MAKE) -s --no-print-directory -C deps/balloc BUILD=$(BALLOC_ALONE) CC=$(CC) test-asan
balloc-test-secure:
	@$(MAKE) -s --no-print-directory -C deps/balloc BUILD=$(BALLOC_ALONE) CC=$(CC) test-secure
# The hardened drop-in library, and one without the free key, for the
# benchmarks: build/balloc-secure/, build/balloc-nokey/.
balloc-secure:
	@$(MAKE) -s --no-print-directory -C deps/balloc BUILD=$(abspath build/balloc-secure) CC=$(CC) \
	  EXTRA_CFLAGS=-DBALLOC_SECURE=1 all
balloc-nokey:
	@$(MAKE) -s --no-print-directory -C deps/balloc BUILD=$(abspath build/balloc-nokey) CC=$(CC) \
	  EXTRA_CFLAGS=-DBALLOC_FREE_KEY=0 all

# Is the backend's library installed? Exit status says.
check-backend:
	@if [ -z "$(PKG_$(MALLOC))" ]; then exit 0; fi; \
	printf 'int main(void){return 0;}\n' | $(CC) -x c - $(LIBS) -o /dev/null 2>/dev/null || \
	{ echo "MALLOC=$(MALLOC) needs $(PKG_$(MALLOC)) (run 'make deps' as root)"; exit 1; }

# zmalloc's tests use balloc's harness (deps/balloc/tests/harness.h) and
# balloc's runner adds up their closing lines.
HARNESS := deps/balloc/tests/harness.h
TEST_CFLAGS := $(CFLAGS_ALL) -I$(dir $(HARNESS))
RUN_SUITES := bash deps/balloc/tests/run.sh

$(B)/test_zmalloc: tests/test_zmalloc.c tests/server_names.c $(HARNESS) $(LIB)
	$(CC) $(TEST_CFLAGS) $< tests/server_names.c $(LIB) $(LDFLAGS_ALL) $(LIBS) -o $@

$(B)/test_lazyfree: tests/test_lazyfree.c $(HARNESS) $(LIB)
	$(CC) $(TEST_CFLAGS) $< $(LIB) $(LDFLAGS_ALL) $(LIBS) -o $@

$(B)/test_stress: tests/test_stress.c $(HARNESS) $(LIB)
	$(CC) $(TEST_CFLAGS) $< $(LIB) $(LDFLAGS_ALL) $(LIBS) -o $@

# Faults are injected through balloc's OS-call layer (its test-only header
# include/balloc_testing.h), so that suite exists for the bundled backend
# only, and links balloc's objects with their internal symbols (libballoc.a
# keeps only the API).
ifeq ($(MALLOC),bundled)
FAULT_TESTS := $(B)/test_faults
endif
$(B)/test_faults: tests/test_faults.c $(HARNESS) $(B)/zmalloc.o $(BALLOC_LIB)
	$(CC) $(TEST_CFLAGS) $< $(B)/zmalloc.o $(BALLOC_INTERNAL_LIB) $(LDFLAGS_ALL) $(LIBS) -o $@

# One configuration's suites.
check: $(B)/test_zmalloc $(B)/test_lazyfree $(B)/test_stress $(FAULT_TESTS)
	@$(RUN_SUITES) $(B)/test_zmalloc $(B)/test_lazyfree $(B)/test_stress $(FAULT_TESTS)

# The suites under Valgrind memcheck (any error or definite leak fails them).
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
check-valgrind: $(B)/test_zmalloc $(B)/test_lazyfree
	@$(RUN_SUITES) '$(VALGRIND) $(B)/test_zmalloc' '$(VALGRIND) $(B)/test_lazyfree'

# balloc's files include only their own layer and those below it, and
# nothing outside deps/balloc reaches into its src/.
check-layers:
	@bash tests/check_layers.sh

# The whole matrix: every backend, both modes, the sanitizers.
test:
	@bash tests/run-matrix.sh

# Copy zmalloc (and with WITH=balloc, balloc) into a server's tree and
# teach a Valkey- or Redis-shaped Makefile MALLOC=balloc; prints what it
# changed.
vendor:
	@bash tools/vendor.sh $(if $(WITH),--with=$(WITH)) $(DEST)

# The drop-in tests: the Valkey tree in ../shared/servers, vendored, built and
# run with its own tests on libc, its jemalloc and balloc (and ASan).
test-server:
	@bash tests/server/run.sh

# The same Valkey on each allocator under its own valkey-benchmark.
bench-server:
	@bash bench/server/run.sh

$(B)/demo: examples/demo.c $(LIB)
	$(CC) $(CFLAGS_ALL) $< $(LIB) $(LDFLAGS_ALL) $(LIBS) -o $@

demo: check-backend $(B)/demo
	$(B)/demo $(DEMO_ARGS)

$(B)/bench_overhead: bench/overhead.c $(LIB)
	$(CC) $(CFLAGS_ALL) $< $(LIB) $(LDFLAGS_ALL) $(LIBS) -o $@

$(B)/bench_defrag: bench/defrag.c $(LIB)
	$(CC) $(CFLAGS_ALL) $< $(LIB) $(LDFLAGS_ALL) $(LIBS) -o $@

$(B)/bench_lazyfree: bench/lazyfree.c $(LIB)
	$(CC) $(CFLAGS_ALL) $< $(LIB) $(LDFLAGS_ALL) $(LIBS) -o $@

# The lazy-free table on balloc, jemalloc and glibc (bench/results/lazyfree.txt).
bench-lazyfree:
	@bash bench/run.sh lazyfree

bench-overhead: check-backend $(B)/bench_overhead
	$(B)/bench_overhead $(BENCH_ARGS)

# Every installed backend's overhead table, then the allocator suite.
bench:
	@bash bench/run.sh

# ---- fuzzing (clang's libFuzzer) ----
# balloc's targets (fuzz_balloc, plain and hardened) are built by balloc's
# Makefile; fuzz_zmalloc-<backend> drives zmalloc over each backend, sharing
# balloc's request-size picker. ASan+UBSan where the sanitizer can see the
# heap (balloc is instrumented, libc is the sanitizer's), UBSan alone over
# the allocators that replace malloc. `make fuzz` runs every target for
# FUZZ_SECONDS; `make test` replays the kept inputs and fuzzes each briefly.
FUZZ_SECONDS ?= 60
FUZZ_DIR := build/fuzz
FUZZ_SIZES := deps/balloc/tests/fuzz/fuzz_sizes.h
FUZZ_BASE := clang -g -O1 -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer -I$(dir $(FUZZ_SIZES))
FUZZ_ASAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_UBSAN := -fsanitize=fuzzer,undefined -fno-sanitize-recover=undefined
BALLOC_SRCS := $(wildcard deps/balloc/src/*.c)
BALLOC_HDRS := $(wildcard deps/balloc/src/*.h deps/balloc/include/*.h deps/balloc/include/*/*.h)

$(FUZZ_DIR)/fuzz_zmalloc-bundled: tests/fuzz/fuzz_zmalloc.c $(FUZZ_SIZES) zmalloc.c zmalloc.h $(BALLOC_SRCS) $(BALLOC_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_BASE) $(FUZZ_ASAN) -I. $(DEFS_bundled) $< zmalloc.c $(BALLOC_SRCS) -lpthread -o $@
$(FUZZ_DIR)/fuzz_zmalloc-libc: tests/fuzz/fuzz_zmalloc.c $(FUZZ_SIZES) zmalloc.c zmalloc.h
	@mkdir -p $(dir $@)
	$(FUZZ_BASE) $(FUZZ_ASAN) -I. $< zmalloc.c -lpthread -o $@
$(FUZZ_DIR)/fuzz_zmalloc-%: tests/fuzz/fuzz_zmalloc.c $(FUZZ_SIZES) zmalloc.c zmalloc.h
	@mkdir -p $(dir $@)
	$(FUZZ_BASE) $(FUZZ_UBSAN) -I. $(DEFS_$*) $< zmalloc.c $(LIBS_$*) -lpthread -o $@

fuzz:
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)
fuzz-short:
	@bash tests/fuzz/run.sh 5

deps:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make deps installs Debian packages and must run as root; otherwise run:"; \
	  echo "  sudo apt-get install $(DEB_PACKAGES)"; exit 1; fi
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PACKAGES)

print-libs:
	@echo "$(abspath $(LIB)) $(LIBS)"

# What a program that includes zmalloc.h compiles with to match this build's
# library (make print-libs): the include directories and the backend's -D
# flags. Other flags fail to link (zmalloc.h: zmalloc_config_*).
print-cflags:
	@echo "$(strip -I$(CURDIR) $(foreach f,$(DEFS),$(if $(filter -I%,$f),-I$(abspath $(f:-I%=%)),$f)))"

# A program compiled with another configuration's flags fails to link; with
# print-cflags' it links and reports the library's configuration.
check-config:
	@bash tests/test_config.sh

# Every backend, one a line: its MALLOC= name and its Debian package (- when
# it needs none). tests/run-matrix.sh, tests/fuzz/run.sh and bench/run.sh
# loop over it.
print-backends:
	@$(foreach m,$(MALLOCS),echo '$m $(or $(PKG_$m),-)';)

# zmalloc.h includes backends/: both go to include/zmalloc/, which the
# .pc file's Cflags name.
install: $(LIB)
	install -d $(DESTDIR)$(PREFIX)/include/zmalloc/backends $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 zmalloc.h $(DESTDIR)$(PREFIX)/include/zmalloc/zmalloc.h
	install -m 644 backends/*.h $(DESTDIR)$(PREFIX)/include/zmalloc/backends/
	$(if $(filter bundled,$(MALLOC)),install -m 644 deps/balloc/include/balloc.h $(DESTDIR)$(PREFIX)/include/balloc.h)
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libzmalloc.a
	printf 'prefix=%s\nincludedir=$${prefix}/include\nlibdir=$${prefix}/lib\n\nName: zmalloc\nDescription: byte-counting memory layer (%s backend)\nVersion: 0.1.0\nCflags: -I$${includedir}/zmalloc -I$${includedir} %s\nLibs: -L$${libdir} -lzmalloc %s\n' \
	  '$(PREFIX)' '$(MALLOC)' '$(filter -D%,$(DEFS))' '$(LIBS)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/zmalloc.pc

clean:
	rm -rf build
