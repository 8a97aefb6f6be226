/**
 * What the nodes cost per hour, for the estimate `pulumi preview` prints: machine prices come from
 * the machine table (machines.ts), boot disks and the cluster fee from here. Pure.
 *
 * The estimate covers the nodes' machines, their pd-* boot disks and GKE's cluster management fee.
 * It leaves out: GPUs, hyperdisk, Cloud NAT (per gateway hour and per GB processed), network egress
 * (to SQS and S3 outside Google Cloud), Artifact Registry storage, Cloud Storage, Pub/Sub
 * (per TiB delivered) and Cloud Monitoring reads, logging above the free tier, and discounts. The
 * cluster fee is GKE Standard's flat per-cluster fee, the same for zonal and regional clusters (the
 * stack's default, a regional cluster, always pays it: the free-tier monthly credit covers one zonal
 * or Autopilot cluster per billing account, and is not subtracted even then). For choosing between
 * sizes, not for budgeting.
 */
import {
  machineType,
  MachinePrice,
  PRICE_REGION,
  PRICES_AS_OF,
  roundMicro,
  MACHINE_TYPES,
  SPOT_PRICES_AS_OF,
} from './machines';

export { PRICES_AS_OF, PRICE_REGION, SPOT_PRICES_AS_OF } from './machines';
export type { MachinePrice } from './machines';

/** What the estimate does not include, for the line a preview prints. */
export const PRICE_EXCLUSIONS =
  'Cloud NAT, egress, Artifact Registry storage, Pub/Sub and Monitoring usage and discounts not included; ' +
  'the cluster fee is charged for regional and zonal clusters alike (free-tier credit not subtracted)';

/** One line a preview can print next to an estimate. */
export const PRICE_SOURCE =
  `${PRICE_REGION} list prices (on-demand as of ${PRICES_AS_OF}, spot as of ${SPOT_PRICES_AS_OF}), approximate; ` +
  PRICE_EXCLUSIONS;

/** Google bills a month as 730 hours. */
export const HOURS_PER_MONTH = 730;

/**
 * GKE Standard's cluster management fee per cluster and hour, zonal or regional alike (the monthly
 * free-tier credit for one zonal cluster per billing account is not subtracted).
 */
export const GKE_CLUSTER_FEE_PER_HOUR = 0.1;

/** Boot disk list prices in USD per GB-month (us-central1, same date). Hyperdisk is billed by IOPS and throughput too:
 * not listed. */
const DISK_PRICE_PER_GB_MONTH: Readonly<Record<string, number>> = {
  'pd-standard': 0.04,
  'pd-balanced': 0.1,
  'pd-ssd': 0.17,
};

/** Price of one node of `name` per hour, or undefined when the table has no price for it. */
export function machinePrice(name: string): MachinePrice | undefined {
  return machineType(name)?.price;
}

/** Every machine type the table prices, e.g. for docs or a "did you mean" list. */
export function pricedMachineTypes(): string[] {
  return [...MACHINE_TYPES.values()].filter((t) => t.price !== undefined).map((t) => t.name);
}

function assertNodeCount(nodes: number): void {
  if (!Number.isInteger(nodes) || nodes < 0)
    throw new RangeError(`node count must be a whole number ≥ 0, got ${nodes}`);
}

/**
 * USD per hour for `nodes` nodes of `name` (spot or on-demand), machine only (see
 * {@link estimateDiskHourlyCost} for boot disks). Undefined when the machine type has no price in
 * the table: the caller then says plainly that there is no estimate.
 */
export function estimateHourlyCost(name: string, nodes: number, spot: boolean): number | undefined {
  assertNodeCount(nodes);
  const price = machinePrice(name);
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
