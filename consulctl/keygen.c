/*
 * consulctl keygen: a new gossip encryption key, 32 random bytes in
 * base64, as Consul has made them since 1.6.
 */
#include <stdio.h>

#include <sodium.h>

#include "consulctl.h"

int
cmd_keygen(int argc, char **argv)
{
	unsigned char	 key[32];
	char		 b64[sodium_base64_ENCODED_LEN(sizeof(key),
			    sodium_base64_VARIANT_ORIGINAL)];

	if (cflags_parse("keygen", NULL, 0, NULL, argc, argv) != argc) {
		fprintf(stderr, "Usage: consulctl keygen\n");
		return 1;
	}
	if (sodium_init() == -1) {
		fprintf(stderr, "Error reading random data: sodium_init "
		    "failed\n");
		return 1;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key),
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	printf("%s\n", b64);
	return 0;
}
