/** The worker's process-level scenarios (test/support/workerScenarios.ts) on SQS (the fauxqs server). */
import { describeWorkerProcesses } from './support/workerScenarios';

describeWorkerProcesses('sqs');
