/**
 * Live feed subscribers for bench/events.ts, in a process of their own so that the server is
 * measured apart from its clients: opens one stream per URL given (each with its own filters,
 * the same URL any number of times) and only counts, for each, the bytes and the whole
 * `tag-change` messages received and the last id. A stream the server closes (a client too
 * slow for it) reconnects with Last-Event-ID, as a browser's EventSource does, so that its count
 * stays exact. Plain JavaScript, run by `node` itself.
 *
 *   forked: node bench/feed-subscribers.mjs URL [URL...]   (FEED_ADMIN_TOKEN in the environment)
 *
 * Messages from the parent: "report" (answered with the counts, `each` in the order of the
 * URLs), "stop".
 */
import http from 'node:http';

const urls = process.argv.slice(2);
const count = urls.length;
const token = process.env.FEED_ADMIN_TOKEN ?? '';
const MESSAGE = '\nevent: tag-change\n';
let stopping = false;

/** @type {{ url: string, events: number, bytes: number, lastId: string, rest: string, reconnects: number, open: boolean, req?: http.ClientRequest }[]} */
const subs = urls.map((url) => ({
  url,
  events: 0,
  bytes: 0,
  lastId: '',
  rest: '',
  reconnects: 0,
  open: false,
}));

function take(sub, chunk) {
  sub.bytes += chunk.length;
  const text = sub.rest + chunk;
  const end = text.lastIndexOf('\n\n');
  if (end < 0) {
    sub.rest = text;
    return;
  }
  // Whole messages only: a message cut off by a closed connection is sent again after it.
  const whole = text.slice(0, end);
  sub.rest = text.slice(end + 2);
  for (let i = whole.indexOf(MESSAGE); i >= 0; i = whole.indexOf(MESSAGE, i + MESSAGE.length)) {
    sub.events++;
  }
  let at = whole.lastIndexOf('\nid: ');
  at = at >= 0 ? at + 5 : whole.startsWith('id: ') ? 4 : -1;
  if (at >= 0) sub.lastId = whole.slice(at, whole.indexOf('\n', at));
}

function open(sub, ready) {
  const headers = { authorization: `Bearer ${token}` };
  if (sub.lastId) headers['last-event-id'] = sub.lastId;
  sub.rest = '';
  const req = http.get(sub.url, { headers, agent: false }, (res) => {
    if (res.statusCode !== 200) {
      process.send?.({ type: 'error', message: `stream answered ${res.statusCode}` });
      res.resume();
      return;
    }
    sub.open = true;
    ready?.();
    res.setEncoding('latin1');
    res.on('data', (chunk) => take(sub, chunk));
    res.on('error', () => {});
    res.on('close', () => {
      sub.open = false;
      if (stopping) return;
      sub.reconnects++;
      open(sub);
    });
  });
  req.on('error', () => {
    if (!stopping) setTimeout(() => open(sub), 100);
  });
  sub.req = req;
}

let connected = 0;
for (const sub of subs) {
  open(sub, () => {
    if (++connected === count) process.send?.({ type: 'ready' });
  });
}

process.on('message', (m) => {
  if (m === 'report') {
    const events = subs.map((s) => s.events);
    process.send?.({
      type: 'report',
      streams: count,
      open: subs.filter((s) => s.open).length,
      minEvents: Math.min(...events),
      maxEvents: Math.max(...events),
      events: events.reduce((a, b) => a + b, 0),
      each: events,
      bytes: subs.reduce((a, s) => a + s.bytes, 0),
      reconnects: subs.reduce((a, s) => a + s.reconnects, 0),
    });
  } else if (m === 'stop') {
    stopping = true;
    for (const s of subs) s.req?.destroy();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
