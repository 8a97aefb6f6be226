/**
 * Page-by-page reading of flat Parquet columns with hyparquet's page decoder: each column chunk's
 * bytes are read once, its dictionary page decoded once, and its data pages one at a time as rows
 * are taken, so what sits in memory is one decoded page per column (pyarrow writes pages of
 * 20,000 rows) instead of every page of a row group slice, decoded again for every slice.
 */
import type {
  AsyncBuffer,
  ColumnChunk,
  Compressors,
  DecodedArray,
  ParquetParsers,
  SchemaElement,
  SchemaTree,
} from 'hyparquet';
import { parquetHeader, readPage } from 'hyparquet/src/column.js';
import { convert, DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { getTreePath, isFlatColumn } from 'hyparquet/src/schema.js';

type ColumnDecoder = Parameters<typeof readPage>[2];

export interface PageReadOptions {
  readonly compressors: Compressors;
  readonly parsers: Partial<ParquetParsers>;
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A page of numbers (int64 as bigint within ±2^53 − 1, nulls as NaN: both are JSON null) as one
 * Float64Array: a page outlives several young-generation collections while its rows are taken, and
 * 20,000 heap numbers or BigInts promoted to the old generation each time is where the memory went.
 * Anything else (strings, booleans, a bigint beyond 2^53, whose cell reports the error) stays as decoded.
 */
export function compact(data: DecodedArray): DecodedArray {
  if (data instanceof Float64Array || data instanceof Float32Array || data instanceof Int32Array) return data;
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const value: unknown = data[i];
    if (typeof value === 'number') out[i] = value;
    else if (value === null || value === undefined) out[i] = NaN;
    else if (typeof value === 'bigint' && value <= SAFE && value >= -SAFE) out[i] = Number(value);
    else return data;
  }
  return out;
}

/**
 * A page of strings as its UTF-8 bytes end to end and where each value starts (`starts[i]`, −1 for
 * null; value i ends where the next non-null one starts): strings are decoded as rows are taken,
 * so they die young instead of 20,000 of them (and their byte views) outliving the page's rows.
 */
class StringPage {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly starts: Int32Array,
    private readonly ends: Int32Array,
    private readonly decode: (bytes: Uint8Array) => unknown,
  ) {}

  get length(): number {
    return this.starts.length;
  }

  at(i: number): unknown {
    const start = this.starts[i]!;
    return start < 0 ? null : this.decode(this.bytes.subarray(start, this.ends[i]));
  }

  /** The page's values as hyparquet decoded them (byte views or null), packed; undefined if not all bytes. */
  static pack(data: DecodedArray, decode: (bytes: Uint8Array) => unknown): StringPage | undefined {
    let total = 0;
    for (let i = 0; i < data.length; i++) {
      const value: unknown = data[i];
      if (value instanceof Uint8Array) total += value.length;
      else if (value !== null && value !== undefined) return undefined;
    }
    const bytes = new Uint8Array(total);
    const starts = new Int32Array(data.length);
    const ends = new Int32Array(data.length);
    let at = 0;
    for (let i = 0; i < data.length; i++) {
      const value: unknown = data[i];
      if (!(value instanceof Uint8Array)) {
        starts[i] = -1;
        continue;
      }
      bytes.set(value, at);
      starts[i] = at;
      at += value.length;
      ends[i] = at;
    }
    return new StringPage(bytes, starts, ends, decode);
  }
}

/** A dictionary-encoded page of strings: each row's entry in the column's packed dictionary (−1: null). */
class DictionaryPage {
  constructor(
    private readonly indices: Int32Array,
    private readonly dictionary: StringPage,
  ) {}

  get length(): number {
    return this.indices.length;
  }

  at(i: number): unknown {
    const index = this.indices[i]!;
    return index < 0 ? null : this.dictionary.at(index);
  }

  static of(data: DecodedArray, dictionary: StringPage, column: string): DictionaryPage {
    const indices = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const value: unknown = data[i];
      if (value === null || value === undefined) indices[i] = -1;
      else if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < dictionary.length)
        indices[i] = value;
      else
        throw new Error(
          `a page of column "${column}" refers to entry ${String(value)} of a ${dictionary.length}-entry dictionary`,
        );
    }
    return new DictionaryPage(indices, dictionary);
  }
}

/** The columns hyparquet's `convert` turns into strings with `stringFromBytes` (not JSON, UUID, geometry...). */
function isStringColumn(element: SchemaElement): boolean {
  const ctype = element.converted_type;
  const ltype = element.logical_type?.type;
  if (ctype === 'JSON' || ctype === 'BSON' || ctype === 'DECIMAL' || ctype === 'INTERVAL') return false;
  if (ltype === 'GEOMETRY' || ltype === 'GEOGRAPHY' || ltype === 'UUID' || ltype === 'VARIANT') return false;
  return true;
}

/** True when every column is flat (no lists, maps or structs): the page cursors can read it. */
export function allColumnsFlat(tree: SchemaTree): boolean {
  return tree.children.every((child) => isFlatColumn([tree, child]));
}

/** One flat column of one row group: `take(n)` decodes pages as it needs them. */
export class ColumnPages {
  private readonly reader: { view: DataView; offset: number };
  private readonly decoder: ColumnDecoder;
  private dictionary: DecodedArray | undefined;
  /** A string column's dictionary, packed; its pages then decode to indices into it. */
  private strings: StringPage | undefined;
  private page: DecodedArray | StringPage | DictionaryPage = [];
  /** The parser strings would have gone through: applied as rows are taken. */
  private readonly decodeString: ((bytes: Uint8Array) => unknown) | undefined;
  private used = 0;
  private rows = 0;

  private constructor(
    readonly name: string,
    bytes: ArrayBuffer,
    decoder: ColumnDecoder,
    private readonly groupRows: number,
    decodeString?: (bytes: Uint8Array) => unknown,
  ) {
    this.reader = { view: new DataView(bytes), offset: 0 };
    this.decoder = decoder;
    this.decodeString = decodeString;
  }

  /** Reads the column chunk's bytes (compressed: what the file holds) and returns its cursor. */
  static async open(
    file: AsyncBuffer,
    tree: SchemaTree,
    chunk: ColumnChunk,
    groupRows: number,
    options: PageReadOptions,
  ): Promise<ColumnPages> {
    const meta = chunk.meta_data;
    if (!meta) throw new Error('a column chunk has no metadata');
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    const bytes = await file.slice(start, start + Number(meta.total_compressed_size));
    const schemaPath = getTreePath(tree, meta.path_in_schema);
    const parsers = { ...DEFAULT_PARSERS, ...options.parsers };
    const element = schemaPath[schemaPath.length - 1]!.element;
    // strings stay bytes through hyparquet's decoder (its parser is the identity) and are packed per page
    const strings = meta.type === 'BYTE_ARRAY' && isStringColumn(element);
    const decoder: ColumnDecoder = {
      pathInSchema: meta.path_in_schema,
      element,
      schemaPath,
      type: meta.type,
      codec: meta.codec,
      compressors: options.compressors,
      parsers: strings ? { ...parsers, stringFromBytes: (b: Uint8Array) => b as unknown as string } : parsers,
    };
    const decode = strings ? (b: Uint8Array): unknown => parsers.stringFromBytes(b) : undefined;
    return new ColumnPages(meta.path_in_schema.join('.'), bytes, decoder, groupRows, decode);
  }

  /** The next `count` values, in row order; throws when the chunk holds fewer rows than its group. */
  take(count: number): unknown[] {
    const out: unknown[] = new Array<unknown>(count);
    let filled = 0;
    while (filled < count) {
      if (this.used === this.page.length) this.nextPage();
      const page = this.page;
      const n = Math.min(count - filled, page.length - this.used);
      if (page instanceof StringPage || page instanceof DictionaryPage)
        for (let i = 0; i < n; i++) out[filled + i] = page.at(this.used + i);
      else for (let i = 0; i < n; i++) out[filled + i] = page[this.used + i];
      this.used += n;
      filled += n;
    }
    return out;
  }

  private nextPage(): void {
    const { reader, decoder } = this;
    for (;;) {
      if (this.rows >= this.groupRows || reader.offset >= reader.view.byteLength - 1) {
        throw new Error(`column "${this.name}" holds ${this.rows} rows where its row group has ${this.groupRows}`);
      }
      const header = parquetHeader(reader);
      if (reader.offset + header.compressed_page_size > reader.view.byteLength) {
        throw new Error(`a page of column "${this.name}" runs past the end of its column chunk`);
      }
      if (header.type === 'DICTIONARY_PAGE') {
        const { data } = readPage(reader, header, decoder, undefined, undefined, 0);
        if (!data) continue;
        const dictionary = convert(data, decoder);
        if (this.decodeString) this.strings = StringPage.pack(dictionary, this.decodeString);
        this.dictionary = this.strings ? undefined : dictionary;
        continue;
      }
      const encoding = header.data_page_header?.encoding ?? header.data_page_header_v2?.encoding ?? '';
      // a string column's dictionary-encoded page: hyparquet leaves the indices (no dictionary, identity parser)
      const indices = this.strings !== undefined && encoding.endsWith('_DICTIONARY');
      const { data } = readPage(reader, header, decoder, indices ? undefined : this.dictionary, undefined, 0);
      if (!data || data.length === 0) continue;
      // a page past the group's last row would be ignored by hyparquet's own reader too
      const values = data.length > this.groupRows - this.rows ? data.slice(0, this.groupRows - this.rows) : data;
      if (indices) this.page = DictionaryPage.of(values, this.strings!, this.name);
      else this.page = (this.decodeString && StringPage.pack(values, this.decodeString)) || compact(values);
      this.used = 0;
      this.rows += this.page.length;
      return;
    }
  }
}
