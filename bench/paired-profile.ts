/**
 * A V8 CPU profile of a pairs run, split by build: where B's time per request differs from A's.
 *
 *   PAIRED_ROUND_TIMES=1 node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx \
 *     bench/write-paired.ts DIR_A DIR_B --store postgres --rounds 16 2> /tmp/rounds.txt
 *   npx tsx bench/paired-profile.ts /tmp/prof/CPU.….cpuprofile /tmp/rounds.txt [--top 30]
 *
 * Both builds run in one process, so a sample is given to the build whose round was running
 * when it was taken (the `ROUNDTIME` lines; the two warm-up rounds are left out). It prints, per
 * request of each build, the time by kind of code (each build's own `dist`, node-postgres,
 * Kysely, Fastify, Node's internals and native calls, the garbage collector) and then the
 * functions whose own time differs most. Native calls such as `writev` count the time the
 * thread spent in them, including while the kernel ran another process (PostgreSQL) on its CPU.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' } },
});
if (positionals.length !== 2) {
  process.stderr.write(
    'usage: npx tsx bench/paired-profile.ts PROFILE.cpuprofile ROUNDS.txt [--top N]\n',
  );
  process.exit(2);
}

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const rounds = readFileSync(positionals[1]!, 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('ROUNDTIME '))
  .map((line) => {
    const [, build, start, end, requests] = line.split(' ');
    return { build: build!, start: Number(start), end: Number(end), requests: Number(requests) };
  })
  .slice(2);
if (rounds.length === 0) {
  process.stderr.write(`no ROUNDTIME lines in ${positionals[1]}: run with PAIRED_ROUND_TIMES=1\n`);
  process.exit(2);
}

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

/** A function, the same in both builds: its path inside the checkout, or inside node_modules. */
function functionOf({ functionName, url, lineNumber }: CallFrame): string {
  const path = url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/dist\//, 'dist/');
  return `${functionName || '(anonymous)'} ${path}${path ? `:${lineNumber + 1}` : ''}`;
}

const KINDS: [RegExp, string][] = [
  [/node_modules\/(pg|pg-pool|pg-protocol)\//, 'node-postgres'],
  [/node_modules\/kysely\//, 'Kysely'],
  [/node_modules\/(fastify|@fastify|light-my-request|find-my-way|avvio)\//, 'Fastify'],
  [/node_modules\//, 'other packages'],
  [/\/dist\//, "the build's own code"],
];

function kindOf({ functionName, url }: CallFrame): string {
  if (functionName.startsWith('(') && url === '') return functionName;
  for (const [pattern, kind] of KINDS) if (pattern.test(url)) return kind;
  return url === '' ? 'native calls' : "Node's internals";
}

const requests = new Map<string, number>();
for (const r of rounds) requests.set(r.build, (requests.get(r.build) ?? 0) + r.requests);
const byKind = new Map<string, Map<string, number>>();
const byFunction = new Map<string, Map<string, number>>();
const add = (table: Map<string, Map<string, number>>, build: string, key: string, us: number) => {
  const row = table.get(key) ?? new Map<string, number>();
  table.set(key, row);
  row.set(build, (row.get(build) ?? 0) + us);
};

let time = profile.startTime;
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  time += profile.timeDeltas[i]!;
  const next = i + 1 < profile.samples.length ? time + profile.timeDeltas[i + 1]! : time;
  while (at < rounds.length && rounds[at]!.end < time) at++;
  const round = rounds[at];
  if (!round || time < round.start) continue;
  const frame = nodes.get(profile.samples[i]!)!.callFrame;
  add(byKind, round.build, kindOf(frame), next - time);
  add(byFunction, round.build, functionOf(frame), next - time);
}

const [a, b] = [...requests.keys()].sort();
if (a === undefined || b === undefined) {
  process.stderr.write('the rounds name fewer than two builds\n');
  process.exit(2);
}
const perRequest = (row: Map<string, number>, build: string) =>
  (row.get(build) ?? 0) / requests.get(build)!;
const table = (source: Map<string, Map<string, number>>, limit: number) =>
  [...source.entries()]
    .map(([key, row]) => ({ key, a: perRequest(row, a), b: perRequest(row, b) }))
    .sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a))
    .slice(0, limit)
    .map(
      (r) =>
        `| ${r.key} | ${r.a.toFixed(2)} | ${r.b.toFixed(2)} | ${(r.b - r.a >= 0 ? '+' : '') + (r.b - r.a).toFixed(2)} |`,
    );

const header = `| | ${a}, µs a request | ${b}, µs a request | ${b} − ${a} |\n|---|---|---|---|`;
process.stdout.write(
  [
    `${requests.get(a)} requests of ${a} and ${requests.get(b)} of ${b}, in ${rounds.length} rounds`,
    '',
    'By kind of code:',
    '',
    header,
    ...table(byKind, byKind.size),
    '',
    `The ${args.top} functions whose own time differs most:`,
    '',
    header,
    ...table(byFunction, Number(args.top)),
    '',
  ].join('\n'),
);
