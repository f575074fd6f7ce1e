/*
 * consuld web UI.  Plain JavaScript, no framework, nothing from any other
 * origin.  Views are addressed by the URL's fragment (#/<dc>/services/web)
 * so that a reload or a pasted link lands on the same view.  Views follow
 * the agent through blocking queries (index + wait) and back off when a
 * request fails.  Text from the agent goes into the page only through
 * textContent and attribute values, never as markup.
 */
'use strict';

(function () {
	var TOKEN_KEY = 'consuld.token';
	var WAIT = '60s';		/* a blocking query's wait */
	var GAP_MS = 1000;		/* least time between two unchanged answers */
	var BACKOFF_MAX_MS = 30000;
	var SHOW_MAX = 64 * 1024;	/* bytes of a value shown in the page */
	var HEX_MAX = 512;		/* bytes of a binary value shown */

	var state = { dc: '', localDc: '', dcs: [], acl: false, view: null };

	/*
	 * Elements.  h('a', {href: x, class: 'c'}, 'text', child...): text
	 * arguments become text nodes, so nothing is ever parsed as markup.
	 */
	function h(tag, attrs) {
		var e = document.createElement(tag), k, v, i;

		for (k in attrs || {}) {
			v = attrs[k];
			if (v === null || v === undefined || v === false)
				continue;
			if (k === 'class')
				e.className = v;
			else if (k === 'text')
				e.textContent = v;
			else if (k.slice(0, 2) === 'on')
				e.addEventListener(k.slice(2), v);
			else if (k === 'value')
				e.value = v;
			else
				e.setAttribute(k, v === true ? '' : String(v));
		}
		for (i = 2; i < arguments.length; i++)
			append(e, arguments[i]);
		return e;
	}

	function append(e, c) {
		var i;

		if (c === null || c === undefined || c === false)
			return;
		if (Array.isArray(c)) {
			for (i = 0; i < c.length; i++)
				append(e, c[i]);
		} else if (typeof c === 'object')
			e.appendChild(c);
		else
			e.appendChild(document.createTextNode(String(c)));
	}

	function $(id) {
		return document.getElementById(id);
	}

	function dec(s) {
		try {
			return decodeURIComponent(s);
		} catch (e) {
			return s;
		}
	}

	function enc(s) {
		return encodeURIComponent(s);
	}

	/* A view's address: #/dc/section/segment... */
	function link() {
		var parts = [state.dc], i;

		for (i = 0; i < arguments.length; i++)
			parts.push(arguments[i]);
		return '#/' + parts.map(enc).join('/');
	}

	function kvLink(key) {
		return '#/' + enc(state.dc) + '/kv/' + key.split('/').map(enc).
		    join('/');
	}

	function kvPath(key) {
		return '/v1/kv/' + key.split('/').map(enc).join('/');
	}

	function token() {
		try {
			return localStorage.getItem(TOKEN_KEY) || '';
		} catch (e) {
			return '';
		}
	}

	function sleep(ms) {
		return new Promise(function (resolve) {
			setTimeout(resolve, ms);
		});
	}

	/* The banner shows while the agent cannot be reached. */
	function reachable(yes) {
		var b = $('banner');

		if (yes) {
			b.hidden = true;
			return;
		}
		b.textContent = 'Cannot reach the agent at ' + location.host +
		    '. Retrying\u2026';
		b.hidden = false;
	}

	/*
	 * A request to the agent: the token as X-Consul-Token, ?dc for the
	 * datacenter shown.  Resolves to the Response, whatever its status;
	 * rejects when the agent cannot be reached (or on abort).
	 */
	function api(path, opts) {
		var o = opts || {}, headers = {}, sep, url = path, t = token();

		sep = url.indexOf('?') >= 0 ? '&' : '?';
		if (state.dc && !o.nodc) {
			url += sep + 'dc=' + enc(state.dc);
			sep = '&';
		}
		if (o.index)
			url += sep + 'index=' + o.index + '&wait=' + WAIT;
		if (t)
			headers['X-Consul-Token'] = t;
		return fetch(url, {
			method: o.method || 'GET',
			headers: headers,
			body: o.body,
			signal: o.signal,
			cache: 'no-store',
			credentials: 'same-origin'
		}).then(function (r) {
			reachable(true);
			return r;
		}, function (e) {
			if (!o.signal || !o.signal.aborted)
				reachable(false);
			throw e;
		});
	}

	function backoff(ms) {
		ms = ms ? Math.min(ms * 2, BACKOFF_MAX_MS) : 1000;
		return ms;
	}

	/*
	 * Follow path with blocking queries for as long as the view lives:
	 * onData(json, response) after each answer (json is null for a 404).
	 * An answer without X-Consul-Index is not followed further.
	 */
	function watch(ctx, path, onData) {
		var index = 0, delay = 0, signal = ctx.abort.signal;

		async function loop() {
			var r, data, idx, started, text;

			while (ctx.live && !signal.aborted) {
				started = Date.now();
				try {
					r = await api(path, { index: index,
					    signal: signal });
					if (r.ok)
						data = await r.json();
					else if (r.status === 404)
						data = null;
					else {
						text = await r.text();
						if (!ctx.live || signal.aborted)
							return;
						ctx.problem(r.status, text);
						delay = backoff(delay);
						await sleep(delay + Math.random() *
						    delay / 4);
						continue;
					}
				} catch (e) {
					if (!ctx.live || signal.aborted)
						return;
					delay = backoff(delay);
					await sleep(delay + Math.random() * delay / 4);
					continue;
				}
				if (!ctx.live || signal.aborted)
					return;
				ctx.problem(0, '');
				delay = 0;
				idx = parseInt(r.headers.get('X-Consul-Index'), 10);
				onData(data, r);
				if (!(idx > 0))
					return;
				if (idx === index && Date.now() - started < GAP_MS)
					await sleep(GAP_MS);
				index = idx < index ? 0 : idx;
			}
		}
		loop();
	}

	/* Health as coloured badges with their counts. */
	function badge(status, text, label) {
		return h('span', { class: 'badge ' + status, title: label,
		    'aria-label': label }, text);
	}

	function healthBadges(p, w, c) {
		var out = [];

		if (p)
			out.push(badge('passing', '\u2713 ' + p, p + ' passing'));
		if (w)
			out.push(badge('warning', '! ' + w, w + ' warning'));
		if (c)
			out.push(badge('critical', '\u2715 ' + c, c + ' critical'));
		if (!out.length)
			out.push(badge('none', 'no checks', 'no checks'));
		return h('span', { class: 'badges' }, out);
	}

	function statusBadge(status) {
		var sym = { passing: '\u2713', warning: '!', critical: '\u2715' };
		var s = sym[status] ? status : 'critical';

		return badge(s, sym[s] + ' ' + status, 'status ' + status);
	}

	function worst(checks) {
		var w = 'passing', i;

		for (i = 0; i < checks.length; i++) {
			if (checks[i].Status === 'critical')
				return 'critical';
			if (checks[i].Status === 'warning')
				w = 'warning';
		}
		return w;
	}

	function tally(checks) {
		var t = { passing: 0, warning: 0, critical: 0 }, i, s;

		for (i = 0; i < checks.length; i++) {
			s = checks[i].Status;
			t[s in t ? s : 'critical']++;
		}
		return t;
	}

	function tagList(tags) {
		if (!tags || !tags.length)
			return h('span', { class: 'muted' }, '\u2014');
		return h('span', { class: 'tags' }, tags.map(function (t) {
			return h('span', { class: 'tag' }, t);
		}));
	}

	function facts(pairs) {
		var dl = h('dl', { class: 'facts' }), i;

		for (i = 0; i < pairs.length; i++) {
			if (pairs[i][1] === null || pairs[i][1] === undefined)
				continue;
			dl.appendChild(h('dt', null, pairs[i][0]));
			dl.appendChild(h('dd', null, pairs[i][1]));
		}
		return dl;
	}

	function table(cls, caption, heads, rows) {
		return h('table', { class: cls },
		    caption ? h('caption', { class: 'muted' }, caption) : null,
		    h('thead', null, h('tr', null, heads.map(function (x) {
			return h('th', { scope: 'col' }, x);
		    }))),
		    h('tbody', null, rows.map(function (cells) {
			return h('tr', null, cells.map(function (c, i) {
				return h('td', { 'data-label': heads[i],
				    class: c && c.num ? 'num' : null },
				    c && c.num ? c.num : c);
			}));
		    })));
	}

	function checksTable(checks, withService) {
		var heads = ['Check', 'Status'], rows;

		if (withService)
			heads.push('Service');
		heads.push('Output');
		rows = checks.map(function (c) {
			var row = [h('div', null, c.Name,
			    h('div', { class: 'muted mono' }, c.CheckID +
			    (c.Type ? ' \u00b7 ' + c.Type : ''))),
			    statusBadge(c.Status)];

			if (withService)
				row.push(c.ServiceName ? h('a', {
				    href: link('services', c.ServiceName) },
				    c.ServiceName) : h('span',
				    { class: 'muted' }, 'node'));
			row.push(c.Output ? h('pre', { class: 'output' },
			    c.Output) : h('span', { class: 'muted' },
			    'no output'));
			return row;
		});
		if (!rows.length)
			return h('p', { class: 'muted' }, 'No checks.');
		return table('stack checks', null, heads, rows);
	}

	/* msg(kind, content...): a message box, 'error' as an alert. */
	function msg(kind) {
		return h('div', { class: 'msg ' + kind,
		    role: kind === 'error' ? 'alert' : 'status' },
		    Array.prototype.slice.call(arguments, 1));
	}

	function filterBox(ctx, label, onInput) {
		var id = 'filter-' + Math.random().toString(36).slice(2);
		var input = h('input', { id: id, type: 'search',
		    autocomplete: 'off', value: ctx.params.get('filter') || '',
		    oninput: function () {
			replaceParam('filter', input.value);
			onInput();
		    } });

		return { input: input, node: h('div', { class: 'filter' },
		    h('label', { for: id }, label), input) };
	}

	/* Keep a view's parameter in the URL without a new history entry. */
	function replaceParam(name, value) {
		var hash = location.hash, i = hash.indexOf('?'), p;

		p = new URLSearchParams(i >= 0 ? hash.slice(i + 1) : '');
		if (value)
			p.set(name, value);
		else
			p.delete(name);
		hash = (i >= 0 ? hash.slice(0, i) : hash) +
		    (p.toString() ? '?' + p.toString() : '');
		history.replaceState(null, '', hash);
	}

	function matches(f, strs) {
		var i;

		if (!f)
			return true;
		for (i = 0; i < strs.length; i++)
			if (String(strs[i]).toLowerCase().indexOf(f) >= 0)
				return true;
		return false;
	}

	/*
	 * Views.  Each gets a ctx: its main element, parameters, whether it
	 * is still shown (live), an AbortController for its requests, and
	 * problem(status, text) to show an error from the agent.
	 */

	function viewServices(ctx) {
		var data = null, region = h('div'), summary;
		var fb = filterBox(ctx, 'Filter by name or tag', render);

		summary = h('p', { class: 'summary', 'aria-live': 'polite' });
		ctx.title('Services');
		append(ctx.main, [fb.node, summary, region]);

		function render() {
			var f = fb.input.value.trim().toLowerCase();
			var shown, crit = 0, warn = 0, rows;

			if (data === null)
				return;
			shown = data.filter(function (s) {
				return matches(f, [s.Name].concat(s.Tags || []));
			});
			data.forEach(function (s) {
				if (s.ChecksCritical)
					crit++;
				else if (s.ChecksWarning)
					warn++;
			});
			summary.textContent = data.length + ' service' +
			    (data.length === 1 ? '' : 's') + ': ' + crit +
			    ' critical, ' + warn + ' warning' +
			    (shown.length !== data.length ? '; ' +
			    shown.length + ' shown' : '');
			rows = shown.map(function (s) {
				return [h('a', { href: link('services', s.Name) },
				    s.Name), healthBadges(s.ChecksPassing,
				    s.ChecksWarning, s.ChecksCritical),
				    { num: String(s.InstanceCount) },
				    tagList(s.Tags)];
			});
			region.replaceChildren(rows.length ? table('stack services',
			    null, ['Service', 'Health', 'Instances', 'Tags'],
			    rows) : h('p', { class: 'muted' }, data.length ?
			    'No service matches the filter.' :
			    'No services registered.'));
			performance.mark('consuld:services');
		}
		watch(ctx, '/v1/internal/ui/services', function (d) {
			data = d || [];
			render();
		});
	}

	function viewService(ctx, name) {
		var region = h('div'), summary;

		summary = h('p', { class: 'summary', 'aria-live': 'polite' });
		ctx.title(name, [h('a', { href: link('services') }, 'Services'),
		    ' / ']);
		append(ctx.main, [summary, region]);
		watch(ctx, '/v1/health/service/' + enc(name), function (d) {
			var list = d || [], t = { passing: 0, warning: 0,
			    critical: 0 };

			list.forEach(function (e) {
				t[worst(e.Checks || [])]++;
			});
			summary.replaceChildren(list.length + ' instance' +
			    (list.length === 1 ? '' : 's') + ' ',
			    healthBadges(t.passing, t.warning, t.critical));
			if (!list.length) {
				region.replaceChildren(h('p', { class: 'muted' },
				    'No instances of this service.'));
				return;
			}
			region.replaceChildren.apply(region, list.map(function (e) {
				var s = e.Service, n = e.Node;
				var checks = e.Checks || [], st = worst(checks);
				var addr = (s.Address || n.Address) +
				    (s.Port ? ':' + s.Port : '');

				return h('section', { class: 'card ' + st,
				    'aria-label': 'instance ' + s.ID },
				    h('div', { class: 'card-head' },
				    h('h2', null, s.ID), statusBadge(st)),
				    facts([['Node', h('a', { href: link('nodes',
				    n.Node) }, n.Node)], ['Address', addr],
				    ['Tags', tagList(s.Tags)], s.Meta &&
				    Object.keys(s.Meta).length ? ['Meta',
				    metaList(s.Meta)] : ['Meta', null]]),
				    h('h3', null, 'Checks'),
				    checksTable(checks, false));
			}));
		});
	}

	function metaList(meta) {
		return h('span', { class: 'tags' }, Object.keys(meta).sort().
		    map(function (k) {
			return h('span', { class: 'tag' }, k + '=' + meta[k]);
		    }));
	}

	function viewNodes(ctx) {
		var nodes = null, checks = [], region = h('div'), summary;
		var fb = filterBox(ctx, 'Filter by name or address', render);

		summary = h('p', { class: 'summary', 'aria-live': 'polite' });
		ctx.title('Nodes');
		append(ctx.main, [fb.node, summary, region]);

		function render() {
			var f = fb.input.value.trim().toLowerCase(), by = {};
			var shown, crit = 0;

			if (nodes === null)
				return;
			checks.forEach(function (c) {
				(by[c.Node] = by[c.Node] || []).push(c);
			});
			shown = nodes.filter(function (n) {
				return matches(f, [n.Node, n.Address]);
			});
			nodes.forEach(function (n) {
				if (worst(by[n.Node] || []) === 'critical')
					crit++;
			});
			summary.textContent = nodes.length + ' node' +
			    (nodes.length === 1 ? '' : 's') + ': ' + crit +
			    ' critical' + (shown.length !== nodes.length ?
			    '; ' + shown.length + ' shown' : '');
			region.replaceChildren(shown.length ? table('stack nodes',
			    null, ['Node', 'Health', 'Address'],
			    shown.map(function (n) {
				var t = tally(by[n.Node] || []);

				return [h('a', { href: link('nodes', n.Node) },
				    n.Node), healthBadges(t.passing, t.warning,
				    t.critical), h('span', { class: 'mono' },
				    n.Address)];
			    })) : h('p', { class: 'muted' }, nodes.length ?
			    'No node matches the filter.' : 'No nodes.'));
		}
		watch(ctx, '/v1/catalog/nodes', function (d) {
			nodes = d || [];
			render();
		});
		watch(ctx, '/v1/health/state/any', function (d) {
			checks = d || [];
			render();
		});
	}

	function viewNode(ctx, name) {
		var info = h('div'), svc = h('div'), chk = h('div');

		ctx.title(name, [h('a', { href: link('nodes') }, 'Nodes'), ' / ']);
		append(ctx.main, [info, h('h2', null, 'Services'), svc,
		    h('h2', null, 'Checks'), chk]);
		watch(ctx, '/v1/catalog/node/' + enc(name), function (d) {
			var n, services, ta;

			if (!d || !d.Node) {
				info.replaceChildren(msg('note', 'No node named ' +
				    name + ' in the catalog.'));
				svc.replaceChildren();
				return;
			}
			n = d.Node;
			ta = n.TaggedAddresses || {};
			info.replaceChildren(facts([['Address', h('span',
			    { class: 'mono' }, n.Address)],
			    ['Datacenter', n.Datacenter], ['ID', n.ID ?
			    h('span', { class: 'mono' }, n.ID) : null],
			    ['Tagged addresses', Object.keys(ta).length ?
			    Object.keys(ta).sort().map(function (k) {
				return k + '=' + ta[k] + ' ';
			    }).join('') : null]]),
			    h('h2', null, 'Metadata'),
			    n.Meta && Object.keys(n.Meta).length ?
			    table('stack meta', null, ['Key', 'Value'],
			    Object.keys(n.Meta).sort().map(function (k) {
				return [h('span', { class: 'mono' }, k),
				    n.Meta[k]];
			    })) : h('p', { class: 'muted' }, 'No metadata.'));
			services = Object.keys(d.Services || {}).map(function (k) {
				return d.Services[k];
			}).sort(function (a, b) {
				return a.ID < b.ID ? -1 : a.ID > b.ID;
			});
			svc.replaceChildren(services.length ? table('stack',
			    null, ['Service', 'ID', 'Port', 'Tags'],
			    services.map(function (s) {
				return [h('a', { href: link('services',
				    s.Service) }, s.Service), h('span',
				    { class: 'mono' }, s.ID),
				    { num: String(s.Port) }, tagList(s.Tags)];
			    })) : h('p', { class: 'muted' }, 'No services.'));
		});
		watch(ctx, '/v1/health/node/' + enc(name), function (d) {
			chk.replaceChildren(checksTable(d || [], true));
		});
	}

	/* Key/value: folders split on '/'. */

	function kvCrumbs(key) {
		var parts = key.split('/'), out = [h('a', { href: kvLink('') },
		    'Key/Value')], i, acc = '';

		for (i = 0; i < parts.length - 1; i++) {
			acc += parts[i] + '/';
			out.push(' / ', h('a', { href: kvLink(acc) }, parts[i]));
		}
		out.push(' / ');
		return out;
	}

	function b64bytes(s) {
		var bin = atob(s || ''), a = new Uint8Array(bin.length), i;

		for (i = 0; i < bin.length; i++)
			a[i] = bin.charCodeAt(i);
		return a;
	}

	/* Text when it is UTF-8 without control characters but \t\n\r. */
	function asText(bytes) {
		var s;

		try {
			s = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
		} catch (e) {
			return null;
		}
		return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s) ?
		    null : s;
	}

	function hexDump(bytes) {
		var lines = [], i, j, hex, txt, b;

		for (i = 0; i < bytes.length && i < HEX_MAX; i += 16) {
			hex = '';
			txt = '';
			for (j = i; j < i + 16 && j < bytes.length; j++) {
				b = bytes[j];
				hex += (b < 16 ? '0' : '') + b.toString(16) + ' ';
				txt += b >= 32 && b < 127 ? String.fromCharCode(b) :
				    '.';
			}
			lines.push(('0000000' + i.toString(16)).slice(-8) + '  ' +
			    (hex + Array(49).join(' ')).slice(0, 48) + ' ' + txt);
		}
		return lines.join('\n');
	}

	function downloadLink(key, bytes) {
		var url = URL.createObjectURL(new Blob([bytes],
		    { type: 'application/octet-stream' }));
		var name = key.split('/').pop() || 'value';

		return h('a', { href: url, download: name,
		    class: 'download' }, 'Download the whole value (' +
		    bytes.length + ' bytes)');
	}

	function sizeText(n) {
		return n >= 1024 ? (n / 1024).toFixed(n % 1024 ? 1 : 0) + ' KiB' :
		    n + ' bytes';
	}

	function viewKV(ctx, key) {
		if (key === '' || key.slice(-1) === '/')
			viewKVFolder(ctx, key);
		else
			viewKVKey(ctx, key);
	}

	function viewKVFolder(ctx, prefix) {
		var list = h('div'), status = h('div');
		var name = prefix.split('/').slice(-2)[0];
		var nameIn = h('input', { id: 'kv-new-key', type: 'text',
		    autocomplete: 'off', required: true });
		var valIn = h('textarea', { id: 'kv-new-value', rows: 6 });
		var form, del;

		ctx.title(prefix ? name + '/' : 'Key/Value',
		    prefix ? kvCrumbs(prefix.slice(0, -1)) : null);
		form = h('form', { class: 'edit', onsubmit: create },
		    h('h2', null, 'Create a key'),
		    h('label', { for: 'kv-new-key' }, 'Key name, under ' +
		    (prefix || 'the root') + ' (end it with / for a folder)'),
		    nameIn,
		    h('label', { for: 'kv-new-value' }, 'Value'), valIn,
		    h('div', { class: 'actions' }, h('button', { type: 'submit',
		    id: 'kv-create' }, 'Create')));
		del = prefix ? confirmButton('Delete this folder and every key ' +
		    'under it', 'kv-delete-folder', async function () {
			var r;

			ctx.abort.abort();
			r = await api(kvPath(prefix) + '?recurse',
			    { method: 'DELETE' });
			if (!r.ok) {
				navigate();
				state.view.status(msg('error', 'Not deleted: ' +
				    (await r.text())));
				return;
			}
			location.hash = kvLink(prefix.split('/').slice(0, -2).
			    join('/').replace(/(.)$/, '$1/'));
		    }) : null;
		append(ctx.main, [status, list, form, del]);

		async function create(ev) {
			var k = nameIn.value, r;

			ev.preventDefault();
			if (!k)
				return;
			r = await api(kvPath(prefix + k) + '?cas=0',
			    { method: 'PUT', body: k.slice(-1) === '/' ? '' :
			    valIn.value });
			if (!r.ok) {
				status.replaceChildren(msg('error', 'Not created: ' +
				    (await r.text())));
				return;
			}
			if ((await r.json()) !== true) {
				status.replaceChildren(msg('error', 'Not created: ' +
				    'a key named ' + prefix + k + ' exists ' +
				    'already.'));
				return;
			}
			location.hash = kvLink(prefix + k);
		}

		watch(ctx, kvPath(prefix) + '?keys&separator=/', function (d) {
			var keys = (d || []).filter(function (k) {
				return k !== prefix;
			});

			if (!keys.length) {
				list.replaceChildren(h('p', { class: 'muted' },
				    'No keys here.'));
				return;
			}
			list.replaceChildren(h('ul', { class: 'kv',
			    'aria-label': 'keys' }, keys.map(function (k) {
				var rel = k.slice(prefix.length);

				return h('li', { class: k.slice(-1) === '/' ?
				    'folder' : 'key' }, h('a', { href: kvLink(k) },
				    rel));
			    })));
		});
	}

	/* A button that asks again, in the page, before it acts. */
	function confirmButton(label, id, act) {
		var box = h('div', { class: 'actions' });
		var first = h('button', { type: 'button', class: 'danger', id: id,
		    onclick: ask }, label);

		function ask() {
			var yes = h('button', { type: 'button', class: 'danger',
			    id: id + '-confirm', onclick: function () {
				yes.disabled = true;
				act();
			    } }, 'Yes, delete');
			var no = h('button', { type: 'button', class: 'secondary',
			    onclick: function () {
				box.replaceChildren(first);
				first.focus();
			    } }, 'Cancel');

			box.replaceChildren(h('span', { role: 'alert' },
			    'Delete for good? '), yes, no);
			yes.focus();
		}
		box.appendChild(first);
		return box;
	}

	function viewKVKey(ctx, key) {
		var status = h('div'), body = h('div'), meta = h('div');
		var loaded = null, dirty = false, editor = null;

		ctx.title(key.split('/').pop(), kvCrumbs(key));
		append(ctx.main, [meta, status, body]);

		function conflict(what) {
			status.replaceChildren(msg('error', 'Conflict: ' + key +
			    ' was changed or deleted by someone else since you ' +
			    'opened it, so it was not ' + what + '. ',
			    h('a', { href: '#', onclick: reload },
			    'Show the current value')));
		}

		function reload(ev) {
			ev.preventDefault();
			navigate();
		}

		async function save(ev) {
			var r;

			ev.preventDefault();
			r = await api(kvPath(key) + '?cas=' + loaded.ModifyIndex +
			    '&flags=' + loaded.Flags, { method: 'PUT',
			    body: editor.value });
			if (!r.ok) {
				status.replaceChildren(msg('error', 'Not saved: ' +
				    (await r.text())));
				return;
			}
			if ((await r.json()) !== true) {
				conflict('saved');
				return;
			}
			dirty = false;
			status.replaceChildren(msg('ok', 'Saved.'));
		}

		/*
		 * The key's watch stops first: it would only see the key
		 * gone.  A refusal starts the view again.
		 */
		async function remove() {
			var r, parent = key.split('/').slice(0, -1).join('/');

			ctx.abort.abort();
			r = await api(kvPath(key) + '?cas=' + loaded.ModifyIndex,
			    { method: 'DELETE' });
			if (!r.ok) {
				navigate();
				state.view.status(msg('error', 'Not deleted: ' +
				    (await r.text())));
				return;
			}
			if ((await r.json()) !== true) {
				navigate();
				state.view.status(msg('error', 'Conflict: ' + key +
				    ' was changed by someone else since you ' +
				    'opened it, so it was not deleted.'));
				return;
			}
			location.hash = kvLink(parent ? parent + '/' : '');
		}

		function show(e) {
			var bytes = b64bytes(e.Value), text = asText(bytes);
			var parts = [];

			meta.replaceChildren(facts([['Size', sizeText(bytes.length)],
			    ['Flags', String(e.Flags)],
			    ['Modify index', String(e.ModifyIndex)],
			    ['Session', e.Session || null]]));
			if (text === null) {
				editor = null;
				parts.push(msg('note', 'Binary value, ' +
				    sizeText(bytes.length) + (bytes.length >
				    HEX_MAX ? '; the first ' + HEX_MAX +
				    ' bytes in hexadecimal:' : ', in ' +
				    'hexadecimal:')), h('pre', { class: 'value',
				    id: 'kv-hex' }, hexDump(bytes)),
				    downloadLink(key, bytes));
			} else if (bytes.length > SHOW_MAX) {
				editor = null;
				parts.push(msg('note', 'Large value: showing the ' +
				    'first ' + sizeText(SHOW_MAX) + ' of ' +
				    sizeText(bytes.length) + '.'),
				    h('pre', { class: 'value', id: 'kv-value' },
				    new TextDecoder().decode(bytes.subarray(0,
				    SHOW_MAX)) + '\u2026'),
				    downloadLink(key, bytes));
			} else {
				editor = h('textarea', { id: 'kv-value', rows: 12,
				    oninput: function () {
					dirty = true;
				    } });
				editor.value = text;
				parts.push(h('form', { class: 'edit',
				    onsubmit: save },
				    h('label', { for: 'kv-value' }, 'Value'),
				    editor, h('div', { class: 'actions' },
				    h('button', { type: 'submit', id: 'kv-save' },
				    'Save'))));
			}
			parts.push(h('h2', null, 'Delete'),
			    confirmButton('Delete this key', 'kv-delete', remove));
			body.replaceChildren.apply(body, parts);
		}

		ctx.status = function (m) {
			status.replaceChildren(m);
		};
		watch(ctx, kvPath(key), function (d) {
			var e = d && d[0];

			if (!e) {
				if (dirty && loaded) {
					status.replaceChildren(msg('note',
					    'This key was deleted on the agent ' +
					    'after you began editing; saving ' +
					    'will report a conflict.'));
					return;
				}
				loaded = null;
				meta.replaceChildren();
				body.replaceChildren(msg('note', 'No key ' +
				    'named ' + key + '.'));
				return;
			}
			if (dirty && loaded) {
				if (e.ModifyIndex !== loaded.ModifyIndex)
					status.replaceChildren(msg('note',
					    'This key changed on the agent ' +
					    'after you began editing; saving ' +
					    'will report a conflict.'));
				return;
			}
			if (loaded && e.ModifyIndex === loaded.ModifyIndex)
				return;
			loaded = e;
			show(e);
		});
	}

	/*
	 * A 403 from the agent: "ACL not found" when it does not know the
	 * token sent, "Permission denied[: why]" when the token (or the
	 * anonymous one, with none set) may not do this.
	 */
	function denied(text) {
		var settings = h('a', { href: link('settings') }, 'Settings');

		if (text === 'ACL not found')
			return msg('error', 'ACL not found: the agent does not ' +
			    'know the token set in this browser. Set a valid ' +
			    'one in ', settings, '.');
		return msg('error', 'Permission denied' +
		    (text && text !== 'Permission denied' ? ' (' + text + ')' :
		    '') + ': ' + (token() ? 'the token set in this browser ' +
		    'may not read this. Set another in ' : 'no token is set ' +
		    'in this browser. Set one in '), settings, '.');
	}

	function viewTokens(ctx) {
		var region = h('div');

		ctx.title('Tokens');
		ctx.main.appendChild(region);
		watch(ctx, '/v1/acl/tokens', function (d) {
			var list = d || [];

			region.replaceChildren(list.length ? table('stack', null,
			    ['Accessor ID', 'Description', 'Policies', 'Scope'],
			    list.map(function (t) {
				return [h('span', { class: 'mono' }, t.AccessorID),
				    t.Description || '', tagList((t.Policies ||
				    []).map(function (p) {
					return p.Name || p.ID;
				    })), t.Local ? 'local' : 'global'];
			    })) : h('p', { class: 'muted' }, 'No tokens.'));
		});
	}

	function viewPolicies(ctx) {
		var region = h('div');

		ctx.title('Policies');
		ctx.main.appendChild(region);
		watch(ctx, '/v1/acl/policies', function (d) {
			var list = d || [];

			region.replaceChildren(list.length ? table('stack', null,
			    ['Name', 'Description', 'Datacenters', 'ID'],
			    list.map(function (p) {
				return [p.Name, p.Description || '',
				    tagList(p.Datacenters && p.Datacenters.length ?
				    p.Datacenters : ['all']),
				    h('span', { class: 'mono' }, p.ID)];
			    })) : h('p', { class: 'muted' }, 'No policies.'));
		});
	}

	function viewSettings(ctx) {
		var input = h('input', { id: 'token', type: 'password',
		    autocomplete: 'off', spellcheck: 'false', value: token() });
		var status = h('div');

		ctx.title('Settings');
		/* append() takes one child or an array of them. */
		append(ctx.main, [h('form', { class: 'edit',
		    onsubmit: function (ev) {
			ev.preventDefault();
			setToken(input.value.trim());
			status.replaceChildren(msg('ok', input.value.trim() ?
			    'Token saved in this browser.' : 'Token cleared.'));
		    } }, h('label', { for: 'token' }, 'ACL token'),
		    h('p', { class: 'muted' }, 'Kept in this browser only and ' +
		    'sent to the agent as X-Consul-Token.'), input,
		    h('div', { class: 'actions' },
		    h('button', { type: 'submit', id: 'token-save' }, 'Save'),
		    h('button', { type: 'button', class: 'secondary',
		    id: 'token-clear', onclick: function () {
			input.value = '';
			setToken('');
			status.replaceChildren(msg('ok', 'Token cleared.'));
		    } }, 'Clear'))), status]);
	}

	function setToken(t) {
		try {
			if (t)
				localStorage.setItem(TOKEN_KEY, t);
			else
				localStorage.removeItem(TOKEN_KEY);
		} catch (e) {
			/* storage refused: the token lasts for this page */
		}
		probeACL();
	}

	/*
	 * ACL pages show when the agent says ACLs are on (its serf tag
	 * "acls" is not "0", or it refuses agent/self to this token),
	 * whatever the token: without one that may read them, the pages
	 * say so.
	 */
	async function probeACL() {
		var on = false, r, self;

		try {
			r = await api('/v1/agent/self', { nodc: true });
			if (r.ok) {
				self = await r.json();
				on = !(self && self.Member && self.Member.Tags &&
				    self.Member.Tags.acls === '0');
			} else if (r.status === 403)
				on = true;	/* refused: ACLs are on */
		} catch (e) {
			on = false;
		}
		state.acl = on;
		$('nav-acl-tokens-item').hidden = !on;
		$('nav-acl-policies-item').hidden = !on;
	}

	async function loadDatacenters() {
		var r, list = [], sel = $('dc');

		try {
			r = await api('/v1/agent/self', { nodc: true });
			if (r.ok)
				state.localDc = ((await r.json()).Config || {}).
				    Datacenter || '';
			r = await api('/v1/catalog/datacenters', { nodc: true });
			if (r.ok)
				list = await r.json();
		} catch (e) {
			/* the banner says why; keep what we have */
		}
		if (!state.localDc && list.length)
			state.localDc = list[0];
		if (state.localDc && list.indexOf(state.localDc) < 0)
			list.unshift(state.localDc);
		state.dcs = list;
		sel.replaceChildren.apply(sel, list.map(function (dc) {
			return h('option', { value: dc }, dc);
		}));
		sel.value = state.dc || state.localDc;
	}

	/* The router: #/<dc>/<section>/<rest...>[?params] */
	function parseHash() {
		var s = location.hash.replace(/^#\/?/, ''), q = '', i;

		i = s.indexOf('?');
		if (i >= 0) {
			q = s.slice(i + 1);
			s = s.slice(0, i);
		}
		s = s.split('/').map(dec);
		return { dc: s[0] || '', section: s[1] || '', rest: s.slice(2),
		    params: new URLSearchParams(q) };
	}

	function navigate() {
		var rt = parseHash(), main = $('main'), ctx, prev = state.view;
		var section = rt.section;

		if (prev) {
			prev.live = false;
			prev.abort.abort();
		}
		if (!rt.dc || !section) {
			location.replace('#/' + enc(rt.dc || state.localDc ||
			    'dc1') + '/services');
			return;
		}
		state.dc = rt.dc;
		if ($('dc').value !== rt.dc && state.dcs.indexOf(rt.dc) >= 0)
			$('dc').value = rt.dc;
		navLinks(section);
		main.replaceChildren();
		ctx = {
			main: main,
			params: rt.params,
			live: true,
			abort: new AbortController(),
			problemBox: h('div'),
			title: function (t, crumbs) {
				var h1 = h('h1', { tabindex: '-1' }, t);

				document.title = t + ' \u2013 consuld';
				if (crumbs)
					main.appendChild(h('p', { class: 'crumbs' },
					    crumbs));
				main.appendChild(h1);
				main.appendChild(ctx.problemBox);
				if (ctx.focus)
					h1.focus();
			},
			problem: function (status, text) {
				if (!status) {
					ctx.problemBox.replaceChildren();
					return;
				}
				ctx.problemBox.replaceChildren(status === 403 ?
				    denied(text.trim()) : msg('error',
				    'The agent answered ' + status + ': ' +
				    text.trim()));
			},
			status: function () {},
			focus: navigate.focus
		};
		state.view = ctx;
		switch (section) {
		case 'services':
			if (rt.rest.length && rt.rest[0] !== '')
				viewService(ctx, rt.rest[0]);
			else
				viewServices(ctx);
			break;
		case 'nodes':
			if (rt.rest.length && rt.rest[0] !== '')
				viewNode(ctx, rt.rest[0]);
			else
				viewNodes(ctx);
			break;
		case 'kv':
			viewKV(ctx, rt.rest.join('/'));
			break;
		case 'acl':
			if (rt.rest[0] === 'policies')
				viewPolicies(ctx);
			else
				viewTokens(ctx);
			break;
		case 'settings':
			viewSettings(ctx);
			break;
		default:
			ctx.title('Not found');
			main.appendChild(h('p', null, 'No such page. ',
			    h('a', { href: link('services') }, 'Services')));
		}
	}

	function navLinks(section) {
		var map = { services: 'services', nodes: 'nodes', kv: 'kv',
		    settings: 'settings' }, k, a;

		for (k in map) {
			a = $('nav-' + k);
			a.href = link(map[k]) + (k === 'kv' ? '/' : '');
			if (section === k)
				a.setAttribute('aria-current', 'page');
			else
				a.removeAttribute('aria-current');
		}
		$('nav-acl-tokens').href = link('acl', 'tokens');
		$('nav-acl-policies').href = link('acl', 'policies');
		$('brand').href = link('services');
	}

	async function start() {
		$('skip').addEventListener('click', function (ev) {
			ev.preventDefault();
			$('main').focus();
		});
		$('dc').addEventListener('change', function () {
			var rt = parseHash();

			location.hash = '#/' + enc(this.value) + '/' +
			    (rt.section === 'nodes' || rt.section === 'kv' ?
			    rt.section + (rt.section === 'kv' ? '/' : '') :
			    'services');
		});
		window.addEventListener('hashchange', function () {
			navigate.focus = true;
			navigate();
		});
		await loadDatacenters();
		navigate.focus = false;
		navigate();
		probeACL();
	}

	start();
})();
