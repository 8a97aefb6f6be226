/**
 * One real Pulumi operation on the deploy test's stack, run as a child process by
 * test/support/pulumiReal.ts (a fresh process each time, so the program is loaded anew):
 *
 *   tsx test/support/pulumiRealRun.ts init|up|preview|destroy
 *
 * The real `pulumi` CLI does the work (`pulumi up`, `preview`, `destroy` with the file backend and
 * a passphrase, the real Kubernetes provider plugin). The program (index.ts) runs in this process,
 * served to the CLI by Automation API's language server (`pulumi up --client=ADDRESS`): Pulumi's Go
 * Node.js language host, which would otherwise start it, cannot be built here (docs/deploy.md).
 * Settings come from the environment: GKE_BATCH_REAL_WORKDIR (the stack's Pulumi.yaml folder),
 * GKE_BATCH_REAL_STACK, GKE_BATCH_REAL_CONFIG (JSON: key → { value, secret }), PULUMI_HOME and
 * PULUMI_CONFIG_PASSPHRASE. The last line on stdout is a JSON summary.
 */
import path from 'node:path';
import { ConfigMap, LocalWorkspace, Stack } from '@pulumi/pulumi/automation';

const PROGRAM = path.resolve(__dirname, '..', '..', 'index.ts');

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function openStack(create: boolean): Promise<Stack> {
  const args = {
    stackName: required('GKE_BATCH_REAL_STACK'),
    projectName: 'gke-batch',
    program: async () => {
      const outputs = (await import(PROGRAM)) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(outputs).filter(([key]) => key !== 'default'));
    },
  };
  const options = { workDir: required('GKE_BATCH_REAL_WORKDIR'), secretsProvider: 'passphrase' };
  return create ? LocalWorkspace.createStack(args, options) : LocalWorkspace.selectStack(args, options);
}

async function main(): Promise<void> {
  const operation = process.argv[2];
  const onOutput = (text: string) => process.stderr.write(text);
  let summary: unknown;
  switch (operation) {
    case 'init': {
      const stack = await openStack(true);
      await stack.setAllConfig(JSON.parse(required('GKE_BATCH_REAL_CONFIG')) as ConfigMap);
      summary = { created: stack.name };
      break;
    }
    case 'up': {
      const result = await (await openStack(false)).up({ onOutput, color: 'never' });
      const outputs = Object.fromEntries(Object.entries(result.outputs).map(([key, out]) => [key, out.value]));
      summary = { changes: result.summary.resourceChanges, result: result.summary.result, outputs };
      break;
    }
    case 'preview': {
      const result = await (await openStack(false)).preview({ onOutput, color: 'never' });
      summary = { changes: result.changeSummary };
      break;
    }
    case 'destroy': {
      const result = await (await openStack(false)).destroy({ onOutput, color: 'never' });
      summary = { changes: result.summary.resourceChanges, result: result.summary.result };
      break;
    }
    default:
      throw new Error(`unknown operation ${operation ?? '(none)'}: init, up, preview or destroy`);
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
