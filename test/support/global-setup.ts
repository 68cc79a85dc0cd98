import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Tests that start real server processes run the built CLI; build it once per run. */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(
    process.execPath,
    [`${root}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
