/**
 * `npm run insert`: see cli/insertCommand.ts. This file only makes sure the command runs with
 * the Node flags it needs (lib/cli/nodeFlags.ts), starting itself again with them if need be.
 */
import { INSERT_NODE_FLAGS, relaunchedWith } from '../lib/cli/nodeFlags';

if (!relaunchedWith(INSERT_NODE_FLAGS)) require('./insertCommand');
