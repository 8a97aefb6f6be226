/**
 * The field types the stack's config schema is built from. Pulumi hands top-level values over as
 * strings and structured ones as JSON, and `pulumi config set --path` may store numbers and
 * booleans either way, so both spellings count. Pure.
 */
import { z } from 'zod';
import { parseCpuMillis, parseMemoryMiB, quantityHint } from './quantity';

/** A number written as a string becomes the number; anything else is left for zod to judge. */
export const numeric = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);
const booleanish = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);

export const wholeNumber = (min: number, max: number, unit: string) =>
  z.preprocess(
    numeric,
    z
      .number({ error: `must be a whole number of ${unit}` })
      .int(`must be a whole number of ${unit}`)
      .min(min, `must be at least ${min} ${unit}`)
      .max(max, `must be at most ${max} ${unit}`),
  );

export const bool = () => z.preprocess(booleanish, z.boolean({ error: 'must be true or false' }));

export const quantity = (kind: 'cpu' | 'memory') =>
  z.preprocess(
    (v) => (typeof v === 'number' ? String(v) : v),
    z.string({ error: `must be a Kubernetes ${kind} quantity` }).superRefine((text, ctx) => {
      const value = kind === 'cpu' ? parseCpuMillis(text) : parseMemoryMiB(text);
      if (value === undefined)
        ctx.addIssue({
          code: 'custom',
          message: `is not a ${kind === 'cpu' ? 'CPU' : 'memory'} quantity: ${quantityHint(text, kind)}`,
        });
      else if (value <= 0) ctx.addIssue({ code: 'custom', message: 'must be more than zero' });
    }),
  );

/** GKE names: lowercase letters, digits and hyphens, starting with a letter. */
export const gkeName = (max: number) =>
  z
    .string({ error: 'must be a name' })
    .max(max, `must be at most ${max} characters`)
    .regex(
      /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
      'must be lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen',
    );

/** Keys and values are checked against Kubernetes' label rules in checkPools.ts, naming the culprit. */
export const labelMap = z.record(z.string(), z.string({ error: 'label values are strings' }), {
  error: 'must be a map of label names to values',
});
