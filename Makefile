# coopgate: build, test, demo.  `make help` lists the targets.
#
# Objects go to build/default/ (or build/san/ with SAN=1), so a sanitizer
# build never mixes with a normal one.  ./coopgate is the normal binary.

PREFIX  ?= /usr/local
DESTDIR ?=
PYTHON  ?= /usr/bin/python3
PKGS     = libetpan libstrophe libcurl sqlite3 libsodium libconfig gnutls

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

.PHONY: all deps check lint unit integration demo bench install format clean help

all: coopgate

help:
	@echo "make            build ./coopgate"
	@echo "make deps       install missing Debian 12 packages (apt-get; sudo if not root)"
	@echo "make check      deps, build, unit tests (cmocka), integration tests (real servers)"
	@echo "make check SAN=1  the same with ASan + UBSan"
	@echo "make lint       the layer rule (tests/lint/check_layers.py) and its self-test"
	@echo "make demo       run coopgate against a local Dovecot + Postfix + Prosody sandbox"
	@echo "make bench      benchmarks against real servers, printing figures"
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

check: deps
	$(MAKE) lint
	$(MAKE) coopgate
	$(MAKE) unit
	$(MAKE) integration

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

format:
	clang-format -i $(SRCS) $(HDRS) $(wildcard tests/unit/*.c tests/unit/*.h)

clean:
	rm -rf build coopgate

-include $(shell find build -name '*.d' 2>/dev/null)
