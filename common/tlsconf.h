/*
 * TLS material and libtls configurations.  The parent reads the CA,
 * certificate and key files named by a tls block (tls_files_read),
 * checks them, and hands the bytes to raftd (internal RPC) and apid
 * (HTTPS) as one IMSG_CTL_TLS; the children build their libtls
 * configurations from the bytes (tlsconf_server, tlsconf_client) and
 * wipe the key.  tlsbev.c runs libtls over libevent bufferevents.
 */
#ifndef CONSULD_TLSCONF_H
#define CONSULD_TLSCONF_H

#include <stddef.h>
#include <stdint.h>

#include "mpack.h"

#define TLS_FILE_MAX		(512 * 1024)	/* one file, or a ca_path */

struct config;
struct config_tls;
struct tls_config;

/* The bytes of one tls block's files; a NULL pointer when not set. */
struct tls_files {
	uint8_t		*ca;
	size_t		 ca_len;
	uint8_t		*cert;
	size_t		 cert_len;
	uint8_t		*key;
	size_t		 key_len;
};

struct tls_material {
	struct tls_files rpc;		/* tls.internal_rpc */
	struct tls_files https;		/* tls.https */
};

/*
 * tls_material_read() reads and checks every file the configuration
 * names; -1 with err naming the file and what is wrong with it.
 */
int	 tls_material_read(const struct config *, struct tls_material *,
	    char *, size_t);
void	 tls_material_clear(struct tls_material *);
void	 tls_material_pack(const struct tls_material *, struct mpack_out *);
int	 tls_material_unpack(const void *, size_t, struct tls_material *);
int	 tls_files_have_cert(const struct tls_files *);

/*
 * libtls configurations from a block and its bytes, or NULL with err.
 * The server side asks for a client certificate when verify_incoming
 * is set; the client side checks the server's against the CA when
 * verify_outgoing is, and its name only when verify_server_hostname is
 * (for internal RPC; name_check 0 turns that off).
 */
struct tls_config *tlsconf_server(const struct config_tls *,
	    const struct tls_files *, char *, size_t);
struct tls_config *tlsconf_client(const struct config_tls *,
	    const struct tls_files *, int, char *, size_t);
int	 tlsconf_ciphers(const char *, char *, size_t, char *, size_t);

/* tlsbev.c: TLS under a bufferevent (a filter over a socket one). */
struct bufferevent;
struct event_base;
struct tls;
struct timeval;

#define TLSBEV_ALLOW_PLAIN	0x01	/* server: a non-TLS peer passes */
#define TLSBEV_LOG		0x02	/* log a refusal itself, as "tls:" */

/*
 * A server context shared by connections: libtls' connections use their
 * server's context during their handshake, so one replaced by a reload
 * lives on (retired) until its last connection is gone.
 */
struct tlsbev_server_ctx;
struct tlsbev_server_ctx *tlsbev_server_ctx(struct tls *);
void	 tlsbev_server_retire(struct tlsbev_server_ctx *);

struct bufferevent *tlsbev_server(struct event_base *,
	    struct tlsbev_server_ctx *, int, int, const struct timeval *);
struct bufferevent *tlsbev_client(struct event_base *, struct tls_config *,
	    int, const char *, const struct timeval *);
const char *tlsbev_why(struct bufferevent *);
int	 tlsbev_is_tls(struct bufferevent *);
int	 tlsbev_peer_named(struct bufferevent *, const char *);
void	 tlsbev_set_max_pending(size_t);
size_t	 tlsbev_pending(void);

#endif
