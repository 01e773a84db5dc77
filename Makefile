# coopgate: build, test, demo.  `make help` lists the targets.
#
# Objects go to build/default/ (or build/san/ with SAN=1), so a sanitizer
# build never mixes with a normal one.  ./coopgate is the normal binary.

PREFIX  ?= /usr/local
DESTDIR ?=
PYTHON  ?= /usr/bin/python3
PKGS     = libetpan libstrophe libcurl sqlite3 libsodium libconfig gnutls \
           opendkim libxml-2.0

CC      ?= cc
CSTD     = -std=c17 -D_GNU_SOURCE
WARN     = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
OPT     ?= -O2 -g
INCS     = -I.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SAN),1)
BUILD    = build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
else
BUILD    = build/default
SANFLAGS =
endif

CFLAGS  += $(CSTD) $(WARN) $(OPT) $(SANFLAGS) $(INCS) $(PKG_CFLAGS) -MMD -MP
# --as-needed: a library pkg-config names but nothing calls (libetpan's own
# dependencies, e.g. -ldb -llockfile) is not recorded as needed.
LDFLAGS += $(SANFLAGS) -Wl,--as-needed
LDLIBS  += $(PKG_LIBS) -lstemmer -lm -lpthread

SRCS    := $(sort $(wildcard lib/*.c store/*.c gateway/*.c reports/*.c bridges/*.c bridges/*/*.c cli/*.c))
LIBSRCS := $(filter-out cli/main.c,$(SRCS))
OBJS    := $(LIBSRCS:%.c=$(BUILD)/%.o) $(BUILD)/store/schema_sql.o
SCHEMA  := $(sort $(wildcard store/schema/*.sql))
HDRS    := $(sort $(wildcard lib/*.h store/*.h gateway/*.h reports/*.h bridges/*.h bridges/*/*.h cli/*.h))
TESTS   := $(sort $(wildcard tests/unit/test_*.c))
TESTBIN := $(TESTS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps check lint unit integration demo bench install format clean help \
        fuzz fuzz-replay validate-invoices

all: coopgate

help:
	@echo "make            build ./coopgate"
	@echo "make deps       install missing Debian 12 packages (apt-get; sudo if not root)"
	@echo "make check      deps, build, unit tests (cmocka), integration tests (real servers)"
	@echo "make check SAN=1  the same with ASan + UBSan"
	@echo "make lint       the layer rule (tests/lint/check_layers.py) and its self-test,"
	@echo "                the README's map (check_readme_map.py), clang-format"
	@echo "make fuzz       build the libFuzzer targets (tests/fuzz/, clang) and run each"
	@echo "                for FUZZ_SECONDS (default 60); findings in build/fuzz/"
	@echo "make fuzz-replay  replay tests/fuzz/corpus/ (past findings) on this build;"
	@echo "                fails on a crash or an input over REPLAY_SECONDS (part of check)"
	@echo "make demo       run coopgate against a local Dovecot + Postfix + Prosody sandbox"
	@echo "make bench      benchmarks against real servers, printing figures"
	@echo "make validate-invoices  the official EN 16931 + XRechnung rules on the"
	@echo "               invoices the tests produce (XRECHNUNG_RULES=DIR; skips without)"
	@echo "make install    install to \$$(DESTDIR)\$$(PREFIX) (default /usr/local)"
	@echo "make format     clang-format every C file"
	@echo "make clean      remove build outputs"

deps:
	@tests/fixtures/deps.sh

$(BUILD)/coopgate: $(BUILD)/cli/main.o $(BUILD)/libcoopgate.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

coopgate: $(BUILD)/coopgate
	@[ "$(SAN)" = 1 ] || cp $(BUILD)/coopgate coopgate

$(BUILD)/libcoopgate.a: $(OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The migrations are compiled into the binary: an installed coopgate needs no
# schema files on disk.
$(BUILD)/store/schema_sql.c: $(SCHEMA) store/schema/embed.sh
	@mkdir -p $(dir $@)
	sh store/schema/embed.sh $(SCHEMA) > $@

$(BUILD)/store/schema_sql.o: $(BUILD)/store/schema_sql.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcoopgate.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libcoopgate.a $(LDFLAGS) $(LDLIBS) -lcmocka

# bench/trim.sh: the reply trimmer's throughput.
$(BUILD)/bench/trim_bench: bench/trim_bench.c $(BUILD)/libcoopgate.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libcoopgate.a $(LDFLAGS) $(LDLIBS)

unit: $(TESTBIN)
	@fail=0; for t in $(TESTBIN); do \
		echo "== $$t"; $$t || fail=1; done; \
	[ $$fail = 0 ] || { echo "unit tests failed"; exit 1; }

# pytest exits 5 when it collected no test: for us that is a failure too,
# said plainly rather than passed over.
integration: $(BUILD)/coopgate
	@COOPGATE=$(CURDIR)/$(BUILD)/coopgate $(PYTHON) -m pytest -q -p no:cacheprovider \
		tests/integration $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc = 5 ]; then echo "integration: no test collected"; exit 1; fi; exit $$rc

# The layer rule (README, "Layers"): an include that breaks it fails the
# check; the self-test shows the script still catches planted violations.
lint:
	@$(PYTHON) tests/lint/check_layers.py
	@$(PYTHON) tests/lint/check_layers.py --self-test
	@$(PYTHON) tests/lint/check_readme_map.py
	@clang-format --dry-run --Werror $(FORMATTED) 2>&1 | head -20; \
	clang-format --dry-run --Werror $(FORMATTED) >/dev/null 2>&1 || \
		{ echo "lint: C files differ from .clang-format: run make format"; exit 1; }

check: deps
	$(MAKE) lint
	$(MAKE) coopgate
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) integration

# ---- fuzzing (tests/fuzz/README.md) ----
# make fuzz: every target linked with libFuzzer, the project's objects
# compiled by clang with the fuzzer and sanitizer flags into build/fuzz/.
# New inputs go to build/fuzz/corpus/NAME/ (seeded from tests/fuzz/corpus/),
# crashes to build/fuzz/crash-NAME-*.  make fuzz-replay: the corpus of past
# findings fed to each target built with the normal compiler and flags
# (SAN=1: with the sanitizers), one child process per input.
FUZZ_TARGETS   := mail xmpp config vcard request lmtp
FUZZ_CC        ?= clang
FUZZ_BUILD      = build/fuzz
FUZZ_SECONDS   ?= 60
FUZZ_MAX_LEN   ?= 65536
FUZZ_CFLAGS     = $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer \
                  -fsanitize=address,undefined,fuzzer-no-link \
                  -fno-sanitize-recover=undefined $(INCS) $(PKG_CFLAGS) -MMD -MP
# libetpan's pkg-config names a gcc specs file clang does not take.
FUZZ_LIBS       = $(filter-out -specs=%,$(LDLIBS))
FUZZ_OBJS      := $(LIBSRCS:%.c=$(FUZZ_BUILD)/%.o) $(FUZZ_BUILD)/store/schema_sql.o
FUZZ_BINS      := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
REPLAY_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
FUZZ_ENV        = LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp:print_suppressions=0
ifeq ($(SAN),1)
REPLAY_SECONDS ?= 10
else
REPLAY_SECONDS ?= 2
endif

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/store/schema_sql.c: $(SCHEMA) store/schema/embed.sh
	@mkdir -p $(dir $@)
	sh store/schema/embed.sh $(SCHEMA) > $@

$(FUZZ_BUILD)/store/schema_sql.o: $(FUZZ_BUILD)/store/schema_sql.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libcoopgate.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.c $(FUZZ_BUILD)/libcoopgate.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c,$^) \
		$(FUZZ_BUILD)/libcoopgate.a -Wl,--as-needed $(FUZZ_LIBS)

fuzz: $(FUZZ_BINS)
	@fail=""; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/tmp; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		TMPDIR=$(CURDIR)/$(FUZZ_BUILD)/tmp $(FUZZ_ENV) \
			$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-max_len=$(FUZZ_MAX_LEN) -timeout=10 -rss_limit_mb=2048 \
			-close_fd_mask=1 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
			$(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t \
			2> $(FUZZ_BUILD)/fuzz_$$t.log || fail="$$fail $$t"; \
		grep -E '^(stat::number_of_executed_units|Done|==[0-9]+==ERROR|SUMMARY)' \
			$(FUZZ_BUILD)/fuzz_$$t.log; \
	done; \
	[ -z "$$fail" ] || { echo "fuzz: findings in:$$fail (see $(FUZZ_BUILD)/fuzz_*.log, $(FUZZ_BUILD)/crash-*)"; exit 1; }

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.c tests/fuzz/replay.c $(BUILD)/libcoopgate.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(BUILD)/libcoopgate.a $(LDFLAGS) $(LDLIBS)

fuzz-replay: $(REPLAY_BINS)
	@fail=""; for t in $(FUZZ_TARGETS); do \
		$(FUZZ_ENV) $(BUILD)/fuzz/replay_$$t -t $(REPLAY_SECONDS) tests/fuzz/corpus/$$t \
			|| fail="$$fail $$t"; \
	done; \
	[ -z "$$fail" ] || { echo "fuzz-replay: failing corpus:$$fail"; exit 1; }
# The invoices and credit notes the unit and integration tests produce, run
# through the official EN 16931 and XRechnung rules (kept outside the
# repository: XRECHNUNG_RULES names their directory; without it: skipped).
INVOICE_DIR = $(CURDIR)/$(BUILD)/invoices
validate-invoices: $(BUILD)/tests/test_invoice_doc $(BUILD)/tests/test_billing $(BUILD)/coopgate
	@rm -rf $(INVOICE_DIR) && mkdir -p $(INVOICE_DIR)
	@INVOICE_OUT_DIR=$(INVOICE_DIR) $(BUILD)/tests/test_invoice_doc >/dev/null
	@INVOICE_OUT_DIR=$(INVOICE_DIR) $(BUILD)/tests/test_billing >/dev/null
	@if [ "$(VALIDATE_INTEGRATION)" = 1 ]; then \
		INVOICE_OUT_DIR=$(INVOICE_DIR) COOPGATE=$(CURDIR)/$(BUILD)/coopgate \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration/test_billing.py; fi
	@tests/validate/xrechnung.sh $(INVOICE_DIR)

demo: deps coopgate
	@tests/fixtures/demo.sh

bench: deps coopgate
	@for b in bench/*.sh; do [ -x "$$b" ] && "$$b" "$(CURDIR)/$(BUILD)/coopgate" || exit 1; done

install: coopgate
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/doc/coopgate
	install -m 0755 coopgate $(DESTDIR)$(PREFIX)/bin/coopgate
	install -m 0644 config/coopgate.conf.example $(DESTDIR)$(PREFIX)/share/doc/coopgate/
	install -m 0644 config/coopgate.service $(DESTDIR)$(PREFIX)/share/doc/coopgate/
	install -m 0644 config/coopgate.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 config/coopgate.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/

FORMATTED = $(SRCS) $(HDRS) $(wildcard tests/unit/*.c tests/unit/*.h \
            tests/fuzz/*.c tests/fuzz/*.h bench/*.c)

format:
	clang-format -i $(FORMATTED)

clean:
	rm -rf build coopgate

-include $(shell find build -name '*.d' 2>/dev/null)
