/**
 * Benchmarks (not tests): `npm run bench -- NAME [args]` runs `bench/NAME.ts`.
 * Each benchmark prints its figures; none asserts on absolute times.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

const available = readdirSync(__dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => path.basename(f, '.ts'))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [args]\n  NAME: ${available.join(', ') || '(none yet)'}\n`);
  process.exit(name ? 2 : 0);
}
process.argv = [process.argv[0]!, path.join(__dirname, `${name}.ts`), ...args];
require(path.join(__dirname, `${name}.ts`));
