/**
 * Node sizing, quantities, the machine table and typo suggestions: pure functions, no Pulumi.
 * The worked values come from shared/reference/gke-node-sizing.md.
 */
import assert from 'node:assert/strict';
import { ACCELERATOR_TYPES, MACHINE_TYPES, machineType } from '../infra/plan/machines';
import {
  formatCpu,
  formatMemory,
  parseCpuMillis,
  parseMemoryMiB,
  parseQuantity,
  quantityHint,
  toMemoryQuantity,
} from '../infra/plan/quantity';
import {
  allocatable,
  availableForWorkers,
  DEFAULT_OVERHEAD,
  fitOnNode,
  MAX_PODS_PER_NODE,
  planWorkers,
  reservedCpuMillis,
  reservedMemoryMiB,
  SYSTEM_PODS_PER_NODE,
} from '../infra/plan/sizing';
import { closest, didYouMean, editDistance } from '../lib/suggest';

const machine = (name: string) => {
  const type = machineType(name);
  assert.ok(type, `${name} is in the machine table`);
  return type;
};

describe('infra sizing: allocatable per GKE reservation brackets', () => {
  // The reference's worked values table, exactly.
  const worked: Array<[name: string, vcpus: number, memoryGiB: number, cpuMillis: number, memoryMiB: number]> = [
    ['e2-standard-2', 2, 8, 1930, 6249],
    ['e2-standard-4', 4, 16, 3920, 13622],
    ['e2-standard-8', 8, 32, 7910, 29023],
    ['e2-standard-16', 16, 64, 15890, 59824],
    ['n1-standard-4', 4, 15, 3920, 12700],
  ];
  for (const [name, vcpus, memoryGiB, cpuMillis, memoryMiB] of worked) {
    it(`${name}: ${vcpus} vCPU / ${memoryGiB} GiB → ${cpuMillis}m and ${memoryMiB} MiB allocatable`, () => {
      const type = machine(name);
      assert.equal(type.vcpus, vcpus);
      assert.equal(type.memoryGiB, memoryGiB);
      const node = allocatable(type);
      assert.equal(node.cpuMillis, cpuMillis);
      assert.equal(Math.round(node.memoryMiB), memoryMiB);
    });
  }

  it(
    'reserves memory by brackets: 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % to 128 GiB, ' +
      '2 % above',
    () => {
      assert.equal(reservedMemoryMiB(4096), 1024);
      assert.equal(reservedMemoryMiB(8192), 1024 + 819.2);
      assert.equal(reservedMemoryMiB(16384), 1024 + 819.2 + 819.2);
      assert.equal(reservedMemoryMiB(131072), 1024 + 819.2 + 819.2 + 114688 * 0.06);
      assert.equal(reservedMemoryMiB(131072 + 10240), reservedMemoryMiB(131072) + 10240 * 0.02);
      assert.equal(reservedMemoryMiB(512), 255, 'below 1 GiB: a flat 255 MiB');
    },
  );

  it('reserves CPU: 6 % of the 1st core, 1 % of the 2nd, 0.5 % of cores 3-4, 0.25 % of each above', () => {
    assert.equal(reservedCpuMillis(1), 60);
    assert.equal(reservedCpuMillis(2), 70);
    assert.equal(reservedCpuMillis(4), 80);
    assert.equal(reservedCpuMillis(32), 80 + 28 * 2.5);
  });
});

describe('infra sizing: workers per node', () => {
  const e2s4 = () => machine('e2-standard-4');

  it(
    'keeps ≈3.46 vCPU and ≈12.5 GiB of an e2-standard-4 for workers after the DaemonSet budget (the reference ' +
      'example)',
    () => {
      const free = availableForWorkers(e2s4(), DEFAULT_OVERHEAD);
      assert.equal(free.cpuMillis, 3460);
      assert.equal(Math.round((free.memoryMiB / 1024) * 10) / 10, 12.5);
    },
  );

  it('fits 1-vCPU workers 3 per e2-standard-4 node, not 4; 850m workers fit 4', () => {
    assert.equal(fitOnNode(e2s4(), { cpuMillis: 1000, memoryMiB: 1024, gpus: 0 }).workersPerNode, 3);
    assert.equal(fitOnNode(e2s4(), { cpuMillis: 850, memoryMiB: 1024, gpus: 0 }).workersPerNode, 4);
  });

  it('is limited by whichever of CPU, memory, GPUs and the pod limit runs out first', () => {
    const byMemory = fitOnNode(e2s4(), { cpuMillis: 100, memoryMiB: 5000, gpus: 0 });
    assert.deepEqual([byMemory.workersPerNode, byMemory.limitedBy], [2, 'memory']);
    const byPods = fitOnNode(machine('n2-standard-32'), { cpuMillis: 10, memoryMiB: 10, gpus: 0 });
    assert.deepEqual([byPods.workersPerNode, byPods.limitedBy], [MAX_PODS_PER_NODE - SYSTEM_PODS_PER_NODE, 'pods']);
    const byGpu = fitOnNode(machine('n1-standard-16'), { cpuMillis: 1000, memoryMiB: 4096, gpus: 1 }, 2);
    assert.deepEqual([byGpu.workersPerNode, byGpu.limitedBy], [2, 'gpu']);
  });

  it('takes a configurable DaemonSet budget out of every node', () => {
    const lean = fitOnNode(e2s4(), { cpuMillis: 1000, memoryMiB: 1024, gpus: 0 }, 0, {
      cpuMillis: 0,
      memoryMiB: 0,
      memorySlackPercent: 0,
    });
    assert.equal(lean.workersPerNode, 3, '3920m still holds only 3 whole vCPUs');
    assert.equal(lean.available.cpuMillis, 3920);
    const heavy = fitOnNode(e2s4(), { cpuMillis: 850, memoryMiB: 1024, gpus: 0 }, 0, {
      cpuMillis: 600,
      memoryMiB: 420,
      memorySlackPercent: 3,
    });
    assert.equal(heavy.workersPerNode, 3, '3320m fits three 850m workers, not four');
  });

  it('plans replicas "auto" as workers/node × max nodes, and prints the one-line plan', () => {
    const plan = planWorkers({
      machineTypeName: 'e2-standard-4',
      machine: e2s4(),
      minNodes: 0,
      maxNodes: 10,
      request: { cpuMillis: 1000, memoryMiB: 3072, gpus: 0 },
      replicas: 'auto',
    });
    assert.equal(plan.workersPerNode, 3);
    assert.equal(plan.replicas, 30);
    assert.equal(plan.capacity, 30);
    assert.equal(plan.nodesNeeded, 10);
    assert.equal(plan.idlePerNode.cpuMillis, 460);
    assert.equal(plan.idleCpuPercent, 13);
    assert.match(
      plan.summary,
      new RegExp(
        String.raw`^e2-standard-4 × 0–10 nodes, 3 workers\/node \(1 vCPU, 3 GiB` +
          String.raw` each\), 30 workers \(auto\), 0\.46 vCPU and 3\.49 GiB idle per node$`,
      ),
    );
  });

  it('keeps a fixed replica count and needs only the nodes it fills', () => {
    const plan = planWorkers({
      machineTypeName: 'e2-standard-4',
      machine: e2s4(),
      minNodes: 0,
      maxNodes: 10,
      request: { cpuMillis: 1000, memoryMiB: 4096, gpus: 0 },
      replicas: 7,
    });
    assert.equal(plan.replicas, 7);
    assert.equal(plan.capacity, 30);
    assert.equal(plan.nodesNeeded, 3);
    assert.match(plan.summary, /7 workers \(fixed\)/);
  });

  it('warns when more than 15 % of a node sits idle, with the request that fills it', () => {
    const plan = planWorkers({
      machineTypeName: 'e2-standard-4',
      machine: e2s4(),
      minNodes: 0,
      maxNodes: 3,
      request: { cpuMillis: 1000, memoryMiB: 3072, gpus: 0 },
      replicas: 'auto',
    });
    assert.equal(plan.warnings.length, 1, 'CPU idles 13 % (no warning); memory idles 28 %');
    assert.match(
      plan.warnings[0],
      new RegExp(
        String.raw`^3\.49 GiB \(28 %\) of each e2-standard-4 node would sit idle with` +
          String.raw` workers\.memory 3Gi: raise it to 4264Mi to use it with 3 workers\/node$`,
      ),
    );

    const cpuBound = planWorkers({
      machineTypeName: 'e2-standard-4',
      machine: e2s4(),
      minNodes: 0,
      maxNodes: 3,
      request: { cpuMillis: 1200, memoryMiB: 4096, gpus: 0 },
      replicas: 'auto',
    });
    const cpuWarning = cpuBound.warnings.find((w) => w.includes('workers.cpu'));
    assert.ok(cpuWarning, 'two 1200m workers leave 1060m (31 %) idle');
    assert.match(cpuWarning, /raise it to 1730m to use it with 2 workers\/node or lower it to 1153m to fit 3$/);
  });

  it('gives no idle warning for a node the workers fill', () => {
    const plan = planWorkers({
      machineTypeName: 'e2-standard-4',
      machine: e2s4(),
      minNodes: 0,
      maxNodes: 3,
      request: { cpuMillis: 1150, memoryMiB: 4264, gpus: 0 },
      replicas: 'auto',
    });
    assert.deepEqual(plan.warnings, []);
  });
});

describe('infra sizing: Kubernetes quantities', () => {
  it('parses CPU in cores and millicores', () => {
    assert.equal(parseCpuMillis('1'), 1000);
    assert.equal(parseCpuMillis('500m'), 500);
    assert.equal(parseCpuMillis('0.25'), 250);
    assert.equal(parseCpuMillis(2), 2000);
    assert.equal(parseCpuMillis('1.5 cores'), undefined);
  });

  it('parses memory with binary and decimal suffixes', () => {
    assert.equal(parseMemoryMiB('3Gi'), 3072);
    assert.equal(parseMemoryMiB('3000Mi'), 3000);
    assert.equal(parseMemoryMiB('1G'), 1e9 / 2 ** 20);
    assert.equal(parseMemoryMiB('512Ki'), 0.5);
    assert.equal(parseQuantity('1k'), 1000);
    for (const bad of ['3GB', '3gi', '-1Gi', 'Gi', '1e3', '']) assert.equal(parseMemoryMiB(bad), undefined, bad);
  });

  it('says what to write for the usual mistakes', () => {
    assert.equal(quantityHint('3GB', 'memory'), 'write 3Gi (binary, GiB) or 3G (decimal)');
    assert.equal(quantityHint('4gi', 'memory'), 'write 4Gi (binary, GiB) or 4G (decimal)');
  });

  it('prints CPU and memory for people and for manifests', () => {
    assert.equal(formatCpu(1000), '1 vCPU');
    assert.equal(formatCpu(460), '0.46 vCPU');
    assert.equal(formatMemory(3072), '3 GiB');
    assert.equal(formatMemory(505.2), '505 MiB');
    assert.equal(toMemoryQuantity(4264.3), '4264Mi');
    assert.equal(toMemoryQuantity(4096), '4Gi');
  });
});

describe('infra sizing: machine table and suggestions', () => {
  it('covers e2, n2, n2d, c2, c3, t2d (standard/highmem/highcpu) with vCPUs and memory', () => {
    const expected: Array<[string, number, number]> = [
      ['e2-highmem-4', 4, 32],
      ['e2-highcpu-8', 8, 8],
      ['n2-standard-8', 8, 32],
      ['n2-highcpu-16', 16, 16],
      ['n2d-highmem-2', 2, 16],
      ['c2-standard-30', 30, 120],
      ['c3-highcpu-22', 22, 44],
      ['c3-highmem-4', 4, 32],
      ['t2d-standard-60', 60, 240],
      ['n1-highmem-8', 8, 52],
    ];
    for (const [name, vcpus, memoryGiB] of expected) {
      assert.deepEqual([machine(name).vcpus, machine(name).memoryGiB], [vcpus, memoryGiB], name);
    }
    for (const family of ['e2', 'n2', 'n2d', 'c2', 'c3', 't2d']) {
      assert.ok(
        [...MACHINE_TYPES.values()].some((t) => t.family === family && t.shape === 'standard'),
        family,
      );
    }
    assert.equal(machine('e2-medium').sharedCore, true);
    assert.deepEqual(machine('g2-standard-24').attachedGpus, { type: 'nvidia-l4', count: 2 });
    assert.deepEqual(ACCELERATOR_TYPES.get('nvidia-tesla-t4')?.families, ['n1']);
  });

  it('counts a swap of two letters as one edit', () => {
    assert.equal(editDistance('standrad', 'standard'), 1);
    assert.equal(editDistance('e2-standard-4', 'e2-standard-4'), 0);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('suggests the machine type a typo meant, and nothing for something unrelated', () => {
    assert.equal(closest('e2-standrad-4', MACHINE_TYPES.keys()), 'e2-standard-4');
    assert.equal(closest('n2-standard4', MACHINE_TYPES.keys()), 'n2-standard-4');
    assert.equal(didYouMean('m1-megamem-96', MACHINE_TYPES.keys()), '');
  });
});
