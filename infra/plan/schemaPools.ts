/** The `nodePools` config key: each pool's machine, autoscaling bounds, disk, labels, taints and GPUs. Pure. */
import { z } from 'zod';
import { SYSTEM_POOL_MAX_NODES } from './defaults';
import { bool, gkeName, labelMap, wholeNumber } from './schemaFields';

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

const taint = z.strictObject({
  key: z.string().min(1, 'is empty').describe('Taint key, e.g. "gke-batch/workers".'),
  value: z.string().default('true').describe('Taint value. Default "true".'),
  effect: z
    .enum(TAINT_EFFECTS, { error: `must be one of ${TAINT_EFFECTS.join(', ')}` })
    .default('NoSchedule')
    .describe('NoSchedule (default), PreferNoSchedule or NoExecute.'),
});

const gpu = z.strictObject({
  type: z
    .string({ error: 'a GPU pool needs its GPU type, e.g. nvidia-tesla-t4 (n1 machines) or nvidia-l4 (g2 machines)' })
    .min(1, 'is empty')
    .describe('Accelerator type, e.g. "nvidia-tesla-t4" (n1 machines) or "nvidia-l4" (g2 machines).'),
  count: wholeNumber(1, 16, 'GPUs')
    .default(1)
    .describe('GPUs per node. Default 1; for g2 machines it must equal the GPUs the type comes with.'),
});

export const nodePoolSchema = z.strictObject({
  name: gkeName(40).describe('Node pool name; the workers pick their pool by it (workers.nodePool).'),
  machineType: z
    .string({ error: 'must be a machine type name' })
    .default('e2-standard-4')
    .describe('Compute Engine machine type, e.g. "e2-standard-4". Default e2-standard-4.'),
  minNodes: wholeNumber(0, 1000, 'nodes')
    .default(0)
    .describe('Fewest nodes the autoscaler keeps, across all zones. Default 0 (scale to zero).'),
  maxNodes: wholeNumber(0, 1000, 'nodes')
    .default(3)
    .describe('Most nodes the autoscaler adds, across all zones. Default 3.'),
  spot: bool()
    .optional()
    .describe("Spot VMs (cheap, preemptible with 30 s notice). Default: true for the workers' pool, false for others."),
  diskSizeGb: wholeNumber(10, 65536, 'GB').default(50).describe('Boot disk size in GB. Default 50.'),
  diskType: z
    .string()
    .default('pd-balanced')
    .describe('Boot disk type: pd-balanced (default), pd-standard, pd-ssd or hyperdisk-balanced.'),
  labels: labelMap.default({}).describe('Extra Kubernetes node labels. Default none.'),
  taints: z
    .array(taint, { error: 'must be a list of {key, value, effect}' })
    .default([])
    .describe("Node taints; the workers tolerate their own pool's taints. Default none."),
  gpu: gpu.optional().describe('GPUs attached to every node: {type, count}. Default none.'),
});

export type NodePoolInput = z.output<typeof nodePoolSchema>;
export type Taint = z.output<typeof taint>;

/** The pools a stack gets when nodePools is not set: an always-on system pool and a tainted spot workers' pool. */
export function defaultNodePools(): z.input<typeof nodePoolSchema>[] {
  return [
    { name: 'system', machineType: 'e2-standard-2', minNodes: 1, maxNodes: SYSTEM_POOL_MAX_NODES, spot: false },
    {
      name: 'workers',
      machineType: 'e2-standard-4',
      minNodes: 0,
      maxNodes: 10,
      taints: [{ key: 'gke-batch/workers', value: 'true', effect: 'NoSchedule' }],
    },
  ];
}
