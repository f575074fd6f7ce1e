# consuld: top-level GNU Makefile.
#
#   make dev        install missing packages, build, run a dev agent
#   make check      install missing packages, build, run every test
#   make install    PREFIX=/usr/local DESTDIR=
#   make SANITIZE=1 O=build/san   an ASan+UBSan build in build/san
#
# The user-facing targets run `deps` first and then a sub-make, so that
# pkg-config is asked only once the -dev packages are there.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBEXECDIR	?= $(PREFIX)/libexec/consuld
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc
DATADIR		?= /var/lib/consuld
UNITDIR		?= /lib/systemd/system
CONSUL_USER	?= _consul

O		?= .
.DEFAULT_GOAL	:= all
CC		?= cc
PKGS		:= libevent libtls libcrypto yaml-0.1 libsodium jansson \
		   msgpack libseccomp libbsd-overlay
PKG_CFLAGS	= $(shell pkg-config --cflags $(PKGS))
PKG_LIBS	= $(shell pkg-config --libs $(PKGS)) -ldb -lm

CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
		   -D_GNU_SOURCE -I common $(PKG_CFLAGS)
ifeq ($(SANITIZE),1)
CFLAGS		+= -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		   -fno-omit-frame-pointer -DSANITIZE
LDFLAGS		+= -fsanitize=address,undefined
endif

DEPS_PKGS	:= build-essential pkg-config libevent-dev libtls-dev \
		   libyaml-dev libsodium-dev libjansson-dev libmsgpack-dev \
		   libseccomp-dev libdb5.3-dev libbsd-dev mandoc curl jq \
		   bind9-dnsutils clang libclang-rt-14-dev valgrind procps nftables \
		   passwd libssl-dev openssl unbound chromium chromium-driver \
		   python3-selenium

PROGS		:= consuld raftd gossipd apid dnsd checkd consulctl

COMMON_SRCS	:= $(wildcard common/*.c)
COMMON_OBJS	:= $(COMMON_SRCS:%.c=$(O)/%.o)
LIBCOMMON	:= $(O)/common/libcommon.a

# The web UI's assets, compiled into apid (apid/ui/embed.sh).
UI_ASSETS	:= apid/ui/index.html apid/ui/app.css apid/ui/app.js \
		   apid/ui/favicon.svg
apid_EXTRA	:= $(O)/apid/ui/assets.o

define prog_rules
$(1)_SRCS	:= $$(wildcard $(1)/*.c)
$(1)_OBJS	:= $$($(1)_SRCS:%.c=$(O)/%.o) $$($(1)_EXTRA)
$(O)/$(1)/$(1): $$($(1)_OBJS) $(LIBCOMMON)
	@echo "  LD      $$@"
	@$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $(LIBCOMMON) $$(PKG_LIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rules,$(p))))

BINARIES	:= $(foreach p,$(PROGS),$(O)/$(p)/$(p))

UNIT_SRCS	:= $(wildcard regress/unit/test_*.c)
UNIT_BINS	:= $(UNIT_SRCS:%.c=$(O)/%)
TOOL_SRCS	:= $(wildcard regress/tools/*.c)
TOOL_BINS	:= $(TOOL_SRCS:%.c=$(O)/%)

.PHONY: all build dev check check-build deps install user lint-man \
	fuzz soak bench clean unit-bins

all: deps
	@$(MAKE) --no-print-directory build

build: $(BINARIES) unit-bins

unit-bins: $(UNIT_BINS) $(TOOL_BINS)

$(O)/%.o: %.c $(wildcard common/*.h) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS) -I $(dir $<) -c -o $@ $<

$(O)/apid/ui/assets.c: $(UI_ASSETS) apid/ui/embed.sh
	@mkdir -p $(dir $@)
	@echo "  EMBED   $@"
	@sh apid/ui/embed.sh $(UI_ASSETS) >$@.tmp && mv $@.tmp $@

$(O)/apid/ui/assets.o: $(O)/apid/ui/assets.c apid/apid.h
	@echo "  CC      $@"
	@$(CC) $(CFLAGS) -I apid -c -o $@ $<

# Where the parent looks for installed children: rebuilt when it changes.
LIBEXEC_STAMP	:= $(O)/.libexecdir
$(LIBEXEC_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' > $@
$(O)/consuld/children.o: $(LIBEXEC_STAMP)
$(O)/consuld/children.o: CFLAGS += -DLIBEXECDIR='"$(LIBEXECDIR)"'
FORCE:

$(LIBCOMMON): $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $(COMMON_OBJS)

$(O)/regress/unit/%: regress/unit/%.c regress/unit/test.h \
    regress/unit/store_fixture.h regress/unit/cert_fixture.h $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -I regress/unit -o $@ $< $(LIBCOMMON) \
	    $(PKG_LIBS)

# Unit tests that compile daemon sources in directly.
$(O)/regress/unit/test_raft: raftd/raft.c raftd/raft.h
STATE_SRCS	:= raftd/store.c raftd/store.h raftd/kv_state.c \
	raftd/kv_state.h raftd/catalog_state.c raftd/catalog_state.h \
	raftd/catalog_table.c raftd/catalog_table.h raftd/session_state.c \
	raftd/session_state.h raftd/query_state.c raftd/query_state.h \
	raftd/raft.c raftd/raft.h
$(O)/regress/unit/test_store: $(STATE_SRCS)
$(O)/regress/unit/test_catalog_state: $(STATE_SRCS)
$(O)/regress/unit/test_coord_state: $(STATE_SRCS) raftd/coord_state.c \
	raftd/coord_state.h
$(O)/regress/unit/test_acl_state: $(STATE_SRCS) raftd/acl_state.c \
	raftd/acl_state.h raftd/acl_resolve.c raftd/acl_resolve.h
$(O)/regress/unit/test_swim: gossipd/swim.c gossipd/swim.h \
	gossipd/swim_codec.c gossipd/swim_codec.h gossipd/keyring.c \
	gossipd/keyring.h
$(O)/regress/unit/test_keyring: gossipd/keyring.c gossipd/keyring.h
$(O)/regress/unit/test_checkd: $(wildcard checkd/*.c checkd/*.h)
$(O)/regress/unit/test_dns_wire: dnsd/wire.c dnsd/wire.h
$(O)/regress/unit/test_dnsd: $(wildcard dnsd/*.c dnsd/*.h)
$(O)/regress/unit/test_ui: apid/ui.c apid/apid.h
$(O)/regress/unit/test_filter: apid/filter.c apid/filter.h \
	apid/filter_re.c apid/filter_re.h apid/filter_schema.c

$(O)/regress/tools/%: regress/tools/%.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBCOMMON) $(PKG_LIBS)

# Install every missing build and test package (Debian 12).
deps:
	@missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "==> installing:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
		    $$missing >/dev/null || exit 1; \
	fi

# The unprivileged user the children run as (needs root).
user:
	@if [ "$$(id -u)" -eq 0 ] && ! id $(CONSUL_USER) >/dev/null 2>&1; then \
		echo "==> creating user $(CONSUL_USER)"; \
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin \
		    $(CONSUL_USER); \
	fi

dev: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory user
	./consuld/consuld -dev -d

check: deps
	@$(MAKE) --no-print-directory user
	@$(MAKE) --no-print-directory check-build
	@$(MAKE) --no-print-directory build SANITIZE=1 O=build/san
	sh regress/run.sh . build/san

check-build: build lint-man

lint-man:
	mandoc -Tlint -Wwarning man/*.[0-9]

fuzz: deps
	sh regress/fuzz/run.sh $${FUZZ_SECONDS:-300}

# `make soak` runs the Raft simulation over SOAK_SEEDS seeds (5000) for
# 3 and for 5 servers; a seed that fails prints how to replay it.
soak: deps
	@$(MAKE) --no-print-directory build
	sh regress/soak.sh $(O)

# `make bench` runs every benchmark; `make bench kv` only the KV one,
# `make bench catalog` only the catalog and health one.
# `make bench dns` dnsd against NSD with dnsperf.
# `make bench ui` the web UI's size and its services page in chromium.
# `make bench tls` server RPC and HTTPS with TLS against without.
# `make bench acl` reads with ACLs on against off; 10,000 tokens.
BENCHES		:= $(filter-out bench,$(MAKECMDGOALS))
bench: deps
	@for t in wrk strace python3; do command -v $$t >/dev/null || \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$t \
	    >/dev/null; done
	@$(MAKE) --no-print-directory build
	@if [ -z "$(BENCHES)" ] || echo "$(BENCHES)" | grep -qw base; then \
		sh regress/bench/run.sh; fi
	@if [ -z "$(BENCHES)" ] || echo "$(BENCHES)" | grep -qw kv; then \
		sh regress/bench/kv.sh; fi
	@if [ -z "$(BENCHES)" ] || echo "$(BENCHES)" | grep -qw catalog; then \
		CONSULD_BUILD=$${CONSULD_BUILD:-$(abspath $(O))} \
		    sh regress/bench/catalog.sh; fi
	@if [ -z "$(BENCHES)" ] || echo "$(BENCHES)" | grep -qw raft; then \
		command -v etcd >/dev/null || \
		    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    etcd-server >/dev/null; \
		CONSULD_BUILD=$${CONSULD_BUILD:-$(abspath $(O))} \
		    sh regress/bench/raft.sh; fi
	@if [ -z "$(BENCHES)" ] || echo "$(BENCHES)" | grep -qw tls; then \
		CONSULD_BUILD=$${CONSULD_BUILD:-$(abspath $(O))} \
		    sh regress/bench/tls.sh; fi
	@if [ -z "$(BENCHES)" ] || echo "$(BENCHES)" | grep -qw dns; then \
		for t in dnsperf nsd; do command -v $$t >/dev/null || \
		    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    $$t >/dev/null; done; \
		CONSULD_BUILD=$${CONSULD_BUILD:-$(abspath $(O))} \
		    sh regress/bench/dns.sh; fi

	@if [ -z "$(BENCHES)" ] || echo "$(BENCHES)" | grep -qw dc; then \
		CONSULD_BUILD=$${CONSULD_BUILD:-$(abspath $(O))} \
		    sh regress/bench/dc.sh; fi
	@if [ -z "$(BENCHES)" ] || echo "$(BENCHES)" | grep -qw ui; then \
		CONSULD_BUILD=$${CONSULD_BUILD:-$(abspath $(O))} \
		    sh regress/bench/ui.sh; fi
	@if [ -z "$(BENCHES)" ] || echo "$(BENCHES)" | grep -qw acl; then \
		CONSULD_BUILD=$${CONSULD_BUILD:-$(abspath $(O))} \
		    sh regress/bench/acl.sh; fi

ifneq ($(filter bench,$(MAKECMDGOALS)),)
kv base raft dc catalog dns ui tls acl:
	@:
endif

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/consul.d \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/consuld/rc.d
	install -m 0755 consuld/consuld $(DESTDIR)$(SBINDIR)/consuld
	install -m 0755 consulctl/consulctl $(DESTDIR)$(BINDIR)/consulctl
	for p in raftd gossipd apid dnsd checkd; do \
		install -m 0755 $$p/$$p $(DESTDIR)$(LIBEXECDIR)/$$p; \
	done
	install -m 0644 man/consuld.8 man/consulctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/consuld.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    etc/consuld.service > $(DESTDIR)$(UNITDIR)/consuld.service
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    etc/rc.d/consuld > $(DESTDIR)$(PREFIX)/share/consuld/rc.d/consuld
	chmod 0755 $(DESTDIR)$(PREFIX)/share/consuld/rc.d/consuld
	for f in etc/consul.d/*; do \
		t=$(DESTDIR)$(SYSCONFDIR)/consul.d/$$(basename $$f).example; \
		install -m 0644 $$f $$t; \
	done
	@if [ -z "$(DESTDIR)" ]; then $(MAKE) --no-print-directory user; fi
	install -d -m 0700 $(DESTDIR)$(DATADIR)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then \
		chown $(CONSUL_USER): $(DATADIR); fi

clean:
	rm -f common/*.o common/libcommon.a $(foreach p,$(PROGS),$(p)/*.o $(p)/$(p))
	rm -f apid/ui/assets.c apid/ui/assets.o
	rm -f $(UNIT_BINS) $(TOOL_BINS)
	rm -rf build
