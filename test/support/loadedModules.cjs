/**
 * Preloaded by a test through NODE_OPTIONS (`--require test/support/loadedModules.cjs`, before any
 * TypeScript loader, hence plain CommonJS): when the process exits, writes the path of every module it
 * loaded, one a line, to the file named by LOADED_MODULES_FILE.
 */
'use strict';
const { writeFileSync } = require('node:fs');

const file = process.env.LOADED_MODULES_FILE;
if (file) process.once('exit', () => writeFileSync(file, Object.keys(require.cache).join('\n')));
