/*
 * Go's text/tabwriter with minwidth 0, ' ' as padding and no flags, for
 * the commands whose output `consul` lays out with it (kv get -detailed)
 * or with columnize, which gives the same result on rows of equal
 * length (members): every column but the last is as wide as its widest
 * cell plus the padding, widths counted in runes as Go counts them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

/*
 * Go's utf8 decoding: the length of the valid sequence at s, or 0 when
 * s does not start one (Go then counts or replaces a single byte).
 */
size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static size_t
rune_count(const unsigned char *s, size_t n)
{
	size_t	 i = 0, count = 0, l;

	while (i < n) {
		l = utf8_len(s + i, n - i);
		i += l ? l : 1;
		count++;
	}
	return count;
}

/*
 * The writer's state: cells end at '\t' or '\v', lines at '\n' or
 * '\f', text between two 0xff bytes is taken literally, and a column
 * block is a run of lines that have a cell in that column.
 */
struct tab_cell {
	const unsigned char	*text;
	size_t			 size;
	long			 width;
};

struct tab_line {
	struct tab_cell		*cells;
	size_t			 ncells;
};

struct tab {
	FILE			*out;
	struct tab_line		*lines;
	size_t			 nlines;	/* the last one is unfinished */
	long			*widths;
	size_t			 nwidths;
	long			 padding;
};

static int
tab_add_cell(struct tab *t, const unsigned char *text, size_t size,
    long width)
{
	struct tab_line	*l = &t->lines[t->nlines - 1];
	struct tab_cell	*c;

	if ((c = reallocarray(l->cells, l->ncells + 1, sizeof(*c))) == NULL)
		return -1;
	l->cells = c;
	c[l->ncells].text = text;
	c[l->ncells].size = size;
	c[l->ncells].width = width;
	l->ncells++;
	return 0;
}

static int
tab_add_line(struct tab *t)
{
	struct tab_line	*l;

	if ((l = reallocarray(t->lines, t->nlines + 1, sizeof(*l))) == NULL)
		return -1;
	t->lines = l;
	memset(&l[t->nlines], 0, sizeof(*l));
	t->nlines++;
	return 0;
}

static void
tab_write_lines(struct tab *t, size_t line0, size_t line1)
{
	struct tab_cell	*c;
	size_t		 i, j;
	long		 pad;

	for (i = line0; i < line1; i++) {
		for (j = 0; j < t->lines[i].ncells; j++) {
			c = &t->lines[i].cells[j];
			fwrite(c->text, 1, c->size, t->out);
			if (j < t->nwidths)
				for (pad = t->widths[j] - c->width; pad > 0;
				    pad--)
					fputc(' ', t->out);
		}
		if (i + 1 < t->nlines)
			fputc('\n', t->out);
	}
}

static int
tab_format(struct tab *t, size_t line0, size_t line1)
{
	size_t	 column = t->nwidths, this;
	long	*w, width;

	for (this = line0; this < line1; this++) {
		if (column + 1 >= t->lines[this].ncells)
			continue;
		tab_write_lines(t, line0, this);
		line0 = this;
		width = 0;
		for (; this < line1; this++) {
			if (column + 1 >= t->lines[this].ncells)
				break;
			if (t->lines[this].cells[column].width +
			    t->padding > width)
				width = t->lines[this].cells[column].width +
				    t->padding;
		}
		if ((w = reallocarray(t->widths, t->nwidths + 1,
		    sizeof(*w))) == NULL)
			return -1;
		t->widths = w;
		t->widths[t->nwidths++] = width;
		if (tab_format(t, line0, this) == -1)
			return -1;
		t->nwidths--;
		line0 = this;
	}
	tab_write_lines(t, line0, line1);
	return 0;
}

static void
tab_reset(struct tab *t)
{
	size_t	 i;

	for (i = 0; i < t->nlines; i++)
		free(t->lines[i].cells);
	free(t->lines);
	t->lines = NULL;
	t->nlines = 0;
}

/*
 * Write text to out as Go's tabwriter.NewWriter(out, 0, n,
 * padding, ' ', 0) followed by Flush() would.
 */
int
tab_print(FILE *out, const char *text, size_t len, long padding)
{
	const unsigned char	*s = (const unsigned char *)text;
	struct tab		 t;
	size_t			 i, start = 0, span = 0;
	long			 width = 0;
	int			 escaped = 0, rc = -1;

	memset(&t, 0, sizeof(t));
	t.out = out;
	t.padding = padding;
	if (tab_add_line(&t) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == 0xff) {
			/* The escape bytes are printed but not measured. */
			width += rune_count(s + span, i - span);
			span = i + 1;
			escaped = !escaped;
			continue;
		}
		if (escaped || (s[i] != '\t' && s[i] != '\v' &&
		    s[i] != '\n' && s[i] != '\f'))
			continue;
		width += rune_count(s + span, i - span);
		if (tab_add_cell(&t, s + start, i - start, width) == -1)
			goto done;
		start = span = i + 1;
		width = 0;
		if (s[i] == '\t' || s[i] == '\v')
			continue;
		if (tab_add_line(&t) == -1)
			goto done;
		if (s[i] == '\f') {
			if (tab_format(&t, 0, t.nlines - 1) == -1)
				goto done;
			tab_reset(&t);
			if (tab_add_line(&t) == -1)
				goto done;
		}
	}
	if (start < len) {
		width += rune_count(s + span, len - span);
		/* Flush ends an open escape as if closed: Go subtracts 2. */
		if (escaped)
			width--;
		if (tab_add_cell(&t, s + start, len - start, width) == -1)
			goto done;
	}
	rc = tab_format(&t, 0, t.nlines);
 done:
	tab_reset(&t);
	free(t.widths);
	return rc;
}
