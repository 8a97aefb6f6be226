/**
 * Checks of the node pools: names, machine types, disks, GPUs (type, count, vCPUs per GPU), and
 * labels and taints by Kubernetes' rules. Pure; one message per problem, naming the culprit.
 */
import { didYouMean } from '../../lib/suggest';
import { labelKeyProblem, labelValueProblem } from './k8sNames';
import { ACCELERATOR_TYPES, DISK_TYPES, MACHINE_FAMILIES, MACHINE_TYPES, machineType, MachineType } from './machines';
import { poolTaints } from './pools';
import { display } from './parse';
import { NodePoolInput, PROJECT } from './schema';
import type { Report } from './checkEndpoints';
import type { NodePool } from './types';

export function checkNodePools(
  inputs: readonly NodePoolInput[],
  workerPoolName: string | undefined,
  report: Report,
): NodePool[] | undefined {
  const { problems } = report;
  const before = problems.length;
  if (inputs.length === 0) {
    problems.push(
      `nodePools []: the cluster needs at least one node pool; e.g. pulumi config set --path ` +
        `${PROJECT}:nodePools[0].name workers`,
    );
    return undefined;
  }
  const names = new Set<string>();
  const pools: NodePool[] = [];
  inputs.forEach((input, i) => {
    const key = `nodePools[${i}]`;
    if (names.has(input.name))
      problems.push(`${key}.name ${input.name}: another pool has this name; give each pool its own name`);
    names.add(input.name);

    const machine = machineType(input.machineType);
    if (!machine) {
      const hint = didYouMean(input.machineType, MACHINE_TYPES.keys());
      problems.push(
        `${key}.machineType ${input.machineType}: is not a machine type this stack knows; ` +
          `${hint || `use one of the ${MACHINE_FAMILIES.join(', ')} families, e.g. e2-standard-4`}`,
      );
    }
    if (input.minNodes > input.maxNodes) {
      problems.push(
        `${key}.minNodes ${input.minNodes}: is above maxNodes ${input.maxNodes}; lower minNodes or raise maxNodes`,
      );
    }
    if (machine) {
      const disks = DISK_TYPES[machine.family] ?? [];
      if (!disks.includes(input.diskType)) {
        problems.push(
          `${key}.diskType ${input.diskType}: ${machine.family} machines take ${disks.join(', ')}; ` +
            `${didYouMean(input.diskType, disks) || `use ${disks[0]}`}`,
        );
      }
      checkGpu(input, machine, key, problems);
    }
    checkLabelsAndTaints(input, key, problems);
    const spot = input.spot ?? input.name === workerPoolName;
    if (machine) pools.push({ ...input, machine, spot, taints: poolTaints(input.taints, spot) });
  });

  const systemCapable = inputs.some(
    (pool) =>
      pool.maxNodes > 0 &&
      !poolTaints(pool.taints, pool.spot ?? pool.name === workerPoolName).some((t) => t.effect !== 'PreferNoSchedule'),
  );
  if (!systemCapable) {
    problems.push(
      "nodePools: every pool is tainted (spot pools get GKE's spot taint) or has maxNodes 0, so system pods such as " +
        'kube-dns have nowhere to run; ' +
        `add an untainted pool, e.g. pulumi config set --path '${PROJECT}:nodePools[${inputs.length}].name' system`,
    );
  }
  return problems.length === before ? pools : undefined;
}

/** Node labels and taints: keys and values by Kubernetes' label rules. */
function checkLabelsAndTaints(input: NodePoolInput, key: string, problems: string[]): void {
  for (const [label, value] of Object.entries(input.labels)) {
    const keyProblem = labelKeyProblem(label);
    if (keyProblem) problems.push(`${key}.labels ${display(label)}: the label key ${keyProblem}`);
    const valueProblem = labelValueProblem(value);
    if (valueProblem) problems.push(`${key}.labels.${label} ${display(value)}: the label value ${valueProblem}`);
  }
  input.taints.forEach((taint, t) => {
    const keyProblem = labelKeyProblem(taint.key);
    if (keyProblem) problems.push(`${key}.taints[${t}].key ${display(taint.key)}: the taint key ${keyProblem}`);
    const valueProblem = labelValueProblem(taint.value);
    if (valueProblem)
      problems.push(`${key}.taints[${t}].value ${display(taint.value)}: the taint value ${valueProblem}`);
  });
}

function checkGpu(input: NodePoolInput, machine: MachineType, key: string, problems: string[]): void {
  const attached = machine.attachedGpus;
  if (!input.gpu) {
    if (attached) {
      problems.push(
        `${key}.gpu is missing: ${machine.name} comes with ${attached.count} ${attached.type} GPU; set gpu {type: ` +
          `${attached.type}, count: ${attached.count}}`,
      );
    }
    return;
  }
  const { type, count } = input.gpu;
  const accelerator = ACCELERATOR_TYPES.get(type);
  if (!accelerator) {
    problems.push(
      `${key}.gpu.type ${type}: is not a GPU type this stack knows; ` +
        `${didYouMean(type, ACCELERATOR_TYPES.keys()) || `use one of ${[...ACCELERATOR_TYPES.keys()].join(', ')}`}`,
    );
    return;
  }
  if (!accelerator.families.includes(machine.family)) {
    const example = [...MACHINE_TYPES.values()].find(
      (m) => accelerator.families.includes(m.family) && m.vcpus >= 4,
    )?.name;
    problems.push(
      `${key}.gpu.type ${type}: ${accelerator.label} GPUs cannot be attached to ` +
        `${machine.name}${input.spot ? ' (spot)' : ''}; ` +
        `they need a machine type of the ${accelerator.families.join(' or ')} family, e.g. ${example}`,
    );
    return;
  }
  if (attached && count !== attached.count) {
    problems.push(
      `${key}.gpu.count ${count}: ${machine.name} comes with exactly ${attached.count} ${type}; set count ` +
        `${attached.count} or pick another g2 size`,
    );
  } else if (accelerator.counts && !accelerator.counts.includes(count)) {
    problems.push(
      `${key}.gpu.count ${count}: ${accelerator.label} GPUs attach ${accelerator.counts.join(', ')} per node; pick ` +
        `one of those`,
    );
  } else if (accelerator.maxVcpusPerCount && machine.vcpus > (accelerator.maxVcpusPerCount[count] ?? Infinity)) {
    const most = accelerator.maxVcpusPerCount[count];
    const enough = Object.entries(accelerator.maxVcpusPerCount).find(([, vcpus]) => vcpus >= machine.vcpus)?.[0];
    problems.push(
      `${key}.machineType ${machine.name}: ${count} ${accelerator.label} GPU${count === 1 ? '' : 's'} attach to ` +
        `machines of at most ${most} vCPUs, and it has ${machine.vcpus}; ` +
        (enough ? `set gpu.count ${enough} or pick a smaller machine type` : 'pick a smaller machine type'),
    );
  }
}
