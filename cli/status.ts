/**
 * `npm run status`: how far along the run is. Counts with percentages like `ptq status`;
 * `--watch` adds a progress bar, throughput and ETA and stops when the queue drains; `--cluster`
 * adds the workers' Job/Deployment, pods and the nodes from the Kubernetes API.
 */
import '../lib/cli/compileCache';
import { Command, Option } from 'commander';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { parseSeconds } from '../lib/cli/args';
import { withQueue } from '../lib/ops/session';
import { buildStatusReport, renderCounts, renderHeader, renderThroughput } from '../lib/ops/status';
import { formatCount, formatDuration } from '../lib/ops/units';
import { pubsubStatusReport, renderPubsubStatus } from '../lib/ops/pubsubStatus';
import { QueueError } from '../lib/queue';
import type { PubsubQueue } from '../lib/queue/pubsubQueue';
import { RunStore } from '../lib/runs/store';
import { readRuns } from '../lib/runs/summary';
import { renderRuns, runsReport } from '../lib/ops/runsView';
import type { ClusterReport } from '../lib/ops/clusterReport';
import { renderCluster } from '../lib/ops/clusterRender';
import { DEFAULT_TIMEOUT_SECONDS, STACK_KUBECONFIG_COMMAND } from '../lib/ops/clusterErrors';
import { DEFAULT_WORKER_NAMESPACE, WORKER_SELECTOR } from '../lib/workerPods';

interface StatusOptions extends CommonOptions {
  watch?: number;
  json?: boolean;
  cluster?: boolean;
  kubeconfig?: string;
  namespace: string;
  selector: string;
  clusterTimeout: number;
}

const DEFAULT_WATCH_SECONDS = 2;
/** Exit code of a watch ended by Ctrl-C (128 + SIGINT), as shells expect. */
const INTERRUPTED = 130;

const program = addCommonOptions(
  new Command('npm run status --')
    .description('Show the queue: inserted, enqueued, leased, completed and failed tasks, with percentages.')
    .addOption(
      new Option(
        '-w, --watch [seconds]',
        'refresh every SECONDS with a progress bar, throughput and ETA until the queue drains',
      )
        .preset(String(DEFAULT_WATCH_SECONDS))
        .argParser(parseSeconds),
    )
    .option('--json', 'print one JSON object (with --watch: one per line)')
    .option('--cluster', "add the workers' Job/Deployment, pods and nodes from the Kubernetes API")
    .option('--kubeconfig <file>', 'with --cluster: the kubeconfig (default: as kubectl, KUBECONFIG or ~/.kube/config)')
    .option('--namespace <name>', "with --cluster: the workers' namespace", DEFAULT_WORKER_NAMESPACE)
    .option('--selector <labels>', "with --cluster: the workers' pod label selector", WORKER_SELECTOR)
    .addOption(
      new Option('--cluster-timeout <seconds>', 'with --cluster: give up on the Kubernetes API after SECONDS')
        .default(DEFAULT_TIMEOUT_SECONDS)
        .argParser(parseSeconds),
    )
    .addHelpText(
      'after',
      '\nThroughput and ETA need counts sampled over time, so they appear with --watch only.\n' +
        'On SQS the counts are approximate (~) and "inserted"/"completed" are unknown; Pub/Sub has no counts but\n' +
        'the dead letters (no --watch); see docs/operations.md.\n' +
        `--cluster reads the stack's kubeconfig: ${STACK_KUBECONFIG_COMMAND}, then --kubeconfig kubeconfig.json.`,
    ),
).parse();

/** `--cluster`: one look at the cluster, or undefined without it. The client is loaded only then. */
function clusterLook(options: StatusOptions): (() => Promise<ClusterReport>) | undefined {
  if (!options.cluster) return undefined;
  // require, not import(): a dynamic import() would need tsx's ESM hooks, which `npm run status` does not load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { lookAtCluster } = require('../lib/ops/clusterFetch') as typeof import('../lib/ops/clusterFetch');
  const look = {
    kubeconfig: options.kubeconfig,
    namespace: options.namespace,
    selector: options.selector,
    timeoutSeconds: options.clusterTimeout,
  };
  return () => lookAtCluster(look);
}

const finished = runMain(async () => {
  const options = program.opts<StatusOptions>();
  const settings = settingsFrom(options);
  const lookAtCluster = clusterLook(options);
  return withQueue(settings.queueUrl, async (queue) => {
    const store = RunStore.open(queue.url, settings.cloudpath);
    if (queue.kind === 'pubsub') {
      if (options.watch !== undefined) {
        throw new QueueError(
          'UnsupportedOperation',
          `cannot watch ${queue.url}: Pub/Sub's API has no backlog count to follow`,
          'watch num_undelivered_messages in Cloud Monitoring (the subscription page in the console), or ' +
            "the workers' metrics",
        );
      }
      const [snapshot, pubsub, cluster] = await Promise.all([
        readRuns(store),
        pubsubStatusReport(queue as PubsubQueue, Date.now()),
        lookAtCluster?.(),
      ]);
      const runs = runsReport(snapshot);
      const report = { ...pubsub, runs, ...(cluster ? { cluster } : {}) };
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const lines = [...renderPubsubStatus(report), ...renderRuns(runs), ...(cluster ? renderCluster(cluster) : [])];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      return 0;
    }
    if (options.watch === undefined) {
      const [counts, snapshot, cluster] = await Promise.all([queue.counts(), readRuns(store), lookAtCluster?.()]);
      const queueReport = buildStatusReport(queue, counts, Date.now(), null, runsReport(snapshot));
      const report = cluster ? { ...queueReport, cluster } : queueReport;
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const lines = [renderHeader(report), ...renderCounts(report), renderThroughput(report, Date.now())];
        const clusterLines = cluster ? renderCluster(cluster) : [];
        process.stdout.write([...lines, ...renderRuns(report.runs!), ...clusterLines].join('\n') + '\n');
      }
      return 0;
    }

    // Loaded only to watch: its progress bar and text wrapping cost a one-look status start-up time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const watching = require('../lib/ops/watch') as typeof import('../lib/ops/watch');
    const { jsonLinesDisplay, plainLinesDisplay, terminalDisplay, watchQueue } = watching;
    const stop = new AbortController();
    const onInterrupt = () => stop.abort();
    process.once('SIGINT', onInterrupt);
    const display = options.json
      ? jsonLinesDisplay(process.stdout, process.stderr)
      : process.stdout.isTTY
        ? terminalDisplay(process.stdout)
        : plainLinesDisplay(process.stdout, process.stderr);
    const started = Date.now();
    try {
      const watch = {
        intervalSeconds: options.watch,
        display,
        signal: stop.signal,
        runs: store,
        cluster: lookAtCluster,
      };
      const result = await watchQueue(queue, watch);
      if (!result.drained) return INTERRUPTED;
      if (!options.json && result.last) {
        const { completed, failed } = result.last;
        const counted = completed === null ? '' : `${formatCount(completed)} completed, `;
        const done = `${counted}${formatCount(failed)} failed`;
        const watched = formatDuration((Date.now() - started) / 1000);
        process.stdout.write(
          result.emptyFromStart ? `queue is empty (${done})\n` : `queue drained (${done}; watched ${watched})\n`,
        );
        if (failed > 0) process.stdout.write('see what failed: npm run failures\n');
      }
      return 0;
    } finally {
      process.removeListener('SIGINT', onInterrupt);
    }
  });
});

// An aborted request of the Kubernetes client can leave a socket in a TLS handshake nobody answers,
// which would keep the finished command alive for most of a minute: exit once a second has passed.
void finished.then(() => {
  if (program.opts<StatusOptions>().cluster) setTimeout(() => process.exit(), 1_000).unref();
});
