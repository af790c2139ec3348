# mod_dbsession: build, install, test, demo.
#
# The core (src/) is compiled WITHOUT httpd's include directory, so a stray
# #include <httpd.h> there fails the build: the boundary is enforced here.

APXS        ?= apxs
LIBTOOL     := $(shell $(APXS) -q LIBTOOL 2>/dev/null)
CC          := $(shell $(APXS) -q CC 2>/dev/null || echo cc)
APR_CFLAGS  := $(shell apr-1-config --includes --cppflags 2>/dev/null) \
               $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS    := $(shell apr-1-config --link-ld 2>/dev/null) \
               $(shell apu-1-config --link-ld 2>/dev/null)
SODIUM_LIBS := $(shell pkg-config --libs libsodium 2>/dev/null || echo -lsodium)
CHECK_LIBS  := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

WARN        := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wno-unused-parameter
# SANITIZE=-fsanitize=address builds core and module for scripts/asan-httpd.
SANITIZE    ?=
comma       := ,
SANITIZE_LD := $(if $(SANITIZE),-Wl$(comma)$(SANITIZE))
CORE_CFLAGS := $(WARN) -O2 -g -fPIC $(SANITIZE) $(APR_CFLAGS)

CORE_SRC    := $(wildcard src/dbs_*.c)
# dbs_admin serves dbsessionctl only.
MODULE_LO   := $(filter-out src/dbs_admin.lo,$(CORE_SRC:.c=.lo))
UNIT_SRC    := $(wildcard t/unit/*.c)

.PHONY: all install test unit demo bench clean valgrind valgrind-httpd asan \
        asan-httpd fuzz

all: .libs/mod_dbsession.so dbsessionctl

src/%.lo: src/%.c src/*.h
	$(LIBTOOL) --quiet --mode=compile $(CC) $(CORE_CFLAGS) -c $< -o $@

GLUE_SRC    := mod_dbsession.c mod_dbsession_config.c mod_dbsession_status.c

.libs/mod_dbsession.so: $(GLUE_SRC) mod_dbsession.h mod_dbsession_private.h \
                        $(MODULE_LO)
	$(APXS) -c -Wc,"$(WARN) $(SANITIZE)" -Wc,-Isrc $(SANITIZE_LD) \
	    -o mod_dbsession.la \
	    $(GLUE_SRC) $(MODULE_LO) $(SODIUM_LIBS) >/dev/null

# The operator's tool: the same core, linked statically.
dbsessionctl: tools/dbsessionctl.c $(CORE_SRC) src/*.h
	$(CC) $(WARN) -O2 -g $(SANITIZE) $(APR_CFLAGS) -Isrc \
	    tools/dbsessionctl.c $(CORE_SRC) -o $@ $(APR_LIBS) $(SODIUM_LIBS)

# make install [DESTDIR=...] [LIBEXECDIR=...] [SBINDIR=...] [A2_CONFDIR=...]:
# the module (apxs), dbsessionctl, and on Debian/Ubuntu (A2_CONFDIR exists)
# mods-available/dbsession.load and, unless one is there already, the
# commented dbsession.conf, so that "a2enmod dbsession" works.
LIBEXECDIR  ?= $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
SBINDIR     ?= /usr/local/sbin
A2_CONFDIR  ?= /etc/apache2
A2_MODS     := $(DESTDIR)$(A2_CONFDIR)/mods-available

install: all
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SBINDIR)
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$(LIBEXECDIR) -n dbsession \
	    mod_dbsession.la
	install -m 755 dbsessionctl $(DESTDIR)$(SBINDIR)/dbsessionctl
	if [ -d $(A2_MODS) ]; then \
	    sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|' conf/debian/dbsession.load.in \
	        > $(A2_MODS)/dbsession.load && \
	    chmod 644 $(A2_MODS)/dbsession.load && \
	    { [ -e $(A2_MODS)/dbsession.conf ] || \
	      install -m 644 conf/debian/dbsession.conf $(A2_MODS)/; }; \
	fi

# Unit tests of the core: no httpd, a real SQLite through apr_dbd.
t/unit/run_unit: $(CORE_SRC) $(UNIT_SRC) src/*.h t/unit/*.h
	$(CC) $(WARN) -O0 -g $(APR_CFLAGS) -Isrc $(CORE_SRC) $(UNIT_SRC) \
	    -o $@ $(APR_LIBS) $(SODIUM_LIBS) $(CHECK_LIBS)

unit: t/unit/run_unit
	t/unit/check-registered.sh
	CK_DEFAULT_TIMEOUT=30 t/unit/run_unit

valgrind: t/unit/run_unit
	CK_FORK=no valgrind --leak-check=full --error-exitcode=1 \
	    --errors-for-leak-kinds=definite t/unit/run_unit

# The module inside httpd under valgrind, with part of the suite (SQLite).
valgrind-httpd:
	scripts/valgrind-httpd sqlite3

# The module inside httpd with AddressSanitizer, under concurrent traffic
# and the expired-row cleanup on every request (SQLite).
asan-httpd:
	scripts/asan-httpd sqlite3

asan:
	$(CC) $(WARN) -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	    $(APR_CFLAGS) -Isrc $(CORE_SRC) $(UNIT_SRC) -o t/unit/run_unit_asan \
	    $(APR_LIBS) $(SODIUM_LIBS) $(CHECK_LIBS)
	CK_FORK=no t/unit/run_unit_asan

# libFuzzer harnesses of the core (clang, ASan + UBSan), each run for
# FUZZ_SECONDS: cookie open, the walk over the Cookie headers, the data
# codec, the write-back header parsers and dbs_session_apply with every
# operation.
FUZZERS      := cookie cookiejar codec headers apply
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -fno-omit-frame-pointer

t/fuzz/fuzz_%: t/fuzz/fuzz_%.c t/fuzz/fuzz_common.h $(CORE_SRC) src/*.h
	clang $(FUZZ_CFLAGS) $(APR_CFLAGS) -Isrc $< $(CORE_SRC) -o $@ \
	    $(APR_LIBS) $(SODIUM_LIBS)

fuzz: $(FUZZERS:%=t/fuzz/fuzz_%)
	scripts/fuzz $(FUZZ_SECONDS) $(FUZZERS)

# Everything: dependencies, build, unit tests, then the httpd suite on each
# database in DBS (default: all supported).
DBS ?= sqlite3 pgsql mysql
test:
	scripts/run-tests $(DBS)

demo:
	scripts/demo

# Throughput of mod_dbsession and mod_session_dbd in one run (README "Performance").
bench:
	scripts/bench

clean:
	rm -rf .libs src/.libs *.la *.lo *.slo *.o src/*.lo src/*.o src/*.slo \
	    t/unit/run_unit t/unit/run_unit_asan $(FUZZERS:%=t/fuzz/fuzz_%) \
	    dbsessionctl
