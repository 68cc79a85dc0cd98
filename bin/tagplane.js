#!/usr/bin/env node
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'tagplane: the build is missing; run `npm run build` in the source folder (npm start does it too)\n',
  );
  process.exit(1);
}
const { main } = await import(cli.href);
await main(process.argv);
