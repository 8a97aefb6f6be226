/**
 * Imported first by a command that should start fast (`npm run status`): V8 keeps the code it
 * compiled for every module loaded after this one on disk (in the system's temporary folder) and
 * reuses it on the next start, where checking a hash replaces parsing and compiling the command's
 * ≈200 modules. A cache that cannot be written is skipped by Node without an error.
 */
import { enableCompileCache } from 'node:module';

enableCompileCache();
