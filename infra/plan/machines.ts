/**
 * The one machine table: every Compute Engine machine type the stack plans for, with its vCPUs,
 * memory, boot disk types and hourly price, all derived from one row per family and shape (the
 * way pulumi-awsx keeps Fargate's sizes and prices in one module). Pure.
 *
 * Compute Engine prices a predefined machine type as its vCPUs plus its memory at per-family unit
 * prices, so a family row holds the unit prices (on-demand and spot) and each shape the sizes and
 * the memory per vCPU. Shared-core e2 types have flat prices. GPU machines (g2, and GPUs attached
 * to n1) carry no price: the estimate says it leaves them out.
 *
 * PRICES: us-central1 list prices, USD per vCPU-hour and GiB-hour; never fetched live, approximate.
 * - On-demand: recorded 2025-06 from Google Cloud's public Compute Engine pricing pages, and checked
 *   again on 2026-12-02 against the newest copy this project's machine could reach (it cannot reach
 *   the web): a public price book dated 2026-09-25, found through the project's code search, lists
 *   the same e2, n1, n2, n2d, t2d and c3 figures; c2 was not in it and is as recorded in 2025-06.
 * - Spot: as recorded in 2025-06, not checked again (no newer source was reachable); Google changes
 *   spot prices up to once a month, so treat them as a rough guide.
 * Other regions cost 5–30 % more; discounts (sustained/committed use) are not applied. To refresh,
 * update the rows and both dates together (test/infra.pricing.test.ts checks the shapes).
 */

/** Month the on-demand unit prices below were last checked (see the module comment). */
export const PRICES_AS_OF = '2026-09';
/** Month the spot unit prices below were recorded. */
export const SPOT_PRICES_AS_OF = '2025-06';
/** Region whose list prices the table holds. */
export const PRICE_REGION = 'us-central1';

export type MachineShape = 'standard' | 'highmem' | 'highcpu' | 'shared-core';

/** USD per hour for one node of a machine type. */
export interface MachinePrice {
  readonly onDemand: number;
  readonly spot: number;
}

export interface MachineType {
  readonly name: string;
  /** The series, e.g. "e2", "n2d". */
  readonly family: string;
  readonly shape: MachineShape;
  readonly vcpus: number;
  /** Memory in GiB (Compute Engine's "GB" here are GiB). */
  readonly memoryGiB: number;
  /** Shared-core types burst above a fractional vCPU: their CPU cannot be planned per worker. */
  readonly sharedCore: boolean;
  /** GPUs that come with the machine type (g2), if any. */
  readonly attachedGpus?: { readonly type: string; readonly count: number };
  /** List price per hour; undefined for GPU machines (not priced). */
  readonly price?: MachinePrice;
}

/** USD per hour for one vCPU and for one GiB of memory. */
interface UnitPrices {
  readonly vcpu: number;
  readonly gib: number;
}

interface FamilyRow {
  readonly family: string;
  /** Boot disk types the family supports. */
  readonly disks: readonly string[];
  /** Unit prices; absent for families the estimate does not price (g2 comes with GPUs). */
  readonly prices?: { readonly onDemand: UnitPrices; readonly spot: UnitPrices };
  readonly shapes: ReadonlyArray<{
    readonly shape: Exclude<MachineShape, 'shared-core'>;
    /** GiB per vCPU. */
    readonly ratio: number;
    readonly vcpus: readonly number[];
  }>;
}

const PD = ['pd-standard', 'pd-balanced', 'pd-ssd'] as const;

const FAMILIES: readonly FamilyRow[] = [
  {
    family: 'e2',
    disks: PD,
    prices: { onDemand: { vcpu: 0.021811, gib: 0.002923 }, spot: { vcpu: 0.006543, gib: 0.000877 } },
    shapes: [
      { shape: 'standard', ratio: 4, vcpus: [2, 4, 8, 16, 32] },
      { shape: 'highmem', ratio: 8, vcpus: [2, 4, 8, 16] },
      { shape: 'highcpu', ratio: 1, vcpus: [2, 4, 8, 16, 32] },
    ],
  },
  {
    family: 'n2',
    disks: [...PD, 'hyperdisk-balanced'],
    prices: { onDemand: { vcpu: 0.031611, gib: 0.004237 }, spot: { vcpu: 0.00765, gib: 0.001025 } },
    shapes: [
      { shape: 'standard', ratio: 4, vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128] },
      { shape: 'highmem', ratio: 8, vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128] },
      { shape: 'highcpu', ratio: 1, vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96] },
    ],
  },
  {
    family: 'n2d',
    disks: PD,
    prices: { onDemand: { vcpu: 0.027502, gib: 0.003686 }, spot: { vcpu: 0.006655, gib: 0.000892 } },
    shapes: [
      { shape: 'standard', ratio: 4, vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224] },
      { shape: 'highmem', ratio: 8, vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96] },
      { shape: 'highcpu', ratio: 1, vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224] },
    ],
  },
  {
    family: 'c2',
    disks: PD,
    prices: { onDemand: { vcpu: 0.03398, gib: 0.00455 }, spot: { vcpu: 0.00822, gib: 0.001101 } },
    shapes: [{ shape: 'standard', ratio: 4, vcpus: [4, 8, 16, 30, 60] }],
  },
  {
    family: 'c3',
    disks: ['pd-balanced', 'pd-ssd', 'hyperdisk-balanced'],
    prices: { onDemand: { vcpu: 0.03465, gib: 0.003938 }, spot: { vcpu: 0.0114, gib: 0.001296 } },
    shapes: [
      { shape: 'standard', ratio: 4, vcpus: [4, 8, 22, 44, 88, 176] },
      { shape: 'highmem', ratio: 8, vcpus: [4, 8, 22, 44, 88, 176] },
      { shape: 'highcpu', ratio: 2, vcpus: [4, 8, 22, 44, 88, 176] },
    ],
  },
  {
    family: 't2d',
    disks: PD,
    prices: { onDemand: { vcpu: 0.027502, gib: 0.003686 }, spot: { vcpu: 0.006655, gib: 0.000892 } },
    shapes: [{ shape: 'standard', ratio: 4, vcpus: [1, 2, 4, 8, 16, 32, 48, 60] }],
  },
  {
    family: 'n1',
    disks: PD,
    prices: { onDemand: { vcpu: 0.031611, gib: 0.004237 }, spot: { vcpu: 0.00698, gib: 0.000936 } },
    shapes: [
      { shape: 'standard', ratio: 3.75, vcpus: [1, 2, 4, 8, 16, 32, 64, 96] },
      { shape: 'highmem', ratio: 6.5, vcpus: [2, 4, 8, 16, 32, 64, 96] },
      { shape: 'highcpu', ratio: 0.9, vcpus: [2, 4, 8, 16, 32, 64, 96] },
    ],
  },
];

/** g2 machines come with a fixed number of L4 GPUs (not priced). */
const G2: ReadonlyArray<readonly [vcpus: number, memoryGiB: number, gpus: number]> = [
  [4, 16, 1],
  [8, 32, 1],
  [12, 48, 1],
  [16, 64, 1],
  [24, 96, 2],
  [32, 128, 1],
  [48, 192, 4],
  [96, 384, 8],
];

/** Shared-core e2 types: a fraction of a vCPU, priced flat. */
const SHARED_CORE: ReadonlyArray<readonly [name: string, memoryGiB: number, price: MachinePrice]> = [
  ['e2-micro', 1, { onDemand: 0.008376, spot: 0.002513 }],
  ['e2-small', 2, { onDemand: 0.016751, spot: 0.005025 }],
  ['e2-medium', 4, { onDemand: 0.033503, spot: 0.010051 }],
];

/** Keeps sums like 4 × 0.021811 + 16 × 0.002923 at the table's precision instead of 0.13401199999999999. */
export const roundMicro = (usd: number): number => Math.round(usd * 1e6) / 1e6;

function priceOf(units: NonNullable<FamilyRow['prices']>, vcpus: number, gib: number): MachinePrice {
  return {
    onDemand: roundMicro(vcpus * units.onDemand.vcpu + gib * units.onDemand.gib),
    spot: roundMicro(vcpus * units.spot.vcpu + gib * units.spot.gib),
  };
}

function buildTable(): ReadonlyMap<string, MachineType> {
  const table = new Map<string, MachineType>();
  for (const { family, prices, shapes } of FAMILIES) {
    for (const { shape, ratio, vcpus } of shapes) {
      for (const n of vcpus) {
        const name = `${family}-${shape}-${n}`;
        const memoryGiB = n * ratio;
        const price = prices ? priceOf(prices, n, memoryGiB) : undefined;
        table.set(name, { name, family, shape, vcpus: n, memoryGiB, sharedCore: false, price });
      }
    }
  }
  for (const [vcpus, memoryGiB, gpus] of G2) {
    const name = `g2-standard-${vcpus}`;
    const attachedGpus = { type: 'nvidia-l4', count: gpus };
    table.set(name, { name, family: 'g2', shape: 'standard', vcpus, memoryGiB, sharedCore: false, attachedGpus });
  }
  for (const [name, memoryGiB, price] of SHARED_CORE) {
    table.set(name, { name, family: 'e2', shape: 'shared-core', vcpus: 2, memoryGiB, sharedCore: true, price });
  }
  return table;
}

export const MACHINE_TYPES: ReadonlyMap<string, MachineType> = buildTable();

export function machineType(name: string): MachineType | undefined {
  return MACHINE_TYPES.get(name);
}

export const MACHINE_FAMILIES: readonly string[] = [...new Set([...MACHINE_TYPES.values()].map((t) => t.family))];

/** Boot disk types each family supports (c3 has no pd-standard; hyperdisk only where offered). */
export const DISK_TYPES: Readonly<Record<string, readonly string[]>> = Object.fromEntries([
  ...FAMILIES.map((f) => [f.family, f.disks] as const),
  ['g2', ['pd-balanced', 'pd-ssd']],
]);

export interface AcceleratorType {
  readonly type: string;
  /** Short name for messages. */
  readonly label: string;
  /** Machine families it can be attached to. */
  readonly families: readonly string[];
  /** GPUs per node allowed; undefined when the machine type fixes the count (g2). */
  readonly counts?: readonly number[];
  /** Most vCPUs the machine may have per GPU count (n1's attach rules); undefined: no such rule. */
  readonly maxVcpusPerCount?: Readonly<Record<number, number>>;
}

/** n1 + T4: most vCPUs per attached GPU count (Compute Engine's GPU platform table). */
const N1_SMALL_GPU_VCPUS: Readonly<Record<number, number>> = { 1: 48, 2: 48, 4: 96 };
const N1_V100_VCPUS: Readonly<Record<number, number>> = { 1: 12, 2: 24, 4: 48, 8: 96 };

/** GPUs GKE attaches to node pools (guest accelerators), with the machine families that take them. */
export const ACCELERATOR_TYPES: ReadonlyMap<string, AcceleratorType> = new Map(
  (
    [
      {
        type: 'nvidia-tesla-t4',
        label: 'T4',
        families: ['n1'],
        counts: [1, 2, 4],
        maxVcpusPerCount: N1_SMALL_GPU_VCPUS,
      },
      {
        type: 'nvidia-tesla-v100',
        label: 'V100',
        families: ['n1'],
        counts: [1, 2, 4, 8],
        maxVcpusPerCount: N1_V100_VCPUS,
      },
      {
        type: 'nvidia-tesla-p100',
        label: 'P100',
        families: ['n1'],
        counts: [1, 2, 4],
        maxVcpusPerCount: { 1: 16, 2: 32, 4: 64 },
      },
      {
        type: 'nvidia-tesla-p4',
        label: 'P4',
        families: ['n1'],
        counts: [1, 2, 4],
        maxVcpusPerCount: { 1: 24, 2: 48, 4: 96 },
      },
      { type: 'nvidia-l4', label: 'L4', families: ['g2'] },
    ] satisfies AcceleratorType[]
  ).map((a) => [a.type, a]),
);
