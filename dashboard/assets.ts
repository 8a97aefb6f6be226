/**
 * The page's files, made once per process: the client (dashboard/client/main.ts, TypeScript)
 * bundled with uPlot by esbuild from node_modules, the styles (ours and uPlot's), and the HTML
 * with this process's requeue token. Nothing is loaded from another host.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const CLIENT = path.join(__dirname, 'client');

export interface PageAssets {
  readonly html: string;
  readonly script: string;
  readonly styles: string;
}

let bundled: Promise<string> | undefined;

/** The client bundle (an IIFE, no source imports left), built on first use. */
function clientScript(): Promise<string> {
  bundled ??= build({
    entryPoints: [path.join(CLIENT, 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    tsconfig: path.join(CLIENT, 'tsconfig.json'),
  }).then((result) => result.outputFiles[0].text);
  return bundled;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export async function pageAssets(token: string, title: string): Promise<PageAssets> {
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const ours = readFileSync(path.join(CLIENT, 'style.css'), 'utf8');
  const html = readFileSync(path.join(CLIENT, 'index.html'), 'utf8')
    .replace('{{token}}', escapeAttribute(token))
    .replace('{{title}}', escapeAttribute(title).replace(/>/g, '&gt;'));
  return { html, script: await clientScript(), styles: `${uplotCss}\n${ours}` };
}
