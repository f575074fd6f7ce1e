/*
 * libFuzzer target for the configuration loader.  Each input is loaded
 * as a file; whatever loads must finalize, pack, unpack and pack again to
 * the same bytes.  The same bytes also go to config_unpack(), which reads
 * what a child receives from the parent and must survive anything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void
quiet(int warning, const char *msg)
{
	(void)warning;
	(void)msg;
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config		*cfg, *back;
	struct mpack_out	 a, b;

	config_set_reporter(quiet);

	cfg = config_new(0);
	if (config_load_buffer(cfg, "fuzz", (const char *)data, size) == 0) {
		config_finalize(cfg);
		mpack_out_init(&a);
		config_pack(cfg, &a);
		if ((back = config_unpack(a.sbuf.data, a.sbuf.size)) == NULL)
			abort();
		mpack_out_init(&b);
		config_pack(back, &b);
		if (a.sbuf.size != b.sbuf.size ||
		    memcmp(a.sbuf.data, b.sbuf.data, a.sbuf.size) != 0)
			abort();
		mpack_out_free(&b);
		mpack_out_free(&a);
		config_free(back);
	}
	config_free(cfg);

	config_free(config_unpack(data, size));
	return 0;
}
