/**
 * What the worker nodes cost per hour, for the estimate `pulumi preview` prints.
 *
 * Compute Engine prices a predefined machine type as its vCPUs plus its memory, at per-family unit
 * prices; the sizes and the memory per vCPU follow from the type's name. So the table below holds,
 * per family, the unit prices (on-demand and spot) and, per family and class, the sizes and the
 * memory per vCPU. Shared-core e2 types have their own flat prices. GPUs (attached ones, and the
 * g2 types that come with them) are not priced.
 *
 * These are LIST PRICES FOR us-central1 AS RECALLED FROM GOOGLE CLOUD'S PUBLIC PRICING PAGES AROUND
 * {@link PRICES_AS_OF}, NOT FETCHED LIVE: approximate. Spot prices change up to once a month, other
 * regions cost more (typically 5–30 %), committed-use and sustained-use discounts are not applied.
 * The estimate is for choosing between sizes, not for budgeting.
 */

/** Month the prices below were taken (see the module comment). */
export const PRICES_AS_OF = '2025-06';
/** Region whose list prices the table holds. */
export const PRICE_REGION = 'us-central1';
/** One line a preview can print next to an estimate. */
export const PRICE_SOURCE = `${PRICE_REGION} list prices as of ${PRICES_AS_OF}, approximate`;

/** Google bills a month as 730 hours. */
export const HOURS_PER_MONTH = 730;

/** GKE Standard's cluster management fee, per cluster (one zonal cluster per billing account is covered by a monthly credit). */
export const GKE_CLUSTER_FEE_PER_HOUR = 0.1;

/** USD per hour for one node of a machine type. */
export interface MachinePrice {
  readonly onDemand: number;
  readonly spot: number;
}

/** USD per hour for one vCPU and for one GiB of memory. */
interface UnitPrices {
  readonly vcpu: number;
  readonly gib: number;
}

const FAMILY_UNIT_PRICES: Readonly<Record<string, { readonly onDemand: UnitPrices; readonly spot: UnitPrices }>> = {
  e2: { onDemand: { vcpu: 0.021811, gib: 0.002923 }, spot: { vcpu: 0.006543, gib: 0.000877 } },
  n2: { onDemand: { vcpu: 0.031611, gib: 0.004237 }, spot: { vcpu: 0.00765, gib: 0.001025 } },
  n2d: { onDemand: { vcpu: 0.027502, gib: 0.003686 }, spot: { vcpu: 0.006655, gib: 0.000892 } },
  c2: { onDemand: { vcpu: 0.03398, gib: 0.00455 }, spot: { vcpu: 0.00822, gib: 0.001101 } },
  c3: { onDemand: { vcpu: 0.03465, gib: 0.003938 }, spot: { vcpu: 0.0114, gib: 0.001296 } },
  t2d: { onDemand: { vcpu: 0.027502, gib: 0.003686 }, spot: { vcpu: 0.006655, gib: 0.000892 } },
  n1: { onDemand: { vcpu: 0.031611, gib: 0.004237 }, spot: { vcpu: 0.00698, gib: 0.000936 } },
};

/** `family-class` → memory per vCPU and the vCPU counts Compute Engine offers. */
const SHAPES: Readonly<Record<string, { readonly gibPerVcpu: number; readonly sizes: readonly number[] }>> = {
  'e2-standard': { gibPerVcpu: 4, sizes: [2, 4, 8, 16, 32] },
  'e2-highmem': { gibPerVcpu: 8, sizes: [2, 4, 8, 16] },
  'e2-highcpu': { gibPerVcpu: 1, sizes: [2, 4, 8, 16, 32] },
  'n2-standard': { gibPerVcpu: 4, sizes: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128] },
  'n2-highmem': { gibPerVcpu: 8, sizes: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128] },
  'n2-highcpu': { gibPerVcpu: 1, sizes: [2, 4, 8, 16, 32, 48, 64, 80, 96] },
  'n2d-standard': { gibPerVcpu: 4, sizes: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224] },
  'n2d-highmem': { gibPerVcpu: 8, sizes: [2, 4, 8, 16, 32, 48, 64, 80, 96] },
  'n2d-highcpu': { gibPerVcpu: 1, sizes: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224] },
  'c2-standard': { gibPerVcpu: 4, sizes: [4, 8, 16, 30, 60] },
  'c3-standard': { gibPerVcpu: 4, sizes: [4, 8, 22, 44, 88, 176] },
  'c3-highmem': { gibPerVcpu: 8, sizes: [4, 8, 22, 44, 88, 176] },
  'c3-highcpu': { gibPerVcpu: 2, sizes: [4, 8, 22, 44, 88, 176] },
  't2d-standard': { gibPerVcpu: 4, sizes: [1, 2, 4, 8, 16, 32, 48, 60] },
  'n1-standard': { gibPerVcpu: 3.75, sizes: [1, 2, 4, 8, 16, 32, 64, 96] },
  'n1-highmem': { gibPerVcpu: 6.5, sizes: [2, 4, 8, 16, 32, 64, 96] },
  'n1-highcpu': { gibPerVcpu: 0.9, sizes: [2, 4, 8, 16, 32, 64, 96] },
};

/** Shared-core e2 types: a fraction of a vCPU, priced flat. */
const SHARED_CORE: Readonly<Record<string, MachinePrice>> = {
  'e2-micro': { onDemand: 0.008376, spot: 0.002513 },
  'e2-small': { onDemand: 0.016751, spot: 0.005025 },
  'e2-medium': { onDemand: 0.033503, spot: 0.010051 },
};

/** Boot disk list prices in USD per GB-month (us-central1, same date). Hyperdisk is billed by IOPS and throughput too: not listed. */
const DISK_PRICE_PER_GB_MONTH: Readonly<Record<string, number>> = {
  'pd-standard': 0.04,
  'pd-balanced': 0.1,
  'pd-ssd': 0.17,
};

/** Keeps sums like 4 × 0.021811 + 16 × 0.002923 at the table's precision instead of 0.13401199999999999. */
const roundMicro = (usd: number): number => Math.round(usd * 1e6) / 1e6;

/** Price of one node of `machineType` per hour, or undefined when the type is not in the table. */
export function machinePrice(machineType: string): MachinePrice | undefined {
  const shared = SHARED_CORE[machineType];
  if (shared) return shared;
  const match = /^([a-z0-9]+)-([a-z]+)-(\d+)$/.exec(machineType);
  if (!match) return undefined;
  const [, family, machineClass, vcpuText] = match;
  const shape = SHAPES[`${family}-${machineClass}`];
  const units = FAMILY_UNIT_PRICES[family];
  const vcpus = Number(vcpuText);
  if (!shape || !units || !shape.sizes.includes(vcpus)) return undefined;
  const gib = vcpus * shape.gibPerVcpu;
  return {
    onDemand: roundMicro(vcpus * units.onDemand.vcpu + gib * units.onDemand.gib),
    spot: roundMicro(vcpus * units.spot.vcpu + gib * units.spot.gib),
  };
}

/** Every machine type the table prices, e.g. for docs or a "did you mean" list. */
export function pricedMachineTypes(): string[] {
  const sized = Object.entries(SHAPES).flatMap(([prefix, shape]) => shape.sizes.map((size) => `${prefix}-${size}`));
  return [...Object.keys(SHARED_CORE), ...sized];
}

function assertNodeCount(nodes: number): void {
  if (!Number.isInteger(nodes) || nodes < 0)
    throw new RangeError(`node count must be a whole number ≥ 0, got ${nodes}`);
}

/**
 * USD per hour for `nodes` nodes of `machineType` (spot or on-demand), machine only (see
 * {@link estimateDiskHourlyCost} for boot disks). Undefined when the machine type has no price in
 * the table: the caller then says plainly that there is no estimate.
 */
export function estimateHourlyCost(machineType: string, nodes: number, spot: boolean): number | undefined {
  assertNodeCount(nodes);
  const price = machinePrice(machineType);
  if (!price) return undefined;
  return roundMicro(nodes * (spot ? price.spot : price.onDemand));
}

/** USD per hour for the boot disks of `nodes` nodes, or undefined for a disk type without a flat price. */
export function estimateDiskHourlyCost(diskType: string, sizeGb: number, nodes: number): number | undefined {
  assertNodeCount(nodes);
  if (!(sizeGb >= 0)) throw new RangeError(`disk size must be ≥ 0 GB, got ${sizeGb}`);
  const perGbMonth = DISK_PRICE_PER_GB_MONTH[diskType];
  if (perGbMonth === undefined) return undefined;
  return roundMicro((nodes * sizeGb * perGbMonth) / HOURS_PER_MONTH);
}

/** `$0.134/h` below one dollar, `$12.06/h` above. */
export function formatHourly(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 3 : 2)}/h`;
}
