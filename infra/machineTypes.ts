/**
 * Compute Engine machine types the sizing knows: vCPUs and memory per type, by family and shape.
 * Sources: the Compute Engine machine family pages (general-purpose e2/n2/n2d/n1/t2d,
 * compute-optimized c2/c3, accelerator-optimized g2). All are x86-64.
 */

export type MachineShape = 'standard' | 'highmem' | 'highcpu' | 'shared-core';

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
}

interface FamilyShape {
  readonly family: string;
  readonly shape: Exclude<MachineShape, 'shared-core'>;
  readonly vcpus: readonly number[];
  /** GiB per vCPU. */
  readonly ratio: number;
}

const SHAPES: readonly FamilyShape[] = [
  { family: 'e2', shape: 'standard', vcpus: [2, 4, 8, 16, 32], ratio: 4 },
  { family: 'e2', shape: 'highmem', vcpus: [2, 4, 8, 16], ratio: 8 },
  { family: 'e2', shape: 'highcpu', vcpus: [2, 4, 8, 16, 32], ratio: 1 },
  { family: 'n2', shape: 'standard', vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128], ratio: 4 },
  { family: 'n2', shape: 'highmem', vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128], ratio: 8 },
  { family: 'n2', shape: 'highcpu', vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96], ratio: 1 },
  { family: 'n2d', shape: 'standard', vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224], ratio: 4 },
  { family: 'n2d', shape: 'highmem', vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96], ratio: 8 },
  { family: 'n2d', shape: 'highcpu', vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224], ratio: 1 },
  { family: 'c2', shape: 'standard', vcpus: [4, 8, 16, 30, 60], ratio: 4 },
  { family: 'c3', shape: 'standard', vcpus: [4, 8, 22, 44, 88, 176], ratio: 4 },
  { family: 'c3', shape: 'highmem', vcpus: [4, 8, 22, 44, 88, 176], ratio: 8 },
  { family: 'c3', shape: 'highcpu', vcpus: [4, 8, 22, 44, 88, 176], ratio: 2 },
  { family: 't2d', shape: 'standard', vcpus: [1, 2, 4, 8, 16, 32, 48, 60], ratio: 4 },
  { family: 'n1', shape: 'standard', vcpus: [1, 2, 4, 8, 16, 32, 64, 96], ratio: 3.75 },
  { family: 'n1', shape: 'highmem', vcpus: [2, 4, 8, 16, 32, 64, 96], ratio: 6.5 },
  { family: 'n1', shape: 'highcpu', vcpus: [2, 4, 8, 16, 32, 64, 96], ratio: 0.9 },
];

/** g2 machines come with a fixed number of L4 GPUs. */
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

const SHARED_CORE: readonly MachineType[] = [
  { name: 'e2-micro', family: 'e2', shape: 'shared-core', vcpus: 2, memoryGiB: 1, sharedCore: true },
  { name: 'e2-small', family: 'e2', shape: 'shared-core', vcpus: 2, memoryGiB: 2, sharedCore: true },
  { name: 'e2-medium', family: 'e2', shape: 'shared-core', vcpus: 2, memoryGiB: 4, sharedCore: true },
];

function buildTable(): ReadonlyMap<string, MachineType> {
  const table = new Map<string, MachineType>();
  for (const { family, shape, vcpus, ratio } of SHAPES) {
    for (const n of vcpus) {
      const name = `${family}-${shape}-${n}`;
      table.set(name, { name, family, shape, vcpus: n, memoryGiB: n * ratio, sharedCore: false });
    }
  }
  for (const [vcpus, memoryGiB, gpus] of G2) {
    const name = `g2-standard-${vcpus}`;
    table.set(name, {
      name,
      family: 'g2',
      shape: 'standard',
      vcpus,
      memoryGiB,
      sharedCore: false,
      attachedGpus: { type: 'nvidia-l4', count: gpus },
    });
  }
  for (const type of SHARED_CORE) table.set(type.name, type);
  return table;
}

export const MACHINE_TYPES: ReadonlyMap<string, MachineType> = buildTable();

export function machineType(name: string): MachineType | undefined {
  return MACHINE_TYPES.get(name);
}

export const MACHINE_FAMILIES: readonly string[] = [...new Set([...MACHINE_TYPES.values()].map((t) => t.family))];

/** Boot disk types each family supports (c3 has no pd-standard; hyperdisk only where offered). */
export const DISK_TYPES: Readonly<Record<string, readonly string[]>> = {
  e2: ['pd-standard', 'pd-balanced', 'pd-ssd'],
  n2: ['pd-standard', 'pd-balanced', 'pd-ssd', 'hyperdisk-balanced'],
  n2d: ['pd-standard', 'pd-balanced', 'pd-ssd'],
  n1: ['pd-standard', 'pd-balanced', 'pd-ssd'],
  c2: ['pd-standard', 'pd-balanced', 'pd-ssd'],
  c3: ['pd-balanced', 'pd-ssd', 'hyperdisk-balanced'],
  t2d: ['pd-standard', 'pd-balanced', 'pd-ssd'],
  g2: ['pd-balanced', 'pd-ssd'],
};

export interface AcceleratorType {
  readonly type: string;
  /** Short name for messages. */
  readonly label: string;
  /** Machine families it can be attached to. */
  readonly families: readonly string[];
  /** GPUs per node allowed; undefined when the machine type fixes the count (g2). */
  readonly counts?: readonly number[];
}

/** GPUs GKE attaches to node pools (guest accelerators), with the machine families that take them. */
export const ACCELERATOR_TYPES: ReadonlyMap<string, AcceleratorType> = new Map(
  [
    { type: 'nvidia-tesla-t4', label: 'T4', families: ['n1'], counts: [1, 2, 4] },
    { type: 'nvidia-tesla-v100', label: 'V100', families: ['n1'], counts: [1, 2, 4, 8] },
    { type: 'nvidia-tesla-p100', label: 'P100', families: ['n1'], counts: [1, 2, 4] },
    { type: 'nvidia-tesla-p4', label: 'P4', families: ['n1'], counts: [1, 2, 4] },
    { type: 'nvidia-l4', label: 'L4', families: ['g2'] },
  ].map((a) => [a.type, a]),
);
