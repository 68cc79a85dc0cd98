/**
 * The write benchmark's ceiling: a bare node:http server that reads the whole body, parses it as
 * JSON and answers 204 (400 to a body that is not JSON). No framework, no auth, no database: how
 * fast Node.js answers an HTTP request at all on this machine. Plain JavaScript, run by `node`
 * itself, so nothing but Node.js is measured.
 *
 *   node bench/ceiling-server.mjs [port]     prints "ceiling listening on http://127.0.0.1:PORT"
 */
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    try {
      if (chunks.length > 0) JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.statusCode = 204;
    } catch {
      res.statusCode = 400;
    }
    res.end();
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`ceiling listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
