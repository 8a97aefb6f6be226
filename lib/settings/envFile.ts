/**
 * Reads a KEY=VALUE settings file (dotenv syntax, as the Python template's `task.env`), and says
 * which lines are not settings at all: dotenv skips such lines without a word, so a line like
 * `NAME 30` (a space for the `=`) would otherwise be lost silently.
 */
import { readFileSync } from 'node:fs';
import { parse as parseEnv } from 'dotenv';

export interface EnvFileNames {
  readonly name: string;
  readonly line: number;
}

export interface EnvFileRead {
  readonly values: Record<string, string>;
  /** Every assigned name with its line, for the unknown-name check. */
  readonly names: readonly EnvFileNames[];
  readonly problems: readonly string[];
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/;

export function readEnvFile(file: string, label: string): EnvFileRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    return {
      values: {},
      names: [],
      problems: [`${label} ${file} ${why}: pass an existing KEY=VALUE file, e.g. -e config/task.env`],
    };
  }
  const problems: string[] = [];
  const names: EnvFileNames[] = [];
  let openQuote: string | undefined;
  text.split(/\r?\n/).forEach((line, index) => {
    const lineNumber = index + 1;
    if (openQuote !== undefined) {
      // Inside a quoted value that spans lines: it ends at the line holding the closing quote.
      if (line.includes(openQuote)) openQuote = undefined;
      return;
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = ASSIGNMENT.exec(line);
    if (!match) {
      problems.push(
        `${label} ${file} line ${lineNumber} is not a setting: ${JSON.stringify(trimmed.slice(0, 80))}; ` +
          `write NAME=VALUE (or start the line with # for a comment)`,
      );
      return;
    }
    names.push({ name: match[1]!, line: lineNumber });
    const value = match[2]!.trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === '`') && value.indexOf(quote, 1) === -1) openQuote = quote;
  });
  return { values: parseEnv(text), names, problems };
}
