/**
 * Real headless Chromium for the dashboard tests: Debian's `chromium` (scripts/test-tools.sh,
 * part `browser`) driven by playwright-core, and a look at screenshots' pixels, decoded by the
 * browser itself (no image library, no golden image).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export async function launchChromium(executablePath: string): Promise<Browser> {
  // As root (CI), Chromium refuses to start with its sandbox; the page is our own local one.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
}

export interface PixelStats {
  readonly width: number;
  readonly height: number;
  /** Distinct colours (quantised to 4 bits per channel). */
  readonly colours: number;
  /** Pixels within ±24 per channel of each colour asked for, by its `#rrggbb`. */
  readonly near: Record<string, number>;
}

type PixelStatsFunction = (base64: string, wanted: readonly string[]) => Promise<PixelStats>;

/** Decodes a PNG screenshot in the page (test/support/pixelStats.js) and counts its colours. */
export async function pixelStats(page: Page, png: Buffer, colours: readonly string[] = []): Promise<PixelStats> {
  // Evaluated, not added as a <script>: the dashboard's CSP (rightly) refuses inline scripts.
  await page.evaluate(readFileSync(path.join(__dirname, 'pixelStats.js'), 'utf8'));
  return page.evaluate(
    ([base64, wanted]) =>
      (globalThis as unknown as { gkePixelStats: PixelStatsFunction }).gkePixelStats(base64, wanted),
    [png.toString('base64'), colours] as const,
  );
}
