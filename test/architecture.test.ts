/**
 * The dependency rule (.dependency-cruiser.cjs, docs/architecture.md) is enforced, not decorative:
 * a file that breaks it makes `npm run lint:deps` fail, naming the rule.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');

function cruise(file: string) {
  return spawnSync(DEPCRUISE, ['--config', '.dependency-cruiser.cjs', file], { cwd: ROOT, encoding: 'utf8' });
}

describe('dependency rule', () => {
  const seeded: Array<[string, string, string]> = [
    ['lib/zz-seeded-violation.ts', "import '../worker/backoff';\n", 'lib-knows-no-callers'],
    ['cli/zz-seeded-violation.ts', "import '../worker/backoff';\n", 'no-worker-from-commands-or-stack'],
    ['lib/queue/zz-seeded-violation.ts', "import '../cli/args';\n", 'library-core-not-cli'],
    ['tasks/zz-seeded-violation.ts', "import '../lib/queue';\n", 'tasks-see-the-task-surface-only'],
    ['worker/zz-seeded-violation.ts', "import '../dashboard/server';\n", 'dashboard-only-from-commands'],
    ['dashboard/client/zz-seeded-violation.ts', "import '../../lib/queue';\n", 'dashboard-client-is-browser-code'],
    ['dashboard/zz-seeded-violation.ts', "import '../worker/backoff';\n", 'no-worker-from-commands-or-stack'],
    [
      'worker/zz-seeded-violation.ts',
      "import { KubeConfig } from '@kubernetes/client-node';\nexport const config = new KubeConfig();\n",
      'kubernetes-client-only-in-cluster-fetch',
    ],
    // Rules on node_modules/ need it cruised (not excluded): this one was silently dead before.
    [
      'infra/plan/zz-seeded-violation.ts',
      "import * as k8s from '@pulumi/kubernetes';\nexport const provider = k8s.Provider;\n",
      'plan-is-pure',
    ],
  ];
  for (const [file, source, rule] of seeded) {
    it(`fails on a seeded violation of ${rule}`, function () {
      this.timeout(60_000);
      const absolute = path.join(ROOT, file);
      writeFileSync(absolute, source);
      try {
        const result = cruise(file);
        assert.notEqual(result.status, 0, result.stdout);
        assert.match(result.stdout, new RegExp(`error ${rule}: ${file.replace(/\./g, '\\.')}`));
      } finally {
        rmSync(absolute, { force: true });
      }
    });
  }
});
