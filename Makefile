# svcc — a service-proxy rules compiler.  `make`, `make test`, `make install`.
PREFIX	?= /usr/local
LIBDIR	?= $(PREFIX)/lib
DESTDIR	?=
MANDIR	?= $(PREFIX)/share/man
# where bash-completion looks under PREFIX (it searches XDG_DATA_DIRS' bash-completion/completions)
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# where systemd looks for units under PREFIX (svcc agent's: examples/svcc-agent.service)
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
BUILD	?= build
CC	?= cc
# jansson and libyaml: svcc_import_k8s reads Kubernetes' JSON and YAML
PKGS	:= libnftnl libmnl libnftables libnetfilter_conntrack jansson yaml-0.1
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE -pthread -fPIC -fvisibility=hidden -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Iinclude -Icompiler -Igrammar -Iruntime -I$(BUILD)/grammar \
	   $(shell pkg-config --cflags $(PKGS))
LDLIBS	+= $(shell pkg-config --libs $(PKGS)) -pthread
VERSION	:= $(shell sed -n 's/^\#define SVCC_VERSION "\(.*\)"/\1/p' include/svcc.h)
ifdef SAN
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS	+= -fsanitize=address,undefined
endif

COMPILER := compiler/diag.c compiler/htab.c compiler/model.c compiler/builder.c \
	    compiler/resolve.c compiler/check.c compiler/lower.c compiler/lower_place.c \
	    compiler/lower_sets.c compiler/lower_chains.c compiler/lower_affinity.c compiler/ruleset.c \
	    compiler/ruleset_sort.c compiler/render.c compiler/compile.c grammar/parse.c
# svcc trace: a new connection through the ruleset model, in user space
COMPILER += compiler/trace.c compiler/trace_eval.c
# svcc_import_k8s: Kubernetes objects (JSON, YAML) to a config
COMPILER += compiler/import_k8s.c compiler/k8s_read.c
# configs in parts (svcc agent): one added into another, what changed between two
COMPILER += compiler/config_merge.c
# svcc_config_write, svcc fmt: the config as canonical .svc text
COMPILER += compiler/write.c
# svcc_version: the library's own, at run time
COMPILER += compiler/version.c
# the public API's builder calls beyond vip, ports and endpoints, and its getters
COMPILER += compiler/builder_service.c compiler/config_get.c
RUNTIME  := runtime/affinity.c runtime/clone.c runtime/conntrack.c runtime/diff.c runtime/nameidx.c runtime/nl_batch.c runtime/nl_msg.c \
	    runtime/nl_rule.c runtime/read.c runtime/readback.c runtime/rule_check.c runtime/rule_decode.c runtime/rule_hash.c runtime/runtime.c runtime/ruleset_diff.c runtime/show.c runtime/show_ct.c runtime/slots.c \
	    runtime/state.c runtime/tx_render.c runtime/update.c
GEN	 := $(BUILD)/grammar/parser.c $(BUILD)/grammar/lexer.c
LIB_OBJS := $(COMPILER:%.c=$(BUILD)/%.o) $(RUNTIME:%.c=$(BUILD)/%.o) $(GEN:.c=.o)
UNIT	 := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/*.c)) \
	    $(BUILD)/tests/test-diff
DRIVER	 := $(BUILD)/tests/runtime/rt-driver
UPDATE_TEST := $(BUILD)/tests/runtime/test-update
READ_TEST := $(BUILD)/tests/runtime/test-read
SLOTS_TEST := $(BUILD)/tests/runtime/test-slots
CT_DRIVER := $(BUILD)/tests/kernel/ct-driver

all: $(BUILD)/svcc $(BUILD)/libsvcc.a $(BUILD)/libsvcc.so

$(BUILD)/grammar/parser.c $(BUILD)/grammar/parser.h &: grammar/parser.y
	@mkdir -p $(@D)
	bison -Wall -Werror --defines=$(BUILD)/grammar/parser.h -o $(BUILD)/grammar/parser.c $<

# -CF: of flex's table layouts, the fastest on a big source (lexer.l makes it 8-bit)
$(BUILD)/grammar/lexer.c $(BUILD)/grammar/lexer.h &: grammar/lexer.l
	@mkdir -p $(@D)
	flex -CF --header-file=$(BUILD)/grammar/lexer.h -o $(BUILD)/grammar/lexer.c $<

# generated code: keep warnings on, but not all of -Wextra's opinions
$(BUILD)/grammar/lexer.o: CFLAGS += -Wno-unused-function -Wno-sign-compare
$(BUILD)/grammar/%.o: $(BUILD)/grammar/%.c $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h $(wildcard grammar/*.h compiler/*.h include/*.h)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h $(wildcard include/*.h compiler/*.h grammar/*.h runtime/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libsvcc.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# libsvcc.map: the svcc_* calls alone are exported (tests/exports.sh), in version LIBSVCC_0
$(BUILD)/libsvcc.so: $(LIB_OBJS) libsvcc.map
	$(CC) -shared -Wl,-soname,libsvcc.so.0 -Wl,--version-script=libsvcc.map $(LDFLAGS) -o $@ \
		$(LIB_OBJS) $(LDLIBS)

# svcc import-k8s: the library's import, then its writer
IMPORT_OBJS := $(BUILD)/compiler/import_cmd.o
$(BUILD)/svcc: $(BUILD)/compiler/main.o $(IMPORT_OBJS) $(BUILD)/libsvcc.a
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/libsvcc.a $(LDLIBS)

$(BUILD)/svcc: $(BUILD)/compiler/trace_cmd.o

# svcc agent serves HTTP with libmicrohttpd: the command needs it, the library does not
AGENT_OBJS := $(BUILD)/compiler/agent.o $(BUILD)/compiler/agent_watch.o $(BUILD)/compiler/agent_http.o
$(AGENT_OBJS): CFLAGS += $(shell pkg-config --cflags libmicrohttpd)
$(BUILD)/svcc: $(AGENT_OBJS)
# the library once more after them, wherever the link line puts them
$(BUILD)/svcc: LDLIBS := $(BUILD)/libsvcc.a $(shell pkg-config --libs libmicrohttpd) $(LDLIBS)
$(BUILD)/svcc: $(BUILD)/compiler/fmt_cmd.o

$(BUILD)/tests/test-diff: tests/runtime/test-diff.c tests/unit/check.h $(BUILD)/libsvcc.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter-out %.h,$^) $(LDLIBS)

$(DRIVER): tests/runtime/rt-driver.c $(BUILD)/libsvcc.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(SLOTS_TEST): tests/runtime/test-slots.c $(BUILD)/libsvcc.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(READ_TEST): tests/runtime/test-read.c tests/unit/check.h $(BUILD)/libsvcc.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter-out %.h,$^) $(LDLIBS)

$(UPDATE_TEST): tests/runtime/test-update.c $(BUILD)/libsvcc.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CT_DRIVER): tests/kernel/ct-driver.c $(BUILD)/libsvcc.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/check.h $(BUILD)/libsvcc.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter-out %.h,$^) $(LDLIBS)

# ---- tests ------------------------------------------------------------------
# make test: everything, and the offline part again under ASan+UBSan.
test: check check-valgrind check-kernel
	$(MAKE) BUILD=build/san SAN=1 check check-kernel

check-valgrind: all $(UNIT)
	@sh tests/valgrind.sh $(BUILD)

check: all $(UNIT)
	@sh tests/run.sh $(BUILD)
	@sh tests/import/run.sh $(BUILD)
	@sh tests/trace/run.sh $(BUILD)
	@sh tests/fmt/run.sh $(BUILD)
	@sh tests/exports.sh $(BUILD)
	@sh tests/man.sh $(BUILD)
	@bash tests/contrib.sh
ifndef SAN
	@sh tests/install.sh $(BUILD)
endif

check-kernel: all $(DRIVER) $(UPDATE_TEST) $(READ_TEST) $(SLOTS_TEST) $(CT_DRIVER)
	@sh tests/kernel/run.sh $(BUILD)

# the Go binding (bindings/go) against this build's libsvcc.a, and README's Go
# example; as root its kernel part too, in a private network namespace.  Said
# skipped without go; not under SAN (the Go linker would need ASan's runtime)
check-go: $(BUILD)/libsvcc.a
	@SVCC_LDLIBS='$(LDLIBS)' sh bindings/go/test.sh $(BUILD)
ifndef SAN
check: check-go
endif

golden-update: all
	@sh tests/golden-update.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 755 $(BUILD)/svcc $(DESTDIR)$(PREFIX)/bin/svcc
	install -m 644 $(BUILD)/libsvcc.a $(DESTDIR)$(LIBDIR)/libsvcc.a
	install -m 644 $(BUILD)/libsvcc.so $(DESTDIR)$(LIBDIR)/libsvcc.so.0
	ln -sf libsvcc.so.0 $(DESTDIR)$(LIBDIR)/libsvcc.so
	install -m 644 include/svcc.h $(DESTDIR)$(PREFIX)/include/svcc.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' svcc.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/svcc.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 644 man/svcc.1 $(DESTDIR)$(MANDIR)/man1/svcc.1
	install -m 644 man/libsvcc.3 $(DESTDIR)$(MANDIR)/man3/libsvcc.3
	install -m 644 man/svc.5 $(DESTDIR)$(MANDIR)/man5/svc.5
	install -m 644 contrib/bash-completion/svcc $(DESTDIR)$(BASHCOMPDIR)/svcc
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/local/bin/svcc|$(PREFIX)/bin/svcc|' examples/svcc-agent.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/svcc-agent.service

clean:
	rm -rf build

.PHONY: all test check check-valgrind check-kernel check-go golden-update install clean
.SECONDARY:

# ---- fuzzing (tests/fuzz/) ----------------------------------------------------
# libFuzzer harnesses, built with clang against the library instrumented for
# coverage and ASan+UBSan (its own objects in $(BUILD)/fuzz/lib).
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS='parse diff']: each target that
#     long, on its seed corpus (examples/, tests/) with the language's words;
#     what it finds new goes to $(BUILD)/fuzz/corpus-TARGET.
#   make check-fuzz (part of make test): the inputs of every crash found so far
#     (tests/fuzz/regress/TARGET/) replayed, then each target FUZZ_SMOKE seconds.
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_SMOKE	?= 15
FUZZ_TARGETS	?= parse import diff builder
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ifdef FUZZ
CFLAGS	+= -fsanitize=fuzzer-no-link $(FUZZ_SAN)
endif
FUZZ_LIB	:= $(BUILD)/fuzz/lib
FUZZ_BINS	:= $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz-%)
FUZZ_FLAGS	= -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Iinclude -Icompiler \
		  -Igrammar -Iruntime -Itests/fuzz $(shell pkg-config --cflags $(PKGS))

# one sub-make for both, so that two never write the same generated files
$(FUZZ_LIB)/libsvcc.a: FORCE
	$(MAKE) --no-print-directory BUILD=$(FUZZ_LIB) CC=$(FUZZ_CC) FUZZ=1 $@

$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(FUZZ_LIB)/libsvcc.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
		$(filter %.o,$^) $(FUZZ_LIB)/libsvcc.a $(LDLIBS)

# seed corpora, made fresh from the tests' inputs (tests/fuzz/seed.sh)
$(BUILD)/fuzz/seed-%: FORCE
	@sh tests/fuzz/seed.sh $* $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		sh tests/fuzz/seed.sh $$t $(BUILD)/fuzz/seed-$$t && mkdir -p $(BUILD)/fuzz/corpus-$$t && \
		echo "fuzz-$$t: $(FUZZ_SECONDS) s" && \
		$(BUILD)/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-dict=tests/fuzz/$$([ $$t = import ] && echo k8s || echo svc).dict -artifact_prefix=$(BUILD)/fuzz/crash-$$t- \
			$(BUILD)/fuzz/corpus-$$t $(BUILD)/fuzz/seed-$$t || exit 1; \
	done

check-fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(BUILD) $(FUZZ_SMOKE) $(FUZZ_TARGETS)

test: check-fuzz

FORCE:
.PHONY: fuzz fuzz-build check-fuzz FORCE

# ---- fault injection (tests/fault/) -------------------------------------------
# fault-driver: every allocation of libsvcc, libnftnl and jansson (linked
# statically) goes through its __wrap_* functions, which fail the Nth one on
# demand; tests/fault/run.sh sweeps N over parse, compile, import, apply and
# update (from tests/kernel/run.sh: root, a private network namespace), and
# makes the kernel refuse a 10k-service batch at its start, middle and end.
FAULT_DRIVER	:= $(BUILD)/tests/fault/fault-driver
FAULT_GEN	:= $(BUILD)/tests/fault/gen-config
FAULT_WRAP	:= -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup,--wrap=asprintf,--wrap=vasprintf,--wrap=open_memstream
FAULT_STATIC	:= $(shell pkg-config --variable=libdir libnftnl)/libnftnl.a \
		   $(shell pkg-config --variable=libdir jansson)/libjansson.a \
		   $(shell pkg-config --variable=libdir yaml-0.1)/libyaml.a

$(FAULT_DRIVER): tests/fault/fault-driver.c $(IMPORT_OBJS) $(BUILD)/libsvcc.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $(FAULT_WRAP) -o $@ $^ \
		$(FAULT_STATIC) $(LDLIBS)

$(FAULT_GEN): bench/gen-config.c
	@mkdir -p $(@D)
	$(CC) -O2 -std=c11 -Wall -Wextra -Werror -o $@ $<

check-fault: all $(FAULT_DRIVER) $(FAULT_GEN)
	@sh tests/fault/run.sh $(BUILD)

check-kernel: $(FAULT_DRIVER) $(FAULT_GEN)
.PHONY: check-fault
