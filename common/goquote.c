/*
 * Go's %q, which Consul's messages use for keys, verbs and sessions:
 * quotes and backslashes escaped, control bytes as Go writes them.  We
 * repeat those messages word for word, because clients match on them.
 */
#include <stdio.h>
#include <string.h>

#include "goquote.h"

/* A string too long for buf is cut at a character boundary. */
const char *
go_quote(char *buf, size_t len, const char *s, size_t slen)
{
	static const char	 ctl[] = "abtnvfr";
	unsigned char		 c;
	size_t			 i = 0, o = 0, n;

	buf[o++] = '"';
	while (i < slen) {
		c = s[i];
		n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (n > slen - i)
			n = 1;
		if (o + n + 4 + 2 > len)
			break;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if (c >= '\a' && c <= '\r') {
			buf[o++] = '\\';
			buf[o++] = ctl[c - '\a'];
		} else if (c < 0x20 || c == 0x7f)
			o += snprintf(buf + o, len - o, "\\x%02x", c);
		else {
			memcpy(buf + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		i++;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
