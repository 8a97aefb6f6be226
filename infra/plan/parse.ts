/**
 * Applies the schema (schema.ts) to the raw config Pulumi hands the program, key by key, and
 * formats zod's issues as "key.path value: what is wrong". Pure.
 */
import { z } from 'zod';
import { closest } from '../../lib/suggest';
import {
  CONFIG_KEYS,
  GCP_KEYS,
  ParsedConfig,
  PATH_EXAMPLES,
  PROJECT,
  scalarKeys,
  ScalarKey,
  structuredKeys,
  StructuredKey,
} from './schema';

/** Raw config as Pulumi passes it to the program: full key ("ns:key") → string (JSON for structured keys). */
export type ConfigValues = Readonly<Record<string, string>>;

export interface ParseResult {
  /** Parsed keys; a key that failed to parse is missing, so later checks can skip what depends on it. */
  readonly values: Partial<ParsedConfig>;
  /** Keys (short names, e.g. "workers", "project") that were set but did not parse. */
  readonly failed: ReadonlySet<string>;
  readonly problems: string[];
}

/** Parses every key on its own, so one bad key does not hide problems in the others. */
export function parseConfigValues(values: ConfigValues): ParseResult {
  const problems: string[] = [];
  const failed = new Set<string>();
  const out: Record<string, unknown> = {};

  for (const key of GCP_KEYS) {
    const value = values[key]?.trim();
    const short = key.slice('gcp:'.length);
    if (value) out[short] = value;
    else
      (failed.add(short),
        problems.push(
          `${key} is not set: pulumi config set ${key} ${short === 'project' ? 'MY-PROJECT-ID' : 'us-central1'}`,
        ));
  }

  const known = new Set<string>(CONFIG_KEYS);
  for (const fullKey of Object.keys(values)) {
    if (!fullKey.startsWith(`${PROJECT}:`)) continue;
    const key = fullKey.slice(PROJECT.length + 1);
    if (!known.has(key)) {
      const hint = suggestKey(key, CONFIG_KEYS);
      problems.push(
        `${fullKey} is not a setting of this ` +
          `stack${hint ? `: did you mean ${PROJECT}:${hint}?` : `; known keys: ${CONFIG_KEYS.join(', ')}`}`,
      );
    }
  }

  for (const key of CONFIG_KEYS) {
    const raw = values[`${PROJECT}:${key}`];
    const schema: z.ZodType = key in scalarKeys ? scalarKeys[key as ScalarKey] : structuredKeys[key as StructuredKey];
    let input: unknown = raw;
    if (raw !== undefined && key in structuredKeys) {
      try {
        input = JSON.parse(raw);
      } catch {
        failed.add(key);
        problems.push(
          `${key} ${JSON.stringify(raw)} is not structured config: set its fields with --path, e.g. pulumi config ` +
            `set --path ${PROJECT}:${PATH_EXAMPLES[key as StructuredKey]}`,
        );
        continue;
      }
    }
    const parsed = schema.safeParse(input, { reportInput: true });
    if (parsed.success) {
      out[key] = parsed.data;
    } else {
      failed.add(key);
      problems.push(...parsed.error.issues.map((issue) => formatIssue(key, issue, input)));
    }
  }
  return { values: out as Partial<ParsedConfig>, failed, problems };
}

/** "nodePools[1].maxNodes -2: must be at least 0 nodes". */
export function formatIssue(key: string, issue: z.core.$ZodIssue, root: unknown): string {
  const where = keyPath(key, issue.path);
  if (issue.code === 'unrecognized_keys') {
    const allowed = Object.keys(schemaAt(key, issue.path) ?? {});
    return issue.keys
      .map((extra) => {
        const hint = suggestKey(extra, allowed);
        const prefix = where ? `${where}.` : '';
        const known = allowed.length ? `; known: ${allowed.join(', ')}` : '';
        return `${prefix}${extra} is not a setting${hint ? `: did you mean ${prefix}${hint}?` : known}`;
      })
      .join('\n');
  }
  const input = 'input' in issue ? issue.input : valueAt(root, issue.path);
  const secret = key === 'aws' && issue.path.some((part) => part === 'accessKeyId' || part === 'secretAccessKey');
  const shown = input === undefined ? 'is missing:' : secret ? '(secret):' : `${display(input)}:`;
  return `${where} ${shown} ${issue.message}`;
}

function keyPath(key: string, path: readonly PropertyKey[]): string {
  let out = key;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

/** The object schema's shape at a path, to suggest the right field name for a typo. */
function schemaAt(key: string, path: readonly PropertyKey[]): Record<string, unknown> | undefined {
  let schema: unknown = key in scalarKeys ? scalarKeys[key as ScalarKey] : structuredKeys[key as StructuredKey];
  for (const part of [...path, undefined]) {
    // Unwrap defaults, optionals, arrays and preprocessors down to the object that owns `part`.
    for (let i = 0; i < 5; i++) {
      const def = (schema as { def?: { innerType?: unknown; element?: unknown; out?: unknown } } | undefined)?.def;
      const inner = def?.innerType ?? (typeof part === 'number' || part === undefined ? def?.element : undefined);
      if (!inner) break;
      schema = inner;
    }
    const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
    if (part === undefined) return shape;
    if (typeof part === 'string') schema = shape?.[part];
  }
  return undefined;
}

function suggestKey(word: string, candidates: readonly string[]): string | undefined {
  return closest(word, candidates);
}

export function display(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value);
}

/** A doc line per key, for docs and `--help`-style listings: "workers.cpu: CPU request per worker pod ...". */
export function describeKeys(): Array<{ key: string; doc: string }> {
  const rows: Array<{ key: string; doc: string }> = [];
  for (const key of CONFIG_KEYS) {
    const schema = (
      key in scalarKeys ? scalarKeys[key as ScalarKey] : structuredKeys[key as StructuredKey]
    ) as z.ZodType;
    rows.push({ key, doc: schema.description ?? '' });
    const shape = schemaAt(key, key === 'nodePools' ? [0] : []);
    if (key !== 'zones' && shape) {
      for (const [field, fieldSchema] of Object.entries(shape)) {
        rows.push({
          key: `${key}${key === 'nodePools' ? '[].' : '.'}${field}`,
          doc: (fieldSchema as z.ZodType).description ?? '',
        });
      }
    }
  }
  return rows;
}
