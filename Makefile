# gorral: a container-aware process supervisor for Go services.
#   make            build/gorral (dynamic, glibc)
#   make static     build/gorral-static (fully static, musl)
#   make check      install missing Debian packages, build, run every test
#   make demo       install, build, run the demo Go service under gorral
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS (default 60)
#   make bench      benchmarks against tini and dumb-init -> bench/RESULTS.md
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        build/gorral_VERSION-1_ARCH.deb (the dynamic build)
.DELETE_ON_ERROR:
.SUFFIXES:
SHELL := /bin/bash

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= gcc
FUZZ_SECONDS ?= 60
export RESULTS := $(CURDIR)/$(BUILD)/results

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wsign-compare -Wformat=2 -Wno-format-nonliteral -Wundef -Wvla
ifeq ($(CI),true)
WARNINGS += -Werror
endif
ifneq ($(WERROR),)
WARNINGS += -Werror
endif
BASE_CFLAGS := -std=gnu11 $(WARNINGS) -Iinclude -DGORRAL_VERSION='"$(VERSION)"' -D_GNU_SOURCE
CFLAGS ?= -O2 -g
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDHARDEN := -pie -Wl,-z,relro -Wl,-z,now
# Outside libraries. The dynamic build has libyaml and libcgroup (v1
# per-service cgroups); the static (musl) build has libyaml only: Debian's
# libcgroup.a calls glibc's __*_chk functions and does not link with musl,
# so there v1 cgroups are written directly (see README "Static build").
# Both are linked statically even into the dynamic build: three shared
# objects fewer to map at every start (libcgroup drags in libpthread), which
# is most of what gorral run adds to a child's start.
LIBS := -Wl,-Bstatic -lyaml -lcgroup -Wl,-Bdynamic -lm
# gorral itself takes the few libm functions it calls (round, fmin, fmax,
# sqrt: no ifunc inside) from libm.a as well, so no libm.so is mapped at
# every start (8 system calls, 250-350 KiB of RSS). libm.a's ifunc'ed
# functions (exp, log, pow, sin...) need ld.so's private CPU table and do
# not link this way: keep them out of src/ (tests and bench/ link the
# shared libm through LIBS).
GORRAL_LIBS := -Wl,-Bstatic -lyaml -lcgroup -lm -Wl,-Bdynamic
STATIC_LIBS := /usr/lib/x86_64-linux-gnu/libyaml.a -lm

SRCS := $(sort $(wildcard src/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
OBJS := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
STATIC_OBJS := $(SRCS:src/%.c=$(BUILD)/static-obj/%.o)
ASAN_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/asan-obj/%.o)
HDRS := $(wildcard include/gorral/*.h)

# llhttp: Debian 12 has no libllhttp-dev, but node-llhttp ships llhttp 8.1's
# generated C. Its three files are compiled into every flavour of the build
# (dynamic, musl static, ASan, fuzz) with warnings off (-w: generated code,
# not ours) and linked wherever our objects are. Only http.c may include
# llhttp.h, so only its objects get the include path.
LLHTTP_DIR := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp
LLHTTP_SRCS := llhttp api http
LLHTTP_OBJS := $(LLHTTP_SRCS:%=$(BUILD)/llhttp-obj/%.o)
LLHTTP_STATIC_OBJS := $(LLHTTP_SRCS:%=$(BUILD)/llhttp-static-obj/%.o)
LLHTTP_ASAN_OBJS := $(LLHTTP_SRCS:%=$(BUILD)/llhttp-asan-obj/%.o)
LLHTTP_FUZZ_OBJS := $(LLHTTP_SRCS:%=$(BUILD)/llhttp-fuzz-obj/%.o)
OBJS += $(LLHTTP_OBJS)
LIB_OBJS += $(LLHTTP_OBJS)
STATIC_OBJS += $(LLHTTP_STATIC_OBJS)
ASAN_OBJS += $(LLHTTP_ASAN_OBJS)
$(BUILD)/obj/http.o $(BUILD)/static-obj/http.o $(BUILD)/asan-obj/http.o $(BUILD)/fuzz-obj/http.o: \
	BASE_CFLAGS += -I$(LLHTTP_INC)

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
ASAN_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests-asan/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

# Debian 12 packages the build and the tests need; `make deps` installs the
# missing ones (and only those).
DEB_PKGS := gcc make libc6-dev libcriterion-dev clang libclang-rt-14-dev musl-tools libyaml-dev libcgroup-dev \
	node-llhttp golang-go golang-github-prometheus-client-golang-dev golang-github-prometheus-common-dev \
	util-linux procps \
	tini dumb-init hyperfine binutils file python3 strace \
	prometheus prometheus-alertmanager curl jq \
	debootstrap systemd-container dbus docker.io lintian dpkg-dev man-db groff-base \
	libsystemd-dev python3-dbus

all: $(BUILD)/gorral

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(HARDEN) $(CFLAGS) -c $< -o $@

$(BUILD)/gorral: $(OBJS)
	$(CC) $(LDHARDEN) $(LDFLAGS) $^ $(GORRAL_LIBS) -o $@

# Static build: musl, because glibc's static libc still wants its shared
# NSS modules at run time and costs three times the resident memory; gorral
# uses nothing musl lacks. No libsystemd here (it ships no .a).
# musl-gcc searches only musl's headers: yaml.h (which needs nothing but
# the C library) is reached through a directory holding just that file.
MUSL_CC ?= musl-gcc
STATIC_INC := $(BUILD)/static-include
$(STATIC_INC)/yaml.h:
	@mkdir -p $(@D)
	ln -sf /usr/include/yaml.h $@

$(BUILD)/static-obj/%.o: src/%.c $(HDRS) $(STATIC_INC)/yaml.h
	@mkdir -p $(@D)
	$(MUSL_CC) $(BASE_CFLAGS) -I$(STATIC_INC) -DGORRAL_STATIC -Os -g -fstack-protector-strong -c $< -o $@

$(BUILD)/gorral-static: $(STATIC_OBJS)
	$(MUSL_CC) -static $^ $(STATIC_LIBS) -o $@

static: $(BUILD)/gorral-static

$(BUILD)/llhttp-obj/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -w -I$(LLHTTP_INC) $(HARDEN) $(CFLAGS) -c $< -o $@

$(BUILD)/llhttp-static-obj/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(MUSL_CC) -std=gnu11 -w -I$(LLHTTP_INC) -Os -g -fstack-protector-strong -c $< -o $@

# Unit tests (Criterion), plain and under ASan+UBSan. They also read the
# real Go binaries of `make goapps`, so the unit tiers depend on it.
TEST_DEFS := -DFIXTURES='"$(CURDIR)/tests/fixtures"' -DSAMPLES='"$(CURDIR)/tests/fixtures/samples"' \
	-DGOAPPS='"$(CURDIR)/$(BUILD)/goapps"'
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(TEST_DEFS) $< $(LIB_OBJS) -lcriterion $(LIBS) -o $@

SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
$(BUILD)/asan-obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN) -c $< -o $@

# gorral itself under ASan+UBSan, for the integration tier: a supervisor's
# bugs live on the paths only real processes reach (reload, reaping,
# sockets).
$(BUILD)/gorral-asan: $(ASAN_OBJS) $(BUILD)/asan-obj/main.o
	$(CC) -O1 -g $(SAN) $^ $(LIBS) -o $@

$(BUILD)/asan-obj/main.o: src/main.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN) -c $< -o $@

$(BUILD)/llhttp-asan-obj/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -w -I$(LLHTTP_INC) -O1 -g $(SAN) -c $< -o $@

$(BUILD)/tests-asan/%: tests/unit/%.c $(ASAN_OBJS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN) $(TEST_DEFS) $< $(ASAN_OBJS) -lcriterion $(LIBS) -o $@

# Fuzz targets: libFuzzer + ASan + UBSan, clang only.
# The library is compiled once for all of them (fuzzer-no-link), then each
# target links it.
FUZZ_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/fuzz-obj/%.o) $(LLHTTP_FUZZ_OBJS)
$(BUILD)/llhttp-fuzz-obj/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	clang -std=gnu11 -w -I$(LLHTTP_INC) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(BUILD)/fuzz-obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	clang $(BASE_CFLAGS) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS) $(HDRS)
	@mkdir -p $(@D)
	clang $(BASE_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined $< $(FUZZ_OBJS) $(LIBS) -o $@

# The Go services the tests and the demo run: Debian's Go 1.19 (GOPATH
# mode, offline) and Go 1.26 at /usr/local/go (module mode, Go module proxy);
# tests/goapps/toolchains.sh names both.
goapps:
	tests/goapps/build.sh $(BUILD)/goapps

# install-missing PACKAGES: apt-get install only what dpkg does not have.
define install-missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install-missing,$(DEB_PKGS))
	@# The npm packages test_k8s.sh validates packaging/kubernetes/ with
	@# (once per machine, into a cache keyed by their package-lock.json).
	tests/system/k8s/install.sh >/dev/null

unit: $(UNIT_BINS) goapps
	tests/run-unit.sh unit $(UNIT_BINS)

asan: $(ASAN_BINS) goapps
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run-unit.sh asan $(ASAN_BINS)

integration: $(BUILD)/gorral $(BUILD)/gorral-static goapps
	GORRAL=$(CURDIR)/$(BUILD)/gorral GORRAL_STATIC=$(CURDIR)/$(BUILD)/gorral-static \
	GOAPPS=$(CURDIR)/$(BUILD)/goapps tests/integration/run.sh

# The same tier with the sanitized build in place of the dynamic one. The
# static build's checks are left out (they ran in the first pass against
# the same binary). Every sanitizer report fails a test.
integration-asan: $(BUILD)/gorral-asan goapps
	GORRAL=$(CURDIR)/$(BUILD)/gorral-asan \
	GOAPPS=$(CURDIR)/$(BUILD)/goapps GORRAL_ASAN=1 \
	INTEGRATION_TAG=asan tests/integration/run.sh

# The tier of real systems around gorral (tests/system/run.sh): once, not
# again under ASan.
system: $(BUILD)/gorral $(BUILD)/gorral-static goapps
	GORRAL=$(CURDIR)/$(BUILD)/gorral GORRAL_STATIC=$(CURDIR)/$(BUILD)/gorral-static \
	GOAPPS=$(CURDIR)/$(BUILD)/goapps BUILD_DIR=$(CURDIR)/$(BUILD) tests/system/run.sh

fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# In make check: 1 s per target, the seeds and a little beyond (`make fuzz`
# is the real run).
fuzz-smoke: $(FUZZ_BINS)
	tests/fuzz/run.sh 1 $(FUZZ_BINS)

# Everything is built first, on every core (the objects of the four
# flavours are independent); the tiers then run one after another, each
# test alone on the machine (their timings and cgroup names need that).
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
check: deps
	@rm -rf $(BUILD)/results && mkdir -p $(BUILD)/results
	$(MAKE) -j$(JOBS) all static $(UNIT_BINS) $(ASAN_BINS) $(BUILD)/gorral-asan $(FUZZ_BINS)
	$(MAKE) goapps
	$(MAKE) -k unit asan integration integration-asan system fuzz-smoke; rc=$$?; tests/summary.sh $(BUILD)/results; s=$$?; [ $$rc -eq 0 ] && [ $$s -eq 0 ]

# The benchmarks' peers (not needed by make check).
BENCH_PKGS := runit supervisor valgrind

bench-deps: deps
	$(call install-missing,$(BENCH_PKGS))
	@# supervisor's package starts its own daemon: the benchmark runs its own.
	-@systemctl disable --now supervisor >/dev/null 2>&1; service supervisor stop >/dev/null 2>&1; true

bench: bench-deps all static goapps
	bench/run.sh $(CURDIR)/$(BUILD)

demo: deps all goapps
	tests/goapps/demo.sh $(CURDIR)/$(BUILD)

# The manual pages are written in man(7) macros by hand (no generator);
# `make man` runs groff -ww over them (tests/system/test_man.sh checks more:
# man --warnings, and --help and the config keys in step). Units and
# the D-Bus policy are installed by wildcard: whatever packaging/ holds.
MAN_PAGES := $(wildcard packaging/man/*.[1-8])
UNITS := $(wildcard packaging/systemd/*.service)
DBUS_POLICY := $(wildcard packaging/dbus/*.conf)
DBUS_XML := $(wildcard packaging/dbus/*.xml)
UNITDIR ?= $(PREFIX)/lib/systemd/system

man:
	@for m in $(MAN_PAGES); do out=$$(LC_ALL=C.UTF-8 groff -ww -man -z $$m 2>&1); \
		[ -z "$$out" ] || { echo "$$out"; exit 1; }; done

install: all
	install -Dm755 $(BUILD)/gorral $(DESTDIR)$(PREFIX)/bin/gorral
	install -Dm644 README.md $(DESTDIR)$(PREFIX)/share/doc/gorral/README.md
	install -Dm644 config/gorral.yaml $(DESTDIR)$(PREFIX)/share/doc/gorral/examples/gorral.yaml
	install -Dm644 packaging/completion/gorral $(DESTDIR)$(PREFIX)/share/bash-completion/completions/gorral
	@set -e; for m in $(MAN_PAGES); do \
		echo install -Dm644 $$m $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$${m##*/}; \
		install -Dm644 $$m $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$${m##*/}; done
	$(if $(UNITS),install -Dm644 -t $(DESTDIR)$(UNITDIR) $(UNITS))
	$(if $(DBUS_POLICY),install -Dm644 -t $(DESTDIR)$(PREFIX)/share/dbus-1/system.d $(DBUS_POLICY))
	$(if $(DBUS_XML),install -Dm644 -t $(DESTDIR)$(PREFIX)/share/dbus-1/interfaces $(DBUS_XML))

# A Debian package of the dynamic build in $(BUILD)/ (dpkg-deb on a staged
# tree, no debhelper: packaging/deb/build.sh says why).
deb: $(BUILD)/gorral
	packaging/deb/build.sh $(BUILD) $(VERSION)

clean:
	rm -rf $(BUILD)

.PHONY: all static goapps deps bench-deps unit asan integration integration-asan system fuzz fuzz-smoke check bench demo man install deb clean
