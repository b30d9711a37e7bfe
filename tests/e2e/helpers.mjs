// Shared pieces of the Chromium tests: playwright-core from this folder's node_modules (`npm ci` here), a
// free loopback port, waiting for a visearch server's /ping, and a headless Chromium that records script
// errors. Used by shopper.test.mjs, label/label.test.mjs and package_pages.mjs (the package test); node
// resolves playwright-core from this file's folder, so a script elsewhere needs no node_modules of its own.
import fs from 'node:fs';

export const chromiumPath = process.env.VISEARCH_CHROMIUM || '/usr/bin/chromium';

export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

// playwright-core's chromium, with a clear message when `npm ci` has not been run in tests/e2e.
export async function loadChromium() {
  if (!fs.existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath} (apt-get install chromium)`);
  const { chromium } = await import('playwright-core').catch(() => {
    throw new Error('playwright-core is missing: run `npm ci` in tests/e2e');
  });
  return chromium;
}

// The contract tests' free-port helper (one copy for every Node test).
export { freePort } from '../contract/lib/servers.mjs';

// Resolves once `${base}/ping` answers 200; rejects with the server's log when the child exits or after 60 s.
export async function waitForPing(base, child, log) {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited:\n${fs.readFileSync(log, 'utf8')}`);
    try {
      const res = await fetch(`${base}/ping`);
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not become ready:\n${fs.readFileSync(log, 'utf8')}`);
}

// A page whose uncaught exceptions and console errors are collected in page.scriptErrors.
export async function newPageWithErrors(browser, contextOptions) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.scriptErrors = [];
  page.on('pageerror', (err) => page.scriptErrors.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') page.scriptErrors.push(msg.text()); });
  page.setDefaultTimeout(30000);
  return page;
}
