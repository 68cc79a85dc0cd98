import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/, each importing only its own and those before it: core/ (nothing of the
 * app) ← store/ ← the domain (services/, tags/, auth/, admin/) ← http/ ← the top-level files
 * (app.ts, server.ts, cli.ts…). Read from the source text, as a new import would be written.
 */
const SRC = resolve(import.meta.dirname, '../../src');

const LAYERS: Record<string, number> = {
  core: 0,
  store: 1,
  services: 2,
  tags: 2,
  auth: 2,
  admin: 2,
  http: 3,
};
const TOP = 4;

/** Packages only one layer may use: the database drivers in store/, the web framework in http/. */
const PACKAGE_OWNERS: Record<string, number> = {
  kysely: 1,
  pg: 1,
  'better-sqlite3': 1,
  fastify: 3,
  '@fastify/swagger': 3,
  '@fastify/swagger-ui': 3,
  typebox: 3,
};

interface Import {
  readonly from: string;
  /** A relative import, resolved to a path under src/; else the package name. */
  readonly target: string;
  readonly relative: boolean;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

const STATEMENT = /^(?:import|export)\s+(type\s+)?(?:([^'";]*?)\s+from\s+)?'([^']+)';/gms;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const from = relative(SRC, file);
  return [...text.matchAll(STATEMENT)].map((m) => {
    const spec = m[3]!;
    const names = m[2] ?? '';
    // `import { type A, type B }` is erased like `import type { A, B }`.
    const everyNameTyped =
      /^\{[\s\S]*\}$/.test(names) &&
      names
        .slice(1, -1)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith('type '));
    const isRelative = spec.startsWith('.');
    return {
      from,
      target: isRelative
        ? relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
        : spec
            .split('/')
            .slice(0, spec.startsWith('@') ? 2 : 1)
            .join('/'),
      relative: isRelative,
      typeOnly: Boolean(m[1]) || everyNameTyped,
    };
  });
}

function layerOf(path: string): number {
  const [top, ...rest] = path.split('/');
  return rest.length === 0 ? TOP : (LAYERS[top!] ?? TOP);
}

const FILES = sourceFiles(SRC);
const IMPORTS = FILES.flatMap(importsOf);

describe('source layers', () => {
  it('finds the source and its imports', () => {
    expect(FILES.length).toBeGreaterThan(50);
    expect(IMPORTS.some((i) => i.from === 'app.ts' && i.target === 'http/service-routes.ts')).toBe(
      true,
    );
  });

  it('no module imports one of a later layer', () => {
    const upward = IMPORTS.filter((i) => i.relative && layerOf(i.target) > layerOf(i.from)).map(
      (i) => `${i.from} -> ${i.target}`,
    );
    expect(upward).toEqual([]);
  });

  it('database drivers are used in store/ only, the web framework in http/ and above', () => {
    const misplaced = IMPORTS.filter((i) => {
      const owner = PACKAGE_OWNERS[i.target];
      if (owner === undefined || i.relative) return false;
      const layer = layerOf(i.from);
      return owner === 1 ? layer !== 1 : layer < owner;
    }).map((i) => `${i.from} -> ${i.target}`);
    expect(misplaced).toEqual([]);
  });

  it('migrations import nothing of the app: they are frozen in time', () => {
    const reaching = IMPORTS.filter(
      (i) => i.relative && /^store\/migrations\/\d{4}-/.test(i.from),
    ).map((i) => `${i.from} -> ${i.target}`);
    expect(reaching).toEqual([]);
  });

  it('no circle between folders: the domain folders too import one way only', () => {
    const folderOf = (path: string) => (path.includes('/') ? path.split('/')[0]! : undefined);
    const edges = new Map<string, Set<string>>();
    for (const i of IMPORTS) {
      const [a, b] = [folderOf(i.from), folderOf(i.target)];
      if (!i.relative || a === undefined || b === undefined || a === b) continue;
      edges.set(a, (edges.get(a) ?? new Set()).add(b));
    }
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      [...(edges.get(from) ?? [])].some(
        (next) => next === to || (!seen.has(next) && reaches(next, to, seen.add(next))),
      );
    const circular = [...edges.keys()].filter((folder) => reaches(folder, folder));
    expect(circular).toEqual([]);
  });

  it('no circle of imports between files, type-only imports included', () => {
    // A circle of runtime imports makes the load order decide which module sees the other
    // half-initialised; a circle of type-only imports is erased when compiled, but still ties
    // two modules that cannot then be understood or changed apart.
    const edges = new Map<string, string[]>();
    for (const i of IMPORTS) {
      if (!i.relative) continue;
      edges.set(i.from, [...(edges.get(i.from) ?? []), i.target]);
    }
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      path.push(file);
      for (const next of edges.get(file) ?? []) {
        if (state.get(next) === 'open') {
          circles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
        } else if (!state.has(next)) {
          visit(next);
        }
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of edges.keys()) if (!state.has(file)) visit(file);
    expect(circles).toEqual([]);
  });
});
