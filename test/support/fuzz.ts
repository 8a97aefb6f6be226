/**
 * A mutation fuzzer for the parameter-table readers: flips bits, overwrites bytes and truncates
 * every fixture, deterministically (a seeded PRNG), and judges each mutant's outcome:
 *   - a `TableError` naming the file: fine (the clear error);
 *   - the original values: fine (the mutation changed nothing that matters, e.g. padding);
 *   - other values: fine only where no reader could tell — the bytes of uncompressed values (Arrow
 *     has no checksums), a CSV's text, or a mutant whose schema itself now says something else
 *     (another column name, another time unit) — and even then no string may hold U+FFFD;
 *   - anything else (another exception, a crash trace, different values under the same schema): a failure.
 * Hangs are caught by the caller (`fuzzWorker.ts` runs this in a worker thread it can stop).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as flatbuffers from 'flatbuffers';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch as FbRecordBatch } from 'apache-arrow/fb/record-batch';
import { DictionaryBatch as FbDictionaryBatch } from 'apache-arrow/fb/dictionary-batch';
import { BodyCompression } from 'apache-arrow/fb/body-compression';
import { openTable, TableError } from '../../lib/params/readTable';
import type { JsonValue } from '../../lib/params/jsonValue';
import type { CsvKind } from '../../lib/params/tableFile';

/** mulberry32: a small, fast, seeded PRNG, so every run tries the same mutants. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzFixture {
  readonly name: string;
  readonly file: string;
  /** For CSV: how the columns are typed. */
  readonly csvKinds?: Readonly<Record<string, CsvKind>>;
}

/** What reading a table gave: its columns and rows, or the error. */
interface Reading {
  readonly columns: string;
  readonly rows: Array<Record<string, JsonValue> | { errors: Readonly<Record<string, string>> }>;
}

export async function readTable(file: string, csvKinds?: Readonly<Record<string, CsvKind>>): Promise<Reading> {
  const table = await openTable(file, { csvKinds });
  const rows: Reading['rows'] = [];
  for await (const chunk of table.rows(1000))
    for (const row of chunk) rows.push(row.errors ? { errors: row.errors } : row.values);
  return { columns: table.columns.map((c) => `${c.name}:${c.arrowType}`).join(', '), rows };
}

/** Byte ranges holding values (uncompressed buffers): a change there is a different table, not a damaged one. */
export function valueRanges(bytes: Uint8Array): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isFile = bytes.length >= 6 && Buffer.from(bytes.subarray(0, 6)).toString('latin1') === 'ARROW1';
  // CSV: all text
  if (!isFile && !(bytes.length >= 4 && view.getUint32(0, true) === 0xffffffff)) return [[0, bytes.length]];
  let pos = isFile ? 8 : 0;
  while (pos + 8 <= bytes.length) {
    if (view.getUint32(pos, true) === 0xffffffff) pos += 4;
    const length = view.getInt32(pos, true);
    pos += 4;
    if (length <= 0 || pos + length > bytes.length) break;
    const message = Message.getRootAsMessage(new flatbuffers.ByteBuffer(bytes.subarray(pos, pos + length)));
    const bodyStart = pos + length;
    let batch: FbRecordBatch | null = null;
    if (message.headerType() === MessageHeader.RecordBatch)
      batch = message.header(new FbRecordBatch()) as FbRecordBatch;
    if (message.headerType() === MessageHeader.DictionaryBatch)
      batch = (message.header(new FbDictionaryBatch()) as FbDictionaryBatch).data();
    if (batch) {
      const compressed = batch.compression() as BodyCompression | null;
      for (let i = 0; i < batch.buffersLength(); i++) {
        const b = batch.buffers(i)!;
        const start = bodyStart + Number(b.offset());
        // a compressed buffer's 8-byte length prefix is structure; its compressed bytes may hide changes
        ranges.push([compressed && Number(b.length()) >= 8 ? start + 8 : start, start + Number(b.length())]);
      }
    }
    pos = bodyStart + Number(message.bodyLength());
  }
  return ranges;
}

export type Verdict =
  { readonly ok: true; readonly outcome: string } | { readonly ok: false; readonly problem: string };

function hasReplacementChar(reading: Reading): boolean {
  return JSON.stringify(reading.rows).includes('\ufffd');
}

/** Judges one mutant's reading against the original's. */
export async function judge(
  fixture: FuzzFixture,
  original: Reading,
  mutant: string,
  inValues: boolean,
): Promise<Verdict> {
  let reading: Reading;
  try {
    reading = await readTable(mutant, fixture.csvKinds);
  } catch (error) {
    if (error instanceof TableError && error.message.startsWith(`${mutant}:`) && !/\n\s+at /.test(error.message))
      return { ok: true, outcome: 'error' };
    return { ok: false, problem: `threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` };
  }
  if (isDeepStrictEqual(reading, original)) return { ok: true, outcome: 'same' };
  if (hasReplacementChar(reading) && !hasReplacementChar(original))
    return { ok: false, problem: 'a string holds U+FFFD: bytes that are not UTF-8 passed silently' };
  if (inValues) return { ok: true, outcome: 'other values (value bytes changed)' };
  if (reading.columns !== original.columns) return { ok: true, outcome: 'other schema' };
  const firstDiff = reading.rows.findIndex((row, i) => !isDeepStrictEqual(row, original.rows[i]));
  return {
    ok: false,
    problem:
      `read without error but gave other values under the same schema (${reading.rows.length} rows vs ` +
      `${original.rows.length}; first difference at row ${firstDiff}: ` +
      `${JSON.stringify(reading.rows[firstDiff])?.slice(0, 200)} vs ` +
      `${JSON.stringify(original.rows[firstDiff])?.slice(0, 200)})`,
  };
}

export interface Mutation {
  readonly describe: string;
  readonly bytes: Uint8Array;
  readonly inValues: boolean;
}

/** One mutant of `bytes`: a bit flip, a random byte, a run of random bytes, or a truncation. */
export function mutate(bytes: Uint8Array, random: () => number, ranges: Array<[number, number]>): Mutation {
  const at = Math.floor(random() * bytes.length);
  const inValues = (position: number) => ranges.some(([a, b]) => position >= a && position < b);
  const kind = random();
  const copy = new Uint8Array(bytes);
  if (kind < 0.1) {
    const length = Math.floor(random() * bytes.length);
    // a CSV has no end marker: cut anywhere, it is a shorter table (Arrow files lose their footer)
    const csv = ranges.length === 1 && ranges[0]![0] === 0 && ranges[0]![1] === bytes.length;
    return { describe: `truncated to ${length} bytes`, bytes: bytes.slice(0, length), inValues: csv };
  }
  if (kind < 0.6) {
    const bit = Math.floor(random() * 8);
    copy[at] = copy[at]! ^ (1 << bit);
    return { describe: `bit ${bit} of byte ${at} flipped`, bytes: copy, inValues: inValues(at) };
  }
  if (kind < 0.9) {
    const value = Math.floor(random() * 256);
    copy[at] = value;
    return { describe: `byte ${at} set to ${value}`, bytes: copy, inValues: inValues(at) };
  }
  const run = 1 + Math.floor(random() * 8);
  let touchesValues = false;
  for (let i = at; i < Math.min(bytes.length, at + run); i++) {
    copy[i] = Math.floor(random() * 256);
    touchesValues ||= inValues(i);
  }
  return { describe: `${run} bytes from ${at} randomised`, bytes: copy, inValues: touchesValues };
}

/** Progress reports, so a caller can tell which mutant hangs. */
export type FuzzEvent =
  | { readonly type: 'start'; readonly fixture: string; readonly index: number; readonly describe: string }
  | {
      readonly type: 'result';
      readonly fixture: string;
      readonly index: number;
      readonly verdict: Verdict;
      readonly describe: string;
    };

/** Runs `runs` mutants of each fixture; `report` sees each before and after it is read. */
export async function fuzzFixtures(
  fixtures: readonly FuzzFixture[],
  options: { seed: number; runs: number; dir: string },
  report: (event: FuzzEvent) => void,
): Promise<void> {
  mkdirSync(options.dir, { recursive: true });
  for (const [f, fixture] of fixtures.entries()) {
    const bytes = new Uint8Array(readFileSync(fixture.file));
    const original = await readTable(fixture.file, fixture.csvKinds);
    const ranges = valueRanges(bytes);
    const random = prng(options.seed + f * 7919);
    const mutant = path.join(options.dir, `mutant-${f}${path.extname(fixture.file)}`);
    for (let index = 0; index < options.runs; index++) {
      const mutation = mutate(bytes, random, ranges);
      writeFileSync(mutant, mutation.bytes);
      report({ type: 'start', fixture: fixture.name, index, describe: mutation.describe });
      const verdict = await judge(fixture, original, mutant, mutation.inValues);
      report({ type: 'result', fixture: fixture.name, index, verdict, describe: mutation.describe });
    }
  }
}
