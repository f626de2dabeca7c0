// What the browser tests share: their config, the record of what the pages did, and a run in
// headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) on a fresh
// profile, whose report (one JSON object) goes to stdout for the pytest side to assert on.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

export const config = JSON.parse(process.argv[2]);
export const origin = new URL(config.baseUrl).origin;
export const timeout = config.timeoutMs ?? 30000;
mkdirSync(config.artifacts, { recursive: true });

// Every request the pages made (one to another origin is recorded in `foreign` and never
// sent), console errors, page errors and CSP violations: the report's `seen`.
export const seen = { requests: [], foreign: [], consoleErrors: [], pageErrors: [], cspViolations: [] };
export const out = { seen };

// Runs `steps(context)` in a fresh browser context, then writes the report and exits (1 when
// a step threw: the report's `failure` says where).
export async function runInChromium(steps) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'issuegraph-chromium-'));
  let failure = null;
  let context = null;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: config.chromium ?? process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1440, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      seen.requests.push(url);
      if (new URL(url).origin !== origin && !url.startsWith('data:') && !url.startsWith('blob:')) {
        seen.foreign.push(url);
        return route.abort();
      }
      return route.continue();
    });
    context.on('console', (message) => {
      if (message.type() === 'error') seen.consoleErrors.push(message.text());
    });
    context.on('weberror', (error) => seen.pageErrors.push(String(error.error())));
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        (window.__cspViolations ??= []).push(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    await steps(context);
  } catch (error) {
    failure = String(error?.stack ?? error);
  } finally {
    await context?.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
  out.failure = failure;
  // Exit once the report is written: a pipe takes it in several writes.
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(failure ? 1 : 0));
}
