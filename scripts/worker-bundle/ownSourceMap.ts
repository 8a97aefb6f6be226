/**
 * Cuts a bundle's source map down to our own sources. Stack traces then name TypeScript files and
 * lines for the frames in our code, while the bundled packages' frames keep their bundle position and
 * function name (esbuild's keepNames): the packages' mappings were most of the map's megabytes.
 *
 * A source map's `mappings` is one line of segments per generated line, each segment base64 VLQ
 * fields relative to the previous segment: generated column, then optionally source index, original
 * line, original column and name index. A dropped segment becomes a one-field "unmapped" segment, so
 * the code after it does not borrow the mapping of the own code before it.
 */

export interface SourceMapV3 {
  readonly version: 3;
  readonly sources: readonly string[];
  readonly names: readonly string[];
  readonly mappings: string;
  readonly [field: string]: unknown;
}

const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT_VALUE = new Map([...DIGITS].map((digit, value) => [digit, value]));

function decodeSegment(text: string): number[] {
  const fields: number[] = [];
  let value = 0;
  let shift = 0;
  for (const digit of text) {
    const bits = DIGIT_VALUE.get(digit);
    if (bits === undefined) throw new Error(`source map: "${digit}" is not a base64 VLQ digit`);
    value += (bits & 31) * 2 ** shift;
    shift += 5;
    if (bits & 32) continue;
    fields.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
    value = 0;
    shift = 0;
  }
  return fields;
}

function encodeField(field: number): string {
  let rest = field < 0 ? -field * 2 + 1 : field * 2;
  let text = '';
  do {
    const low = rest % 32;
    rest = Math.floor(rest / 32);
    text += DIGITS[rest > 0 ? low + 32 : low];
  } while (rest > 0);
  return text;
}

/** The map with the mappings (and names) of the sources `keep` accepts only. */
export function keepSources(map: SourceMapV3, keep: (source: string) => boolean): SourceMapV3 {
  const sourceIndex = new Map<number, number>();
  const sources: string[] = [];
  map.sources.forEach((source, index) => {
    if (!keep(source)) return;
    sourceIndex.set(index, sources.length);
    sources.push(source);
  });
  const nameIndex = new Map<number, number>();
  const names: string[] = [];

  // Absolute values, decoded (`from*`) and as re-encoded (`to*`); VLQ deltas run across lines.
  let [fromSource, fromLine, fromColumn, fromName] = [0, 0, 0, 0];
  let [toSource, toLine, toColumn, toName] = [0, 0, 0, 0];
  let lastWasOwn = false;
  const lines = map.mappings.split(';').map((line) => {
    let generatedColumn = 0;
    let toGeneratedColumn = 0;
    const kept: string[] = [];
    for (const segment of line === '' ? [] : line.split(',')) {
      const fields = decodeSegment(segment);
      generatedColumn += fields[0]!;
      if (fields.length >= 4) {
        fromSource += fields[1]!;
        fromLine += fields[2]!;
        fromColumn += fields[3]!;
      }
      if (fields.length >= 5) fromName += fields[4]!;
      const source = fields.length >= 4 ? sourceIndex.get(fromSource) : undefined;
      if (source === undefined) {
        if (!lastWasOwn) continue;
        kept.push(encodeField(generatedColumn - toGeneratedColumn));
        toGeneratedColumn = generatedColumn;
        lastWasOwn = false;
        continue;
      }
      let text =
        encodeField(generatedColumn - toGeneratedColumn) +
        encodeField(source - toSource) +
        encodeField(fromLine - toLine) +
        encodeField(fromColumn - toColumn);
      [toGeneratedColumn, toSource, toLine, toColumn] = [generatedColumn, source, fromLine, fromColumn];
      if (fields.length >= 5) {
        const name = nameIndex.get(fromName) ?? names.push(map.names[fromName]!) - 1;
        nameIndex.set(fromName, name);
        text += encodeField(name - toName);
        toName = name;
      }
      kept.push(text);
      lastWasOwn = true;
    }
    return kept.join(',');
  });
  return { ...map, sources, names, mappings: lines.join(';') };
}

/** Our sources are the ones outside node_modules (esbuild writes them relative to the map). */
export function isOwnSource(source: string): boolean {
  return !source.split('/').includes('node_modules');
}
