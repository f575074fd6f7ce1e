/*
 * TLS under a bufferevent (common/tlsbev.c), both ends in one event
 * loop over a socketpair: what the server answers right after the
 * handshake reaches the client with nothing more from the client.
 * Under TLS 1.3 the server's session tickets come first, in the same
 * read as the answer; libtls stops after each ticket, and the answer
 * once waited behind them until the client sent again (the hang a
 * client agent's first forwarded request on a new connection met).
 * Then many round trips, a large answer, and a peer that speaks
 * plaintext to a TLS-only server.  The certificate is made here with
 * libcrypto.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <tls.h>

#include "log.h"
#include "tlsconf.h"
#include "test.h"
#include "cert_fixture.h"

#define NAME	"server.dc1.consul"

static char	*cert_pem, *key_pem;
static size_t	 cert_len, key_len;

/* PEM text of what write() puts in a memory BIO; freed by the caller. */
static char *
bio_text(BIO *b, size_t *len)
{
	char	*p, *s;
	long	 n = BIO_get_mem_data(b, &p);

	if (n <= 0 || (s = malloc(n + 1)) == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	*len = n;
	return s;
}

/* A self-signed certificate naming NAME, and its key. */
static void
make_cert(void)
{
	EVP_PKEY	*pk = fixture_key();
	X509		*x = fixture_cert(NAME, pk);
	BIO		*bc = BIO_new(BIO_s_mem()), *bk = BIO_new(BIO_s_mem());

	if (bc == NULL || bk == NULL ||
	    PEM_write_bio_X509(bc, x) != 1 ||
	    PEM_write_bio_PrivateKey(bk, pk, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	cert_pem = bio_text(bc, &cert_len);
	key_pem = bio_text(bk, &key_len);
	BIO_free(bc);
	BIO_free(bk);
	X509_free(x);
	EVP_PKEY_free(pk);
}

/* One connection: a client and a server end, and what each got. */
struct pair {
	struct event_base	*base;
	struct bufferevent	*cli, *srv;
	struct tls_config	*ccfg;
	struct tlsbev_server_ctx *sc;
	struct evbuffer		*got;		/* at the client */
	size_t			 want;		/* bytes the client waits for */
	size_t			 answer;	/* server: bytes per answer */
	int			 cli_error, srv_error;
	int			 timed_out;
	struct event		*timer;
};

/* The server answers each byte it reads with p->answer bytes. */
static void
srv_read(struct bufferevent *bev, void *arg)
{
	struct pair	*p = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 n = evbuffer_get_length(in), i;
	char		*a;

	evbuffer_drain(in, n);
	if ((a = malloc(p->answer)) == NULL)
		abort();
	for (i = 0; i < p->answer; i++)
		a[i] = 'a' + i % 26;
	for (i = 0; i < n; i++)
		bufferevent_write(bev, a, p->answer);
	free(a);
}

static void
cli_read(struct bufferevent *bev, void *arg)
{
	struct pair	*p = arg;

	evbuffer_add_buffer(p->got, bufferevent_get_input(bev));
	if (evbuffer_get_length(p->got) >= p->want)
		event_base_loopbreak(p->base);
}

static void
cli_event(struct bufferevent *bev, short what, void *arg)
{
	struct pair	*p = arg;

	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		p->cli_error = 1;
		event_base_loopbreak(p->base);
	}
}

static void
srv_event(struct bufferevent *bev, short what, void *arg)
{
	struct pair	*p = arg;

	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		p->srv_error = 1;
		event_base_loopbreak(p->base);
	}
}

static void
timed_out(evutil_socket_t fd, short ev, void *arg)
{
	struct pair	*p = arg;

	p->timed_out = 1;
	event_base_loopbreak(p->base);
}

/* A connected pair; plain: the client end is a bare socket. */
static void
pair_open(struct pair *p, size_t answer, int plain)
{
	struct tls_config	*scfg;
	struct tls		*srv;
	struct timeval		 hs = { 5, 0 };
	int			 sv[2];

	memset(p, 0, sizeof(*p));
	p->answer = answer;
	if ((p->base = event_base_new()) == NULL ||
	    (p->got = evbuffer_new()) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		abort();
	if ((scfg = tls_config_new()) == NULL ||
	    tls_config_set_keypair_mem(scfg, (const uint8_t *)cert_pem,
	    cert_len, (const uint8_t *)key_pem, key_len) == -1 ||
	    (srv = tls_server()) == NULL || tls_configure(srv, scfg) == -1)
		abort();
	tls_config_free(scfg);
	p->sc = tlsbev_server_ctx(srv);
	p->srv = tlsbev_server(p->base, p->sc, sv[1], 0, &hs);
	bufferevent_setcb(p->srv, srv_read, NULL, srv_event, p);
	bufferevent_enable(p->srv, EV_READ | EV_WRITE);
	if (plain) {
		p->cli = bufferevent_socket_new(p->base, sv[0],
		    BEV_OPT_CLOSE_ON_FREE);
	} else {
		if ((p->ccfg = tls_config_new()) == NULL ||
		    tls_config_set_ca_mem(p->ccfg, (const uint8_t *)cert_pem,
		    cert_len) == -1)
			abort();
		p->cli = tlsbev_client(p->base, p->ccfg, sv[0], NAME, &hs);
	}
	if (p->cli == NULL)
		abort();
	bufferevent_setcb(p->cli, cli_read, NULL, cli_event, p);
	bufferevent_enable(p->cli, EV_READ | EV_WRITE);
	if ((p->timer = evtimer_new(p->base, timed_out, p)) == NULL)
		abort();
}

/* Send n bytes from the client; run until want bytes came back. */
static void
pair_ask(struct pair *p, size_t n, size_t want)
{
	struct timeval	 tv = { 5, 0 };
	size_t		 i;

	p->want = evbuffer_get_length(p->got) + want;
	for (i = 0; i < n; i++)
		bufferevent_write(p->cli, "?", 1);
	evtimer_add(p->timer, &tv);
	event_base_dispatch(p->base);
	evtimer_del(p->timer);
}

static void
pair_close(struct pair *p)
{
	bufferevent_free(p->cli);
	bufferevent_free(p->srv);
	/* Let the filters' pending kicks run before the base goes. */
	event_base_loop(p->base, EVLOOP_NONBLOCK);
	tlsbev_server_retire(p->sc);
	tls_config_free(p->ccfg);
	event_free(p->timer);
	evbuffer_free(p->got);
	event_base_free(p->base);
}

/* The answer to what was written during the handshake, at once. */
static void
test_first_answer(void)
{
	struct pair	 p;
	int		 i;

	/* Each time anew: the race is the tickets' and the answer's. */
	for (i = 0; i < 20; i++) {
		pair_open(&p, 30, 0);
		pair_ask(&p, 1, 30);
		CHECK(!p.timed_out);
		CHECK(!p.cli_error && !p.srv_error);
		CHECK(evbuffer_get_length(p.got) == 30);
		CHECK(tlsbev_is_tls(p.cli) && tlsbev_is_tls(p.srv));
		CHECK(tlsbev_peer_named(p.cli, NAME));
		pair_close(&p);
		if (test_current_failed)
			break;
	}
}

/* Round trips on one connection, then one answer of 1 MiB. */
static void
test_round_trips(void)
{
	struct pair	 p;
	int		 i;

	pair_open(&p, 100, 0);
	for (i = 0; i < 200 && !test_current_failed; i++) {
		pair_ask(&p, 1, 100);
		CHECK(!p.timed_out && !p.cli_error);
	}
	CHECK(evbuffer_get_length(p.got) == 200 * 100);
	pair_close(&p);

	pair_open(&p, 1024 * 1024, 0);
	pair_ask(&p, 1, 1024 * 1024);
	CHECK(!p.timed_out && !p.cli_error);
	CHECK(evbuffer_get_length(p.got) == 1024 * 1024);
	pair_close(&p);
}

/* A plaintext peer on a TLS-only server: refused, with the reason. */
static void
test_plaintext_refused(void)
{
	struct pair	 p;
	const char	*why;

	pair_open(&p, 1, 1);
	pair_ask(&p, 4, 1);
	CHECK(!p.timed_out);
	CHECK(p.srv_error);
	CHECK(evbuffer_get_length(p.got) == 0);
	why = tlsbev_why(p.srv);
	CHECK(why != NULL && strstr(why, "plaintext") != NULL);
	pair_close(&p);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_first_answer),
		TEST_CASE(test_round_trips),
		TEST_CASE(test_plaintext_refused),
	};
	int	 rc;

	log_init(LOG_DEST_STDERR, "test_tlsbev");
	if (tls_init() == -1)
		abort();
	make_cert();
	rc = test_main(cases, sizeof(cases) / sizeof(cases[0]));
	free(cert_pem);
	free(key_pem);
	return rc;
}
