# slotswift build. `make` builds build/slotswift, build/libslotswift.a and build/libslotswift.so;
# `make install PREFIX=DIR` installs the header, both libraries and slotswift.pc (pkg-config);
# `make test` builds and runs every tests/test_*.c; `make asan` does the same under ASan+UBSan.
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
# the library's layers, bottom up: base (errors, files, threads, GGUF) -> kernels (formats, scalar
# references, x86/ SIMD leaves, matrix products) -> model (weights, KV cache, forward) -> text
# (tokenizer, chat templates) -> methods (sampling, generation, SLOT, SWIFT, answers)
LAYERS  = base kernels model text methods
INC     = -Iinclude $(LAYERS:%=-Isrc/%)
CFLAGS  += -std=gnu11 $(OPT) -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare $(INC) -pthread -fno-strict-aliasing
LDLIBS  += -lm -lpthread
# the library itself needs PCRE2 (byte-level BPE pre-tokenizer regexes) besides libc, libm, pthreads;
# the tools also read and write JSON with cJSON
LIB_LIBS  = -lpcre2-8
TOOL_LIBS = $(LIB_LIBS) -lcjson
PREFIX  ?= /usr/local
SO_VERSION = 1
TEST_LIBS = -lcmocka

CORE_SRC  = $(wildcard $(LAYERS:%=src/%/*.c))
AVX2_SRC  = $(wildcard src/kernels/x86/*_avx2.c)
TOOL_SRC  = $(filter-out %_avx2.c,$(wildcard tools/*.c))
TOOL_AVX2 = $(wildcard tools/*_avx2.c)
TEST_SRC  = $(wildcard tests/test_*.c)

CORE_OBJ  = $(CORE_SRC:%.c=$(BUILD)/%.o) $(AVX2_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ  = $(TOOL_SRC:%.c=$(BUILD)/%.o) $(TOOL_AVX2:%.c=$(BUILD)/%.o)
TEST_BIN  = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
HDRS      = $(wildcard include/*.h src/*/*.h tools/*.h tests/*.h)

all: $(BUILD)/slotswift $(BUILD)/libslotswift.a $(BUILD)/libslotswift.so

# library objects: position-independent (for the shared library), only SS_API symbols exported
$(CORE_OBJ): CFLAGS += -fPIC -fvisibility=hidden

$(BUILD)/%.o: %.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# SIMD kernels: compiled for AVX2/FMA/F16C, called only when the CPU has them (runtime check).
$(BUILD)/%_avx2.o: %_avx2.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -mavx2 -mfma -mf16c -c $< -o $@

$(BUILD)/libslotswift.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

# shared library: libslotswift.so.$(SO_VERSION) (soname) with the libslotswift.so link beside it
$(BUILD)/libslotswift.so.$(SO_VERSION): $(CORE_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libslotswift.so.$(SO_VERSION) -Wl,--no-undefined -o $@ $^ $(LIB_LIBS) $(LDLIBS)

$(BUILD)/libslotswift.so: $(BUILD)/libslotswift.so.$(SO_VERSION)
	ln -sf libslotswift.so.$(SO_VERSION) $@

$(BUILD)/slotswift.pc: slotswift.pc.in include/slotswift.h
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e "s|@VERSION@|$$(sed -n 's/^#define SS_API_VERSION \([0-9]*\).*/\1/p' include/slotswift.h).0.0|" $< > $@

install: $(BUILD)/libslotswift.a $(BUILD)/libslotswift.so $(BUILD)/slotswift.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/slotswift.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libslotswift.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libslotswift.so.$(SO_VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libslotswift.so.$(SO_VERSION) $(DESTDIR)$(PREFIX)/lib/libslotswift.so
	install -m 644 $(BUILD)/slotswift.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

# the CLI links the core plus tools/*.c (tokenizer pre-tokenizers use PCRE2, JSON uses cJSON)
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

# libFuzzer targets (clang), run briefly on the seed corpus in CI
FUZZ_SRC = $(wildcard fuzz/fuzz_*.c)
fuzz: $(BUILD)/libslotswift.a
	@mkdir -p build-fuzz
	for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang -std=gnu11 -O1 -g $(INC) -Itools -fsanitize=fuzzer,address,undefined $$f $(CORE_SRC) $(AVX2_SRC) -mavx2 -mfma -mf16c -o build-fuzz/$$n $(TOOL_LIBS) -lm -lpthread || exit 1; done

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all tests test asan fuzz clean install
.SECONDARY:
