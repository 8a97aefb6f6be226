/**
 * The tasks this project's workers can run. The first one is the default for `npm run insert`
 * (pick another with `--task module.name`).
 */
import type { AnyTaskDefinition } from '../lib/task';
import { countPrimes } from './example';

export const tasks: readonly AnyTaskDefinition[] = [countPrimes];
