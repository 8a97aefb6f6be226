import assert from 'node:assert/strict';
import {
  estimateDiskHourlyCost,
  estimateHourlyCost,
  formatHourly,
  machinePrice,
  PRICE_SOURCE,
  PRICES_AS_OF,
  SPOT_PRICES_AS_OF,
  pricedMachineTypes,
} from '../infra/plan/pricing';
import { MACHINE_TYPES } from '../infra/plan/machines';

const close = (actual: number | undefined, expected: number, what: string) => {
  assert.ok(actual !== undefined, `${what}: no price`);
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: expected ${expected}, got ${actual}`);
};

describe('infra/pricing', () => {
  describe('on-demand list prices of whole machine types (us-central1)', () => {
    // Published per-type prices: they check the vCPU count and the memory per vCPU the table
    // derives from each name, not only the unit prices.
    const published: Array<[string, number]> = [
      ['e2-standard-4', 0.134012],
      ['e2-highcpu-2', 0.049468],
      ['e2-medium', 0.033503],
      ['n2-standard-8', 0.388472],
      ['n2d-standard-2', 0.084492],
      ['c2-standard-4', 0.20872],
      ['c3-standard-4', 0.201608],
      ['t2d-standard-1', 0.042246],
      ['n1-standard-4', 0.189999],
    ];
    for (const [type, price] of published) {
      it(`${type} costs $${price}/h`, () => {
        close(machinePrice(type)?.onDemand, price, type);
        close(estimateHourlyCost(type, 1, false), price, type);
      });
    }
  });

  it('multiplies by the node count and picks the spot price when asked', () => {
    const price = machinePrice('e2-standard-4');
    assert.ok(price);
    close(estimateHourlyCost('e2-standard-4', 10, false), 10 * price.onDemand, 'on-demand ×10');
    close(estimateHourlyCost('e2-standard-4', 10, true), 10 * price.spot, 'spot ×10');
    assert.equal(estimateHourlyCost('e2-standard-4', 0, true), 0);
  });

  it('prices every listed type, spot well below on-demand', () => {
    const types = pricedMachineTypes();
    assert.ok(types.length > 80, `only ${types.length} types priced`);
    for (const type of types) {
      const price = machinePrice(type);
      assert.ok(price, type);
      assert.ok(
        price.spot > 0 && price.spot < 0.5 * price.onDemand,
        `${type}: spot ${price.spot} vs on-demand ${price.onDemand}`,
      );
    }
  });

  it('prices every machine type the stack accepts, except those that come with GPUs', () => {
    const unpriced = [...MACHINE_TYPES.values()].filter((type) => !machinePrice(type.name)).map((type) => type.name);
    assert.deepEqual(
      unpriced.filter((name) => !name.startsWith('g2-')),
      [],
    );
    assert.deepEqual(
      pricedMachineTypes().filter((name) => !MACHINE_TYPES.has(name)),
      [],
      'priced types the stack does not know',
    );
  });

  it('scales linearly with size within a class and orders highcpu < standard < highmem', () => {
    const perVcpu = (type: string, vcpus: number) => machinePrice(type)!.onDemand / vcpus;
    close(perVcpu('n2-standard-32', 32), perVcpu('n2-standard-2', 2), 'n2-standard per vCPU');
    close(perVcpu('c3-highcpu-176', 176), perVcpu('c3-highcpu-4', 4), 'c3-highcpu per vCPU');
    for (const family of ['e2', 'n2', 'n2d']) {
      const [cpu, std, mem] = ['highcpu', 'standard', 'highmem'].map(
        (cls) => machinePrice(`${family}-${cls}-8`)!.onDemand,
      );
      assert.ok(cpu < std && std < mem, `${family}: ${cpu} < ${std} < ${mem}`);
    }
  });

  it('returns undefined, not a guess, for types it does not know', () => {
    for (const type of [
      'e2-standrad-4',
      'e2-standard-3',
      'n1-standard-3',
      'g2-standard-4',
      'a2-highgpu-1g',
      'c2-standard-2',
      'custom-4-16384',
      '',
      'E2-STANDARD-4',
    ]) {
      assert.equal(machinePrice(type), undefined, type);
      assert.equal(estimateHourlyCost(type, 3, true), undefined, type);
    }
  });

  it('rejects node counts that are not whole and non-negative', () => {
    assert.throws(() => estimateHourlyCost('e2-standard-4', -1, false), /whole number ≥ 0, got -1/);
    assert.throws(() => estimateHourlyCost('e2-standard-4', 1.5, false), /got 1.5/);
    assert.throws(() => estimateHourlyCost('nope', Number.NaN, false), /got NaN/);
  });

  it('prices boot disks per GB-month over 730 hours, and has no flat price for hyperdisk', () => {
    close(estimateDiskHourlyCost('pd-balanced', 100, 1), 10 / 730, 'pd-balanced 100 GB');
    close(estimateDiskHourlyCost('pd-standard', 100, 5), (5 * 4) / 730, 'pd-standard 5 × 100 GB');
    close(estimateDiskHourlyCost('pd-ssd', 50, 2), (2 * 50 * 0.17) / 730, 'pd-ssd');
    assert.equal(estimateDiskHourlyCost('hyperdisk-balanced', 100, 1), undefined);
    assert.throws(() => estimateDiskHourlyCost('pd-ssd', -1, 1), /disk size/);
  });

  it('formats hourly amounts and names the date of its prices', () => {
    assert.equal(formatHourly(0.134012), '$0.134/h');
    assert.equal(formatHourly(12.0649), '$12.06/h');
    assert.match(PRICES_AS_OF, /^\d{4}-\d{2}$/);
    assert.match(SPOT_PRICES_AS_OF, /^\d{4}-\d{2}$/);
    for (const left of ['Cloud NAT', 'egress', 'Artifact Registry storage', 'regional'])
      assert.ok(PRICE_SOURCE.includes(left), `the estimate says it leaves out ${left}`);
    assert.ok(PRICE_SOURCE.includes(PRICES_AS_OF) && PRICE_SOURCE.includes('approximate'));
  });
});
