/** Node pool placement rules: the spot taint and which pool takes the always-on system pods. Pure. */

/** A node taint as the stack config spells it. */
export interface NodeTaint {
  readonly key: string;
  readonly value: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** GKE's documented taint for spot pools; the workers tolerate it like any taint of their pool. */
export const SPOT_TAINT: NodeTaint = { key: 'cloud.google.com/gke-spot', value: 'true', effect: 'NoSchedule' };

/**
 * A pool's taints as the cluster gets them: a spot pool that keeps no pod out (no NoSchedule or
 * NoExecute taint) gets {@link SPOT_TAINT}, so only the workers land on nodes that are preempted
 * and scale to zero. A system pod there would be preempted with the node and would keep an idle
 * node from being removed.
 */
export function poolTaints<T extends NodeTaint>(taints: readonly T[], spot: boolean): Array<T | NodeTaint> {
  const keepsPodsOut = taints.some((taint) => taint.effect !== 'PreferNoSchedule');
  return spot && !keepsPodsOut ? [...taints, SPOT_TAINT] : [...taints];
}

/**
 * The pool for pods that must always run (KEDA): the first pool other than the workers' that can
 * have nodes and keeps no pod out. Undefined when there is none (validation makes sure some pool
 * takes system pods; then it is the workers' own).
 */
export function systemPoolName(
  pools: ReadonlyArray<{ readonly name: string; readonly maxNodes: number; readonly taints: readonly NodeTaint[] }>,
  workerPoolName: string,
): string | undefined {
  return pools.find(
    (pool) =>
      pool.name !== workerPoolName && pool.maxNodes > 0 && pool.taints.every((t) => t.effect === 'PreferNoSchedule'),
  )?.name;
}
