/*
 * /v1/snapshot: GET streams a snapshot of the state (our own format,
 * see common/snapshot_format.h) with X-Consul-Index, PUT restores one.
 * raftd builds and checks them; apid only moves the bytes.
 */
#include <string.h>

#include <event2/buffer.h>

#include "apid.h"
#include "log.h"
#include "snapshot_format.h"

static void
snapshot_chunk(struct request *r, struct imsg *imsg)
{
	if (imsg->len > 0)
		evbuffer_add(r->rawbuf, imsg->data, imsg->len);
}

static void
snapshot_saved(struct request *r, struct imsg *imsg)
{
	struct imsg_read_end	 end;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(r->req);

	read_end_get(imsg, &end);
	http_read_headers(r->req, &end);
	if (end.error[0] != '\0') {
		http_error(r->req, 500, end.error);
		return;
	}
	evhttp_add_header(h, "Content-Disposition",
	    "attachment; filename=\"consuld.snap\"");
	http_reply_text(r->req, 200, "application/octet-stream",
	    evbuffer_pullup(r->rawbuf, -1), evbuffer_get_length(r->rawbuf));
}

static void
snapshot_restored(struct request *r, struct imsg *imsg)
{
	struct imsg_read_end	 end;

	read_end_get(imsg, &end);
	if (end.error[0] == '\0')
		http_reply_text(r->req, 200, NULL, NULL, 0);
	else if (strcmp(end.error, "No cluster leader") == 0)
		http_error(r->req, 500, end.error);
	else
		http_error(r->req, 400, end.error);
}

void
snapshot_handler(struct evhttp_request *req, const char *path)
{
	struct evbuffer	*body;
	struct request	*r;
	struct query	 q;
	unsigned char	*p;
	size_t		 len, off, n;
	uint8_t		 stale;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	stale = query_has(&q, "stale");
	query_free(&q);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		if ((r = request_new(req, snapshot_saved)) == NULL ||
		    (r->rawbuf = evbuffer_new()) == NULL) {
			if (r != NULL)
				request_free(r);
			http_error(req, 500, "out of memory");
			return;
		}
		r->item = snapshot_chunk;
		request_send(r, IMSG_SNAPSHOT_SAVE, &stale, sizeof(stale));
		return;
	}

	body = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(body);
	if ((r = request_new(req, snapshot_restored)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	p = len ? evbuffer_pullup(body, -1) : NULL;
	for (off = 0; off < len; off += n) {
		n = len - off > IMSG_MAX_DATA ? IMSG_MAX_DATA : len - off;
		request_send(r, IMSG_SNAPSHOT_DATA, p + off, n);
	}
	request_send(r, IMSG_SNAPSHOT_RESTORE, NULL, 0);
}
