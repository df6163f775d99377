# bouncegate - plain Makefile, pkg-config for every library that has one.
#
#   make                 build milter/bouncegate and milter/bouncegatectl
#   make check           unit + integration + end-to-end tests (the README's
#                        test command; end-to-end runs a private Postfix: root)
#   make check-unit      Check unit tests only
#   make check-asan      everything again under ASan+UBSan (clang)
#   make check-valgrind  unit tests under valgrind, no leaks allowed
#   make fuzz            each libFuzzer target for FUZZ_SECONDS (default 60)
#   make run             a memcached of its own on a free port, the milter in the
#                        foreground on a loopback socket (conf/run-local.sh)
#   make soak            20,000 messages over 50 sessions through Postfix (root)
#   make demo            watch it learn from a bounce and refuse the next RCPT
#                        (root: a private Postfix on loopback, removed after)
#   make install         PREFIX=/usr/local DESTDIR=
#
# Sources are picked up by pattern: lib/*.c form libbouncegate.a,
# milter/bouncegate.c + milter/daemon_*.c the daemon, milter/bouncegatectl.c +
# milter/ctl_*.c the admin tool, test/unit/test_*.c one Check program each.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
SBINDIR  = $(PREFIX)/sbin
MANDIR   = $(PREFIX)/share/man
SYSCONFDIR ?= /etc

PKGS      = libmemcached libidn2 nettle
CSTD      = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN      = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
OPT      ?= -O2 -g
SAN      ?=
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(SAN) -Ilib $(shell pkg-config --cflags $(PKGS) milter) $(CFLAGS) $(CPPFLAGS)
LIBS_LIB  = $(shell pkg-config --libs $(PKGS)) -lmemcachedutil -lpthread
LIBS_MILTER = -lmilter
LIBS_HTTP = $(shell pkg-config --libs libmicrohttpd)
# c-ares: bouncegatectl verify (lib/dnscheck.c) only
LIBS_DNS  = $(shell pkg-config --libs libcares)
LIBS_CHECK = $(shell pkg-config --libs check)
LDFLAGS_ALL = $(SAN) $(LDFLAGS)

LIB_SRC    = $(sort $(wildcard lib/*.c))
LIB_OBJ    = $(LIB_SRC:.c=.o)
LIB_A      = lib/libbouncegate.a
DAEMON_SRC = milter/bouncegate.c $(sort $(wildcard milter/daemon_*.c))
CTL_SRC    = milter/bouncegatectl.c $(sort $(wildcard milter/ctl_*.c))
LOGW_SRC   = milter/bouncegate-logwatch.c $(sort $(wildcard milter/logwatch_*.c))
DAEMON     = milter/bouncegate
CTL        = milter/bouncegatectl
LOGW       = $(if $(wildcard milter/bouncegate-logwatch.c),milter/bouncegate-logwatch)
UNIT_SRC   = $(sort $(wildcard test/unit/test_*.c))
UNIT_BIN   = $(UNIT_SRC:.c=)
TESTTOOL_SRC = $(sort $(wildcard test/tools/*.c))
TESTTOOL_BIN = $(TESTTOOL_SRC:.c=)
FUZZ_SRC   = $(sort $(wildcard test/fuzz/fuzz_*.c))
MAN8       = $(wildcard man/*.8)
MAN5       = $(wildcard man/*.5)

.PHONY: all check check-unit check-integration check-e2e check-asan check-valgrind \
        fuzz run demo soak install clean corpus bench bench-rcpt bench-rss bench-verify
all: $(DAEMON) $(CTL) $(LOGW)

lib/%.o: lib/%.c $(wildcard lib/*.h)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(DAEMON): $(DAEMON_SRC) $(wildcard milter/*.h) $(LIB_A)
	$(CC) $(CFLAGS_ALL) -Imilter -o $@ $(DAEMON_SRC) $(LIB_A) $(LDFLAGS_ALL) $(LIBS_MILTER) $(LIBS_HTTP) $(LIBS_LIB)

$(CTL): $(CTL_SRC) $(wildcard milter/*.h) $(LIB_A)
	$(CC) $(CFLAGS_ALL) -Imilter -o $@ $(CTL_SRC) $(LIB_A) $(LDFLAGS_ALL) $(LIBS_DNS) $(LIBS_LIB)

milter/bouncegate-logwatch: $(LOGW_SRC) $(wildcard milter/*.h) $(LIB_A)
	$(CC) $(CFLAGS_ALL) -Imilter -o $@ $(LOGW_SRC) $(LIB_A) $(LDFLAGS_ALL) $(LIBS_LIB)

test/unit/test_%: test/unit/test_%.c $(wildcard test/unit/*.h) $(LIB_A)
	$(CC) $(CFLAGS_ALL) -Itest/unit -o $@ $< $(LIB_A) $(LDFLAGS_ALL) $(LIBS_CHECK) $(LIBS_LIB)

test/tools/%: test/tools/%.c $(LIB_A)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB_A) $(LDFLAGS_ALL) $(LIBS_LIB)

BENCH_MEM = test/bench/classify-mem
$(BENCH_MEM): test/bench/classify-mem.c $(LIB_A)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB_A) $(LDFLAGS_ALL) $(LIBS_LIB)

BENCH_EMPTY = test/bench/empty-milter
$(BENCH_EMPTY): test/bench/empty-milter.c
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL) $(LIBS_MILTER)

BENCH_LOOKUP = test/bench/lookup-milter
$(BENCH_LOOKUP): test/bench/lookup-milter.c
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL) $(LIBS_MILTER) $(LIBS_LIB)

# Everything: unit, integration (real memcached + daemon) and end-to-end
# (a private Postfix; needs root, as Postfix's master does).
check: check-unit check-integration check-e2e

check-unit: $(UNIT_BIN)
	@sh test/run-unit.sh $(UNIT_BIN)

check-integration: all $(TESTTOOL_BIN) $(BENCH_EMPTY) $(BENCH_LOOKUP)
	@sh test/run-integration.sh

check-e2e: all $(TESTTOOL_BIN)
	@sh test/run-e2e.sh

# The whole suite again with ASan+UBSan, built with clang into the same
# tree after a clean (so no object mixes instrumented and plain code).
check-asan:
	$(MAKE) clean
	BG_SANITIZER=asan $(MAKE) CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" check
	$(MAKE) clean

check-valgrind: $(UNIT_BIN)
	@VALGRIND=1 sh test/run-unit.sh $(UNIT_BIN)

FUZZ_SECONDS ?= 60
FUZZ_BIN = $(patsubst test/fuzz/%.c,test/fuzz/bin/%,$(FUZZ_SRC))
test/fuzz/bin/%: test/fuzz/%.c $(LIB_SRC) $(wildcard lib/*.h)
	@mkdir -p test/fuzz/bin
	clang $(CSTD) -O1 -g -Ilib $(shell pkg-config --cflags $(PKGS)) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $@ $< $(LIB_SRC) $(LIBS_DNS) $(LIBS_LIB)
fuzz: $(FUZZ_BIN)
	@sh test/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# The long load and soak run against a private Postfix (root): 20,000
# messages over 50 sessions; make check runs a short version of it.
SOAK_MESSAGES ?= 20000
SOAK_SESSIONS ?= 50
soak: all $(TESTTOOL_BIN)
	@BG_TEST_TIMEOUT=1800 SOAK_MESSAGES=$(SOAK_MESSAGES) SOAK_SESSIONS=$(SOAK_SESSIONS) \
	    sh test/run-e2e.sh 70-soak

corpus: $(CTL)
	@sh test/corpus-eval.sh

bench: $(CTL) $(BENCH_MEM)
	@sh test/bench/classify-bench.sh

# The RCPT path against an empty milter and a lookup-only one (CPU per
# RCPT, latency), Postfix's CPU per message with and without bouncegate,
# and how soon a suppressed recipient is refused again after memcached
# comes back; root.
# bouncegatectl verify on 100,000 addresses over 5,000 domains (dnsmasq)
bench-verify: $(CTL)
	@bash test/bench/verify-bench.sh

bench-rcpt: all $(TESTTOOL_BIN) $(BENCH_EMPTY) $(BENCH_LOOKUP)
	@bash test/bench/rcpt-bench.sh
	@bash test/bench/postfix-bench.sh
	@bash test/bench/recover-time.sh

# The daemon's RSS after restoring a 1,000,000-entry journal, and around a
# non-SMTP message with 100,000 suppressed recipients; root.
bench-rss: all $(TESTTOOL_BIN)
	@bash test/bench/restore-rss.sh
	@bash test/bench/nonsmtp-rss.sh

run: all
	@bash conf/run-local.sh

# Watch it work: a private Postfix, memcached and bouncegate learn from a
# 550 5.1.1 bounce and refuse the next RCPT TO (root; cleans up after itself).
demo: all test/tools/smtpclient test/tools/freeport test/tools/mtclient
	@bash test/e2e/demo.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(SYSCONFDIR)
	install -m 0755 $(DAEMON) $(CTL) $(LOGW) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 conf/bouncegate.conf $(DESTDIR)$(SYSCONFDIR)/bouncegate.conf.sample
	install -d $(DESTDIR)$(PREFIX)/share/bouncegate
	install -m 0644 conf/rules.conf conf/postfix-main.cf conf/postfix-master.cf conf/sendmail.mc \
	    $(DESTDIR)$(PREFIX)/share/bouncegate/

clean:
	rm -f lib/*.o $(LIB_A) $(DAEMON) $(CTL) milter/bouncegate-logwatch $(UNIT_BIN) $(TESTTOOL_BIN) $(BENCH_MEM) $(BENCH_EMPTY) $(BENCH_LOOKUP)
	rm -rf test/fuzz/bin
