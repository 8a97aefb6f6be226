/**
 * `npm run dashboard`: a local web page for the queue: progress and ETA, a throughput chart,
 * failures grouped by error with a requeue button, and the workers seen recently. It reads the
 * same data as `status` and `failures`, listens on 127.0.0.1 only, and runs until Ctrl-C.
 */
import { Command, Option } from 'commander';
import { integerBetween, parseSeconds } from '../lib/cli/args';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { openQueue } from '../lib/queue';
import { startDashboard } from '../dashboard';
import { DEFAULT_PORT } from '../dashboard/server';

interface DashboardOptions extends CommonOptions {
  port: number;
  host: string;
  interval: number;
}

const program = addCommonOptions(
  new Command('npm run dashboard --')
    .description(
      'Serve a local web page for the queue: progress, throughput, failures (with requeue) and workers. ' +
        'Ctrl-C stops it.',
    )
    .addOption(
      new Option('--port <n>', 'port to listen on (0: any free port)')
        .argParser(integerBetween(0, 65535))
        .default(DEFAULT_PORT),
    )
    .option('--host <address>', 'loopback address to listen on (127.0.0.1, ::1 or localhost only)', '127.0.0.1')
    .addOption(new Option('--interval <seconds>', 'how often to sample the queue').argParser(parseSeconds).default(2))
    .addHelpText(
      'after',
      '\nThe page has no login and can requeue tasks, so it is served on this machine only; from another machine,\n' +
        'forward the port: ssh -L 8790:127.0.0.1:8790 HOST. See docs/operations.md ("The dashboard").',
    ),
).parse();

runMain(async () => {
  const options = program.opts<DashboardOptions>();
  const settings = settingsFrom(options);
  const queue = await openQueue(settings.queueUrl);
  try {
    const dashboard = await startDashboard(queue, {
      host: options.host,
      port: options.port,
      intervalSeconds: options.interval,
      settings,
    });
    process.stdout.write(`dashboard for ${queue.url}: ${dashboard.url}  (Ctrl-C stops it)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await dashboard.close();
    return 0;
  } finally {
    await queue.close();
  }
});
