# slotswift build. `make` builds build/slotswift, build/libslotswift.a and build/libslotswift.so;
# `make install PREFIX=DIR` installs the header, both libraries and slotswift.pc (pkg-config);
# `make test` builds and runs every tests/test_*.c; `make asan` does the same under ASan+UBSan.
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
# the library's layers, bottom up: base (errors, files, threads, GGUF) -> kernels -> model (weights,
# KV cache, forward) -> text (tokenizer, chat templates) -> methods (sampling, generation, SLOT,
# SWIFT, answers). Inside kernels, one way too: formats and scalar references (quant.c, attn.c,
# slotk.c) -> x86/*_avx2.c, *_avx512.c SIMD leaves -> dispatch.c (the one CPU probe, the scalar
# and AVX2 tables of ss_kernels.h) -> matmul.c (the products, calling the table they are given).
LAYERS  = base kernels model text methods
INC     = -Iinclude $(LAYERS:%=-Isrc/%)
CFLAGS  += -std=gnu11 $(OPT) -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare $(INC) -pthread -fno-strict-aliasing
LDLIBS  += -lm -lpthread
# the library itself needs PCRE2 (byte-level BPE pre-tokenizer regexes) besides libc, libm, pthreads;
# the tools also read and write JSON with cJSON, and serve HTTP with libmicrohttpd
LIB_LIBS  = -lpcre2-8
TOOL_LIBS = $(LIB_LIBS) -lcjson -lmicrohttpd
PREFIX  ?= /usr/local
SO_VERSION = 1
TEST_LIBS = -lcmocka

# The AVX2/FMA/F16C leaves (*_avx2.c) and the AVX-512 leaves (*_avx512.c) are built when the
# compiler targets x86 and NO_AVX2 is not 1 (`make NO_AVX2=1`: the scalar kernels only, as on
# arm64); SS_HAVE_AVX2 tells the dispatch.
NO_AVX2 ?= 0
ifneq ($(NO_AVX2),1)
ifneq ($(filter x86_64% i386% i486% i586% i686% amd64%,$(shell $(CC) -dumpmachine)),)
AVX2      = 1
endif
endif
# MPI (Open MPI's mpicc found, and NO_MPI not 1): eval, swift-collect and swift-train run over the
# ranks of mpirun / srun (tools/mpi_*.c, SS_HAVE_MPI). Only the CLI's objects see MPI; the library
# never does. Without mpicc the CLI is built without it (tools/ssmpi.h: one process).
NO_MPI ?= 0
ifneq ($(NO_MPI),1)
MPI_LIBS := $(shell mpicc --showme:link 2>/dev/null)
endif
ifneq ($(strip $(MPI_LIBS)),)
MPI_CFLAGS := -DSS_HAVE_MPI $(shell mpicc --showme:compile 2>/dev/null)
TOOL_LIBS  += $(MPI_LIBS)
endif
CORE_SRC  = $(wildcard $(LAYERS:%=src/%/*.c))
TOOL_SRC  = $(filter-out %_avx2.c,$(wildcard tools/*.c))
ifeq ($(AVX2),1)
AVX2_SRC  = $(wildcard src/kernels/x86/*_avx2.c) $(wildcard src/kernels/x86/*_avx512.c)
TOOL_AVX2 = $(wildcard tools/*_avx2.c)
AVX2_FLAGS = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512dq -mavx512vl -mf16c -mfma
CFLAGS    += -DSS_HAVE_AVX2
endif
TEST_SRC  = $(wildcard tests/test_*.c)

CORE_OBJ  = $(CORE_SRC:%.c=$(BUILD)/%.o) $(AVX2_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ  = $(TOOL_SRC:%.c=$(BUILD)/%.o) $(TOOL_AVX2:%.c=$(BUILD)/%.o)
TEST_BIN  = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
HDRS      = $(wildcard include/*.h src/*/*.h src/kernels/x86/*.h tools/*.h tests/*.h)

all: $(BUILD)/slotswift $(BUILD)/libslotswift.a $(BUILD)/libslotswift.so

$(TOOL_OBJ): CFLAGS += $(MPI_CFLAGS)

# library objects: position-independent (for the shared library), only SS_API symbols exported
$(CORE_OBJ): CFLAGS += -fPIC -fvisibility=hidden

$(BUILD)/%.o: %.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# SIMD kernels: compiled for AVX2/FMA/F16C, called only when the CPU has them (the dispatch's probe).
$(BUILD)/%_avx2.o: %_avx2.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX2_FLAGS) -c $< -o $@

# ... and for AVX-512 (the dispatch calls them only when the CPU has AVX-512 F/BW/DQ/VL)
$(BUILD)/%_avx512.o: %_avx512.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512_FLAGS) -c $< -o $@

$(BUILD)/libslotswift.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

# shared library: libslotswift.so.$(SO_VERSION) (soname) with the libslotswift.so link beside it;
# every symbol resolved at link time (except in sanitizer builds: the executable brings their runtime)
SO_LDFLAGS = -shared -Wl,-soname,libslotswift.so.$(SO_VERSION) $(if $(findstring -fsanitize,$(OPT)),,-Wl,--no-undefined)
$(BUILD)/libslotswift.so.$(SO_VERSION): $(CORE_OBJ)
	$(CC) $(CFLAGS) $(SO_LDFLAGS) -o $@ $^ $(LIB_LIBS) $(LDLIBS)

$(BUILD)/libslotswift.so: $(BUILD)/libslotswift.so.$(SO_VERSION)
	ln -sf libslotswift.so.$(SO_VERSION) $@

# slotswift.pc is written at install time (it names PREFIX); its version is SS_API_VERSION
install: $(BUILD)/libslotswift.a $(BUILD)/libslotswift.so
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/slotswift.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libslotswift.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libslotswift.so.$(SO_VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libslotswift.so.$(SO_VERSION) $(DESTDIR)$(PREFIX)/lib/libslotswift.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e "s|@VERSION@|$$(sed -n 's/^#define SS_API_VERSION \([0-9]*\).*/\1/p' include/slotswift.h).0.0|" \
	    slotswift.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/slotswift.pc

# the CLI links the core plus tools/*.c (tokenizer pre-tokenizers use PCRE2, JSON uses cJSON, serve uses
# libmicrohttpd)
$(BUILD)/slotswift: $(TOOL_OBJ) $(BUILD)/libslotswift.a
	$(CC) $(CFLAGS) -o $@ $(TOOL_OBJ) $(BUILD)/libslotswift.a $(TOOL_LIBS) $(LDLIBS)

# tests link the library and the tools' objects except main (so commands can be tested in-process)
TOOL_LIB_OBJ = $(filter-out $(BUILD)/tools/main.o,$(TOOL_OBJ))
$(BUILD)/tests/%: tests/%.c $(BUILD)/libslotswift.a $(TOOL_LIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itools -o $@ $< $(TOOL_LIB_OBJ) $(BUILD)/libslotswift.a $(TOOL_LIBS) $(TEST_LIBS) $(LDLIBS)

tests: $(TEST_BIN) $(BUILD)/slotswift $(BUILD)/libslotswift.so

test: tests
	@BUILD=$(BUILD) bash tests/run.sh

asan:
	$(MAKE) BUILD=build-asan CC=clang OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# libFuzzer targets (clang), run briefly on the seed corpus in CI. The library and the tools'
# readers are compiled once for all targets (build-fuzz/obj, ASan+UBSan, coverage for libFuzzer;
# `make -j2 fuzz` compiles in parallel) and each target links fuzz/NAME.c with them.
# A new target fuzz/fuzz_x.c: add one line `FUZZ_TARGETS += fuzz_x`.
FUZZ_TARGETS  = fuzz_gguf
FUZZ_TARGETS += fuzz_tokenizer
FUZZ_TARGETS += fuzz_results
FUZZ_TARGETS += fuzz_featmeta
FUZZ_TARGETS += fuzz_dataset
FUZZ_BUILD = build-fuzz
# the tools' file readers some targets call (results files, feature-store meta)
FUZZ_TOOL_SRC = tools/evalres.c tools/select.c tools/tool.c tools/args.c tools/featstore.c tools/settings.c tools/xalloc.c
FUZZ_CFLAGS = -std=gnu11 -O1 -g $(INC) -Itools -pthread -fno-strict-aliasing $(filter -DSS_HAVE_AVX2,$(CFLAGS)) \
              -fsanitize=address,undefined
FUZZ_OBJ = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(CORE_SRC) $(AVX2_SRC) $(FUZZ_TOOL_SRC))

$(FUZZ_BUILD)/obj/%.o: %.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/obj/%_avx2.o: %_avx2.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(AVX2_FLAGS) -c $< -o $@

$(FUZZ_BUILD)/obj/%_avx512.o: %_avx512.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(AVX512_FLAGS) -c $< -o $@

$(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%): $(FUZZ_BUILD)/%: fuzz/%.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ $(TOOL_LIBS) -lm -lpthread

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

clean:
	rm -rf build build-asan build-fuzz build-noavx2

.PHONY: all tests test asan fuzz clean install
.SECONDARY:
