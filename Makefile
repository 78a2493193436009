# weft build. Sources are discovered: every src/<layer>/*.c except the CLI's
# main goes into libweft.a; each tests/unit/test_*.c is a test program.
# The Python worker is a shared object carried inside libweft.a (see WORKER_SRC).
# BUILD selects the output folder, so several builds (sanitizers, parallel
# developers) can share one tree: make BUILD=build-san SANITIZE=1.

BUILD    ?= build
CC       ?= cc
PKGS     := python3-embed sqlite3 jansson libsodium libxxhash yaml-0.1 md4c md4c-html libzmq
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# weft itself links neither libpython nor libzmq: the Python worker is a shared
# object (below) the forked child loads, and src/engine/zmq_api.c loads libzmq
# when a Jupyter kernel starts; renders that run nothing skip loading both.
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libzmq python3-embed,$(PKGS)) 2>/dev/null) -ldl
PY_LIBS    := $(shell pkg-config --libs python3-embed 2>/dev/null)
PY_LIBDIR  := $(shell pkg-config --variable=libdir python3-embed 2>/dev/null)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c17 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
            -D_GNU_SOURCE -DWEFT_VERSION='"$(VERSION)"' -DWEFT_LIBPYTHON_DIR='"$(PY_LIBDIR)"' \
            -Isrc -I$(BUILD)/gen $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lm
ifeq ($(FUZZ),1)
CFLAGS   += -fsanitize=fuzzer-no-link
endif
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

# The worker: CPython's host, built as a shared object and carried inside
# libweft.a (worker_image.S); the child python_engine.c forks loads it.
WORKER_SRC := src/engine/worker.c src/engine/worker_channel.c src/engine/worker_json.c src/engine/worker_nsdiff.c src/engine/embedded.c src/util/strbuf.c src/cache/store_fault.c
WORKER_OBJ := $(WORKER_SRC:%.c=$(BUILD)/pic/%.o) $(BUILD)/pic/gen/embedded_py.o
# The `_weft` module for any other CPython >= 3.9 (foreign_python.h): the
# worker's own sources built again for the stable ABI, linked with no
# libpython, carried in weft too (foreign_image.S). Never sanitized: the
# interpreter that loads it has no sanitizer runtime.
ABI3_SRC := $(WORKER_SRC) src/engine/weft_module_abi3.c
ABI3_OBJ := $(ABI3_SRC:%.c=$(BUILD)/abi3/%.o) $(BUILD)/abi3/gen/embedded_py.o
ABI3_CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS)) -fPIC -DPy_LIMITED_API=0x03090000
LIB_SRC  := $(filter-out src/cli/main.c src/engine/worker.c src/engine/worker_channel.c src/engine/worker_json.c src/engine/worker_nsdiff.c src/engine/embedded.c src/engine/weft_module_abi3.c,$(wildcard src/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/worker_image.o $(BUILD)/gen/foreign_image.o
# The runtime's files are in weft itself too: a Python Jupyter kernel is sent them
# (src/engine/kernel_runtime.c).
LIB_OBJ  += $(BUILD)/gen/embedded_py.o $(BUILD)/src/engine/embedded.o
PY_SRC   := $(sort $(wildcard src/engine/py/*.py))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps demo check test sanitize clean fuzz fuzz-protocol fuzz-short bench install uninstall
all: $(BUILD)/weft $(UNIT_BIN)

$(BUILD)/weft: $(BUILD)/src/cli/main.o $(BUILD)/libweft.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libweft.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(BUILD)/pic/gen/embedded_py.o: $(BUILD)/gen/embedded_py.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/gen/embedded_py.o: $(BUILD)/gen/embedded_py.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/weft-worker.so: $(WORKER_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(PY_LIBS) -ljansson -lxxhash -lpthread

$(BUILD)/gen/worker_image.o: src/engine/worker_image.S $(BUILD)/weft-worker.so
	@mkdir -p $(dir $@)
	$(CC) -c -DWORKER_SO='"$(BUILD)/weft-worker.so"' -o $@ $<

$(BUILD)/abi3/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ABI3_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/abi3/gen/embedded_py.o: $(BUILD)/gen/embedded_py.c
	@mkdir -p $(dir $@)
	$(CC) $(ABI3_CFLAGS) -c -o $@ $<

$(BUILD)/weft-abi3.so: $(ABI3_OBJ)
	$(CC) -shared -o $@ $^ -ljansson -lxxhash -lpthread

$(BUILD)/gen/foreign_image.o: src/engine/foreign_image.S $(BUILD)/weft-abi3.so
	@mkdir -p $(dir $@)
	$(CC) -c -DFOREIGN_SO='"$(BUILD)/weft-abi3.so"' -o $@ $<

# The Python runtime is part of the worker: each .py becomes a C string and
# its code object, marshalled by the libpython the worker links.
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -Wall -Wextra -Werror -O1 $(shell pkg-config --cflags python3-embed) -o $@ $< \
		$(shell pkg-config --libs python3-embed)

$(BUILD)/gen/embedded_py.c: $(BUILD)/tools/embed $(PY_SRC) $(BUILD)/gen/py/weft_protocol.py
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed $@ $(PY_SRC) $(BUILD)/gen/py/weft_protocol.py

# The protocol's Python side is generated from the C schema (one contract).
$(BUILD)/tools/gen_protocol: tools/gen_protocol.c src/engine/protocol_schema.h
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -Wall -Wextra -Werror -O1 -Isrc -o $@ $<

$(BUILD)/gen/py/weft_protocol.py: $(BUILD)/tools/gen_protocol
	@mkdir -p $(dir $@)
	$(BUILD)/tools/gen_protocol $@


$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libweft.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libweft.a $(LDLIBS)

# Install missing Debian packages (only when root), then build.
deps:
	@sh tools/install-deps.sh

demo: deps
	$(MAKE) -j2 all
	@mkdir -p $(BUILD)/demo
	$(BUILD)/weft --cache -o $(BUILD)/demo/report.html examples/analysis.pmd
	@echo "demo report: $(BUILD)/demo/report.html"

check: deps
	$(MAKE) -j2 all
	WEFT_BUILD=$(BUILD) bash tests/run.sh

test: all
	WEFT_BUILD=$(BUILD) bash tests/run.sh

sanitize: deps
	$(MAKE) -j2 BUILD=build-san SANITIZE=1 all
	WEFT_BUILD=build-san WEFT_CRASH_ROUNDS=4 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 bash tests/run.sh

bench: all
	sh bench/run.sh

# make install PREFIX=... (DESTDIR for staging): weft, Pweave's command names
# as links to it (weft dispatches on the name it was called by), the man page
# and bash/zsh completion.
PREFIX ?= /usr/local
PWEAVE_NAMES := pweave ptangle pypublish pweave-convert
install: all
	install -D -m 755 $(BUILD)/weft $(DESTDIR)$(PREFIX)/bin/weft
	for n in $(PWEAVE_NAMES); do ln -sf weft $(DESTDIR)$(PREFIX)/bin/$$n; done
	install -D -m 644 doc/weft.1 $(DESTDIR)$(PREFIX)/share/man/man1/weft.1
	for n in $(PWEAVE_NAMES); do ln -sf weft.1 $(DESTDIR)$(PREFIX)/share/man/man1/$$n.1; done
	install -D -m 644 tools/completion/weft.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/weft
	for n in $(PWEAVE_NAMES); do ln -sf weft $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$n; done
	install -D -m 644 tools/completion/_weft $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_weft

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/weft $(DESTDIR)$(PREFIX)/share/man/man1/weft.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/weft \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_weft
	for n in $(PWEAVE_NAMES); do rm -f $(DESTDIR)$(PREFIX)/bin/$$n \
		$(DESTDIR)$(PREFIX)/share/man/man1/$$n.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$n; done

# Fuzz with libFuzzer (clang, ASan + UBSan): one target per entry point in
# tests/fuzz (every reader, the option parsers, front matter), each for
# FUZZ_SECONDS, seeded (tools/fuzz_seeds.py) from Pweave's own test documents
# (fetched into build/pweave-tests, see tools/fetch_pweave_tests.py) and the
# repository's examples and tests. Corpora grow in build-fuzz/corpus/<target>.
# Inputs that once crashed a target are kept in tests/fuzz/regressions/<target>-*
# and replayed first.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := markdown noweb script notebook options front_matter
FUZZ_FLAGS   ?=
fuzz: deps
	$(MAKE) -j2 BUILD=build-fuzz CC=clang SANITIZE=1 FUZZ=1 build-fuzz/libweft.a
	@/usr/bin/python3 tools/fetch_pweave_tests.py build/pweave-tests || \
		echo "fuzz: Pweave's test documents unavailable; seeding from the repository only"
	@mkdir -p build-fuzz/corpus
	/usr/bin/python3 tools/fuzz_seeds.py build-fuzz/corpus examples tests tests/unit/test_options.c \
		$$([ -d build/pweave-tests ] && echo build/pweave-tests)
	set -e; for t in $(FUZZ_TARGETS); do \
		clang -std=c17 -g -O1 -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
			-o build-fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c build-fuzz/libweft.a $(LDLIBS); \
		mkdir -p build-fuzz/corpus/$$t; \
		for f in tests/fuzz/regressions/$$t-*; do [ ! -f "$$f" ] || build-fuzz/fuzz_$$t "$$f"; done; \
		build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -close_fd_mask=2 \
			$(FUZZ_FLAGS) build-fuzz/corpus/$$t; \
	done

# CI's short fuzz run (.ci/run): every target above and the protocol decoder,
# FUZZ_SHORT_SECONDS each (regression inputs replayed first); a crash fails it.
FUZZ_SHORT_SECONDS ?= 10
fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS)
	$(MAKE) fuzz-protocol FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS)

clean:
	rm -rf build build-san build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Fuzz the parent's decoding of worker messages (protocol.c) the same way,
# from the sample messages in tests/fuzz/protocol_seeds (FUZZ_SECONDS, or FUZZ_RUNS executions).
FUZZ_RUNS ?= -1
fuzz-protocol:
	$(MAKE) -j2 BUILD=build-fuzz CC=clang SANITIZE=1 FUZZ=1 build-fuzz/libweft.a
	clang -std=c17 -g -O1 -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o build-fuzz/fuzz_protocol tests/fuzz/fuzz_protocol.c build-fuzz/libweft.a $(LDLIBS)
	@mkdir -p build-fuzz/corpus-protocol
	cp tests/fuzz/protocol_seeds/*.json build-fuzz/corpus-protocol/
	build-fuzz/fuzz_protocol -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) -max_len=4096 \
		build-fuzz/corpus-protocol
