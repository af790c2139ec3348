# mod_dbsession: build, install, test, demo.
#
# The core (src/) is compiled WITHOUT httpd's include directory, so a stray
# #include <httpd.h> there fails the build: the boundary is enforced here.

APXS        ?= apxs
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
# CPPFLAGS, CFLAGS and LDFLAGS from the environment (dpkg-buildflags when
# debian/rules builds the package: hardening) go into the core and
# dbsessionctl; the module takes apxs's own, which are the server's.
comma       := ,
SANITIZE_LD := $(if $(SANITIZE),-Wl$(comma)$(SANITIZE))

.PHONY: all install test unit demo bench clean valgrind valgrind-httpd asan \
        asan-httpd fuzz FORCE

all: .libs/mod_dbsession.so dbsessionctl

# The core, built once per flavour into build/FLAVOUR/libdbscore.a, an
# archive of PIC objects that the module, dbsessionctl, the unit tests and
# the fuzzers link: each takes only the members it uses (the module has no
# dbs_admin, which serves dbsessionctl). Every src/dbs_*.c is a member. A
# flavour is a compiler and flags:
#   pic    the module, dbsessionctl, make unit and make valgrind
#   asan   make asan (AddressSanitizer and UBSan)
#   fuzz   make fuzz (clang: libFuzzer's coverage, ASan and UBSan)
CORE_SRC    := $(wildcard src/dbs_*.c)
CORE_HDR    := $(wildcard src/*.h)
CORE_LIB     = build/$(1)/libdbscore.a
ASAN_FLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_FLAGS  := -O1 -g -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -fno-omit-frame-pointer

CORE_FLAVOURS    := pic asan fuzz
CORE_CC.pic      := $(CC)
CORE_CFLAGS.pic  := -O2 -g $(SANITIZE) $(CPPFLAGS) $(CFLAGS)
CORE_CC.asan     := $(CC)
CORE_CFLAGS.asan := $(ASAN_FLAGS)
CORE_CC.fuzz     := clang
CORE_CFLAGS.fuzz := $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link

# The rules of one flavour ($(1)). build/FLAVOUR/cflags holds the command
# that compiles its objects and changes only with it, so that a SANITIZE
# build after a plain one (or the reverse) compiles the core again.
define core_flavour
CORE_COMPILE.$(1) = $$(CORE_CC.$(1)) $$(WARN) -fPIC -fvisibility=hidden \
                    $$(CORE_CFLAGS.$(1)) $$(APR_CFLAGS)

build/$(1)/%.o: src/%.c $(CORE_HDR) build/$(1)/cflags
	$$(CORE_COMPILE.$(1)) -c $$< -o $$@

build/$(1)/libdbscore.a: $(CORE_SRC:src/%.c=build/$(1)/%.o)
	rm -f $$@
	$$(AR) rcs $$@ $$^

build/$(1)/cflags: FORCE
	@mkdir -p $$(@D)
	@echo '$$(CORE_COMPILE.$(1))' >$$@.new
	@if cmp -s $$@.new $$@; then rm $$@.new; else mv $$@.new $$@; fi
endef
$(foreach flavour,$(CORE_FLAVOURS),\
    $(eval $(call core_flavour,$(flavour))))

GLUE_SRC    := $(wildcard mod_dbsession*.c)

.libs/mod_dbsession.so: $(GLUE_SRC) mod_dbsession.h mod_dbsession_private.h \
                        $(call CORE_LIB,pic)
	$(APXS) -c -Wc,"$(WARN) -fvisibility=hidden $(SANITIZE)" -Wc,-Isrc \
	    $(SANITIZE_LD) \
	    -o mod_dbsession.la \
	    $(GLUE_SRC) $(call CORE_LIB,pic) $(SODIUM_LIBS) >/dev/null

# The operator's tool: the same core, linked statically.
dbsessionctl: tools/dbsessionctl.c $(CORE_HDR) $(call CORE_LIB,pic)
	$(CC) $(WARN) -O2 -g $(SANITIZE) $(CPPFLAGS) $(CFLAGS) $(APR_CFLAGS) \
	    -Isrc tools/dbsessionctl.c $(call CORE_LIB,pic) -o $@ \
	    $(LDFLAGS) $(APR_LIBS) $(SODIUM_LIBS)

# make install [DESTDIR=...] [LIBEXECDIR=...] [SBINDIR=...] [MANDIR=...]
# [A2_CONFDIR=...]: the module (apxs), dbsessionctl and its man page
# dbsessionctl(8), and on Debian/Ubuntu (A2_CONFDIR exists)
# mods-available/dbsession.load and, unless one is there already, the
# commented dbsession.conf, so that "a2enmod dbsession" works.
LIBEXECDIR  ?= $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
SBINDIR     ?= /usr/local/sbin
MANDIR      ?= /usr/local/share/man
A2_CONFDIR  ?= /etc/apache2
A2_MODS     := $(DESTDIR)$(A2_CONFDIR)/mods-available

install: all
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man8
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$(LIBEXECDIR) -n dbsession \
	    mod_dbsession.la
	install -m 755 dbsessionctl $(DESTDIR)$(SBINDIR)/dbsessionctl
	install -m 644 doc/dbsessionctl.8 $(DESTDIR)$(MANDIR)/man8/dbsessionctl.8
	if [ -d $(A2_MODS) ]; then \
	    sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|' conf/debian/dbsession.load.in \
	        > $(A2_MODS)/dbsession.load && \
	    chmod 644 $(A2_MODS)/dbsession.load && \
	    { [ -e $(A2_MODS)/dbsession.conf ] || \
	      install -m 644 conf/debian/dbsession.conf $(A2_MODS)/; }; \
	fi

# Unit tests of the core: no httpd, a real SQLite through apr_dbd.
UNIT_SRC    := $(wildcard t/unit/*.c)
UNIT_DEPS   := $(UNIT_SRC) t/unit/*.h $(CORE_HDR)

t/unit/run_unit: $(UNIT_DEPS) $(call CORE_LIB,pic)
	$(CC) $(WARN) -O0 -g $(SANITIZE) $(APR_CFLAGS) -Isrc $(UNIT_SRC) \
	    $(call CORE_LIB,pic) -o $@ $(APR_LIBS) $(SODIUM_LIBS) $(CHECK_LIBS)

unit: t/unit/run_unit .libs/mod_dbsession.so
	t/unit/check-registered.sh
	t/check-exports.sh .libs/mod_dbsession.so
	t/check-readme.sh
	CK_DEFAULT_TIMEOUT=30 t/unit/run_unit

valgrind: t/unit/run_unit
	CK_FORK=no valgrind --leak-check=full --error-exitcode=1 \
	    --errors-for-leak-kinds=definite t/unit/run_unit

# The module inside httpd under valgrind, with part of the suite (SQLite):
# the files of t/memcheck.list marked valgrind.
valgrind-httpd:
	scripts/valgrind-httpd sqlite3

# The module inside httpd with AddressSanitizer, under concurrent traffic
# and the expired-row cleanup on every request (SQLite): the files of
# t/memcheck.list marked asan.
asan-httpd:
	scripts/asan-httpd sqlite3

t/unit/run_unit_asan: $(UNIT_DEPS) $(call CORE_LIB,asan)
	$(CC) $(WARN) $(ASAN_FLAGS) $(APR_CFLAGS) -Isrc $(UNIT_SRC) \
	    $(call CORE_LIB,asan) -o $@ $(APR_LIBS) $(SODIUM_LIBS) $(CHECK_LIBS)

asan: t/unit/run_unit_asan
	CK_FORK=no t/unit/run_unit_asan

# libFuzzer harnesses of the core (clang, ASan + UBSan), each run for
# FUZZ_SECONDS: cookie open, the walk over the Cookie headers, the data
# codec, the write-back header parsers, dbs_session_apply with every
# operation, the CSRF body scanner (any chunking gives the whole body's
# result) and the values sent as DBSession-* request headers.
FUZZERS      := cookie cookiejar codec headers apply csrf reqheaders
FUZZ_SECONDS ?= 60

t/fuzz/fuzz_%: t/fuzz/fuzz_%.c t/fuzz/fuzz_common.h $(CORE_HDR) \
               $(call CORE_LIB,fuzz)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer $(APR_CFLAGS) -Isrc $< \
	    $(call CORE_LIB,fuzz) -o $@ $(APR_LIBS) $(SODIUM_LIBS)

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
	rm -rf build .libs *.la *.lo *.slo *.o t/unit/run_unit \
	    t/unit/run_unit_asan $(FUZZERS:%=t/fuzz/fuzz_%) dbsessionctl
