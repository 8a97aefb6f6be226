/**
 * Which of many keys exist, without one request per key: the skip filter's engine.
 *
 * The rule (docs/storage.md, "Skipping finished rows"), per call with N keys:
 *   1. Keys under a prefix already listed completely by this index are answered from that
 *      listing: no request.
 *   2. Fewer than MIN_KEYS_TO_LIST keys, or a prefix that an earlier listing found too big:
 *      one check per key (existsMany).
 *   3. Otherwise list the keys' longest common prefix, allowing the listing as many requests as
 *      the per-key way would make (a page of 1,000 objects per request, so up to 1,000 × N
 *      objects). A listing that finishes is kept for later calls; one that runs over its budget
 *      is dropped, the prefix is remembered as too big, and the keys are checked one by one.
 * So a call never costs more than twice the per-key way (and only the first call under a too-big
 * prefix does), and one listing answers every later chunk of a large table.
 *
 * The listing is a snapshot: an object written after it is not seen (its row is queued again,
 * which only means it runs again). Memory: the listed keys (about 100 bytes each), at most
 * MAX_LISTED_KEYS in all; past that, calls fall back to per-key checks.
 */
import { validateKey } from './keys';
import type { Storage } from './types';

/** Objects per listing request on S3 and GCS (and the unit a file:// listing is budgeted in). */
export const LIST_PAGE_OBJECTS = 1000;
/** Below this many keys a listing cannot save much: check each key. */
export const MIN_KEYS_TO_LIST = 50;
/** Keys kept from listings, in all (≈ 200 MB at most; see the benchmark in docs/storage.md). */
export const MAX_LISTED_KEYS = 2_000_000;

export interface ExistingKeysStats {
  /** Listing pages read (1,000 objects each, the last one partial). */
  listPages: number;
  /** Objects listed. */
  listedObjects: number;
  /** Keys checked one by one. */
  keyChecks: number;
  /** Keys answered from a listing. */
  fromListing: number;
}

/** The longest string every key starts with. */
export function commonPrefix(keys: readonly string[]): string {
  if (keys.length === 0) return '';
  let prefix = keys[0]!;
  for (const key of keys) {
    let i = 0;
    const end = Math.min(prefix.length, key.length);
    while (i < end && prefix.charCodeAt(i) === key.charCodeAt(i)) i++;
    prefix = prefix.slice(0, i);
    if (prefix === '') break;
  }
  return prefix;
}

export class ExistingKeys {
  /** Complete listings: prefix → the keys under it. */
  private readonly listings = new Map<string, Set<string>>();
  /** Prefixes whose listing ran over its budget. */
  private readonly tooBig: string[] = [];
  private keptKeys = 0;
  readonly stats: ExistingKeysStats = { listPages: 0, listedObjects: 0, keyChecks: 0, fromListing: 0 };

  constructor(
    private readonly storage: Storage,
    /** Objects a listing may read per key asked (the page size: a listing request per key). */
    private readonly objectsPerKey = LIST_PAGE_OBJECTS,
  ) {}

  /** For each key, in order, whether it exists. */
  async check(keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    // One bad key fails the call before any request, as existsMany does.
    for (const key of keys) validateKey(key, this.storage.url);
    const prefix = commonPrefix(keys);
    const listed = this.listingCovering(prefix) ?? (await this.tryListing(prefix, keys.length));
    if (listed) {
      this.stats.fromListing += keys.length;
      return keys.map((key) => listed.has(key));
    }
    this.stats.keyChecks += keys.length;
    return this.storage.existsMany(keys);
  }

  private listingCovering(prefix: string): Set<string> | undefined {
    for (const [listedPrefix, keys] of this.listings) if (prefix.startsWith(listedPrefix)) return keys;
    return undefined;
  }

  private async tryListing(prefix: string, keyCount: number): Promise<Set<string> | undefined> {
    if (keyCount < MIN_KEYS_TO_LIST) return undefined;
    if (this.tooBig.some((big) => big.startsWith(prefix))) return undefined;
    const budget = Math.min(keyCount * this.objectsPerKey, MAX_LISTED_KEYS - this.keptKeys);
    const found = new Set<string>();
    let complete = true;
    try {
      for await (const { key } of this.storage.list(prefix)) {
        if (found.size >= budget) {
          complete = false;
          break;
        }
        found.add(key);
      }
    } finally {
      this.stats.listedObjects += found.size;
      this.stats.listPages += Math.max(1, Math.ceil(found.size / LIST_PAGE_OBJECTS));
    }
    if (!complete) {
      this.tooBig.push(prefix);
      return undefined;
    }
    // A wider listing replaces the narrower ones it covers.
    for (const listedPrefix of [...this.listings.keys()]) {
      if (listedPrefix.startsWith(prefix)) {
        this.keptKeys -= this.listings.get(listedPrefix)!.size;
        this.listings.delete(listedPrefix);
      }
    }
    this.listings.set(prefix, found);
    this.keptKeys += found.size;
    return found;
  }
}

const indexes = new WeakMap<Storage, ExistingKeys>();

/** The index for one storage (one per opened storage, so one insert run shares its listings). */
export function existingKeysOf(storage: Storage): ExistingKeys {
  let index = indexes.get(storage);
  if (!index) indexes.set(storage, (index = new ExistingKeys(storage)));
  return index;
}
