/**
 * infra/'s layering rule, checked by dependency-cruiser (test/infra.rules.test.ts runs it; the
 * lead's project-wide config may `extends` this file):
 * - infra/plan is pure: no Pulumi package at run time (`import type` is fine), and it never
 *   imports the components or the Pulumi config glue;
 * - components import the plan, never the reverse;
 * - no cycles anywhere in infra/.
 */
module.exports = {
  forbidden: [
    {
      name: 'plan-is-pure',
      comment: 'infra/plan runs without Pulumi: only type imports of @pulumi/* are allowed',
      severity: 'error',
      from: { path: '^infra/plan/' },
      to: { path: '@pulumi/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'plan-never-imports-components-or-glue',
      severity: 'error',
      from: { path: '^infra/plan/' },
      to: { path: '^infra/(components/|stackConfig\\.ts|index\\.ts)' },
    },
    {
      name: 'no-cycles-in-infra',
      severity: 'error',
      from: { path: '^infra/' },
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(lib|worker|cli|tasks)/' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
