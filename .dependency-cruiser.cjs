/**
 * The project's dependency rule (docs/architecture.md), checked by `npm run lint:deps` in
 * `npm test`. Read it as the architecture in one page: who may import whom.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles anywhere: each cycle is a default, name or type living in the wrong file.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lib-knows-no-callers',
      severity: 'error',
      comment: 'lib/ is the library: it never imports its callers (tasks, commands, dashboard, worker, stack).',
      from: { path: '^lib/' },
      to: { path: '^(tasks|cli|dashboard|worker|infra)/|^index\\.ts$' },
    },
    {
      name: 'library-core-not-cli',
      severity: 'error',
      comment: "The library core does not import lib/cli (the commands' option parsing and printing).",
      from: { path: '^lib/', pathNot: '^lib/cli/' },
      to: { path: '^lib/cli/' },
    },
    {
      name: 'no-worker-from-commands-or-stack',
      severity: 'error',
      comment:
        'infra/, cli/ and dashboard/ never import worker/: shared contracts (exit codes, settings) live in lib/.',
      from: { path: '^(infra|cli|dashboard)/' },
      to: { path: '^worker/' },
    },
    {
      name: 'dashboard-only-from-commands',
      severity: 'error',
      comment:
        'The dashboard is for the commands (cli/) and its tests: ' +
        'the worker (and so its image), the stack and lib/ never import it.',
      from: { pathNot: '^(cli/|dashboard/|test/)' },
      to: { path: '^dashboard/' },
    },
    {
      name: 'dashboard-client-is-browser-code',
      severity: 'error',
      comment:
        'The page (dashboard/client) runs in the browser: ' +
        'it imports only itself, the pure units and uPlot (and types).',
      from: { path: '^dashboard/client/' },
      to: {
        pathNot: '^(dashboard/(client/|api\\.ts$)|lib/ops/units\\.ts$|node_modules/uplot/)',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'kubernetes-client-only-in-cluster-fetch',
      comment:
        'The Kubernetes client is loaded by lib/ops/clusterFetch.ts alone (status --cluster), so it never reaches ' +
        'the worker image or the commands that do not need it; other code imports its model types only.',
      severity: 'error',
      from: { pathNot: '^lib/ops/clusterFetch\\.ts$' },
      to: { path: '^node_modules/@kubernetes/client-node/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'tasks-see-the-task-surface-only',
      severity: 'error',
      comment: "A task imports only the task author's surface: lib/task.ts and the storage types.",
      from: { path: '^tasks/' },
      to: { path: '^(lib|cli|worker|infra)/', pathNot: '^lib/(task|storage/types)\\.ts$' },
    },
    {
      name: 'tasks-only-from-entry-points',
      severity: 'error',
      comment:
        'Only the entry points (index.ts, cli/*.ts, worker/main.ts and the task thread worker/thread.ts) ' +
        'and the test/bench harness import tasks/.',
      from: { pathNot: '^(index\\.ts|cli/[^/]+\\.ts|worker/(main|thread)\\.ts|tasks/|test/|bench/|scripts/)' },
      to: { path: '^tasks/' },
    },
    {
      name: 'plan-is-pure',
      severity: 'error',
      comment: 'infra/plan is pure (no Pulumi at run time): it never imports components or @pulumi/* (types only).',
      from: { path: '^infra/plan/' },
      to: { path: '^infra/components/|^node_modules/@pulumi/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'plan-never-imports-components-or-glue',
      severity: 'error',
      comment:
        'Components import the plan, never the reverse; reading Pulumi config (stackConfig.ts) is glue, not plan.',
      from: { path: '^infra/plan/' },
      to: { path: '^infra/(components/|stackConfig\\.ts|index\\.ts)' },
    },
    {
      name: 'components-only-from-the-program',
      severity: 'error',
      comment: 'Only the Pulumi program (index.ts, through the infra/index.ts barrel) and tests construct components.',
      from: { pathNot: '^(index\\.ts|infra/index\\.ts|infra/components/|test/)' },
      to: { path: '^infra/components/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|local)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
