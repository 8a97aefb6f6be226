/** The worker's process-level scenarios (test/support/workerScenarios.ts) on the file queue. */
import { describeWorkerProcesses } from './support/workerScenarios';

describeWorkerProcesses('fq');
