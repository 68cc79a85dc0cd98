/**
 * What one write to one live feed socket costs the server: 1,000 SSE responses on loopback, their
 * client in a process of its own (only counting bytes), each written the same buffer every 5 ms,
 * 200 times; prints the server's CPU per write (user and system). `raw` writes to the sockets
 * themselves instead of through `ServerResponse.write`. Plain JavaScript, run by `node` itself.
 *
 *   node bench/sse-write-cost.mjs [res|raw] [bytes]
 */
import { fork } from 'node:child_process';
import http from 'node:http';

const STREAMS = 1000;
const ROUNDS = 200;
const [mode = 'res', size = '500'] = process.argv.slice(2);

if (mode === 'client') {
  let bytes = 0;
  for (let i = 0; i < STREAMS; i++) {
    http.get(process.argv[4], { agent: false }, (res) => {
      res.on('data', (c) => {
        bytes += c.length;
      });
    });
  }
  process.on('message', () => {
    process.send(bytes);
    process.exit(0);
  });
} else {
  const sinks = [];
  const buf = Buffer.alloc(Number(size), 'x');
  let child;
  const go = async () => {
    await new Promise((r) => setTimeout(r, 500));
    const before = process.cpuUsage();
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of sinks) s.write(buf);
      await new Promise((r) => setTimeout(r, 5));
    }
    const cpu = process.cpuUsage(before);
    const per = (us) => (us / (ROUNDS * STREAMS)).toFixed(2);
    console.log(
      `${mode}, ${size} bytes: ${per(cpu.user + cpu.system)} µs per write (user ${per(cpu.user)}, system ${per(cpu.system)})`,
    );
    child.send('done');
    child.on('message', () => process.exit(0));
  };
  const server = http.createServer((_req, res) => {
    if (mode === 'raw') {
      res.socket.write(
        'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n',
      );
      sinks.push(res.socket);
    } else {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      sinks.push(res);
    }
    if (sinks.length === STREAMS) void go();
  });
  server.listen(0, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${server.address().port}/`;
    child = fork(new URL(import.meta.url).pathname, ['client', '', url]);
  });
}
