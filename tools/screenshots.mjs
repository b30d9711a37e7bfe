// Screenshots of the two web pages as a user first sees them, at a laptop's 1366x900 and a phone's 390x844:
// the shopper page (`visearch serve`, pages built into the binary) after searching with bus.jpg, and the
// labelling tool (`visearch label`) on a copy of three coco128 photos after pre-labelling the first.
// The images are written to a folder, never committed: regenerate them to look at the pages.
//
//   node tools/screenshots.mjs [--out build/screenshots] [--binary build/visearch] [--pages-from-source]
//
// --pages-from-source serves web/ from this checkout (--static-dir, --web-dir) instead of the pages built into
// the binary: for looking at page changes without a rebuild.
// Needs the release build, Debian's chromium and `npm ci` in tests/e2e (tools/install-deps.sh does both);
// the models and data come from ../shared (or $VISEARCH_SHARED_DIR). Takes about a minute.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const sourceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const out = path.resolve(option('--out', path.join(sourceDir, 'build', 'screenshots')));
const binary = path.resolve(option('--binary', path.join(sourceDir, 'build', 'visearch')));
const sharedDir = process.env.VISEARCH_SHARED_DIR || path.resolve(sourceDir, '..', 'shared');
const chromiumPath = process.env.VISEARCH_CHROMIUM || '/usr/bin/chromium';
const fromSource = args.includes('--pages-from-source');
for (const [what, file] of [['the visearch binary', binary], ['chromium', chromiumPath],
  ['the shared data', path.join(sharedDir, 'data')]]) {
  if (!fs.existsSync(file)) {
    console.error(`screenshots: ${what} not found at ${file}`);
    process.exit(2);
  }
}
// playwright-core is installed for the end-to-end tests; use that copy.
const { chromium } = createRequire(path.join(sourceDir, 'tests', 'e2e', 'package.json'))('playwright-core');

const viewports = { desktop: { width: 1366, height: 900 }, phone: { width: 390, height: 844 } };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'visearch-shots-'));
const children = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function start(argv, name) {
  const port = await freePort();
  const log = path.join(work, `${name}.log`);
  const child = spawn(binary, [...argv, '--host', '127.0.0.1', '--port', String(port)],
    { stdio: ['ignore', 'ignore', fs.openSync(log, 'w')] });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 90000; Date.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${fs.readFileSync(log, 'utf8')}`);
    try {
      if ((await fetch(`${base}/ping`)).ok) return base;
    } catch (_) { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not become ready`);
}

async function shoot(browser, base, viewport, file, act) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  await page.goto(`${base}/`);
  await act(page);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(out, file), fullPage: false });
  await context.close();
  console.log(`screenshots: ${path.join(out, file)}`);
}

try {
  fs.mkdirSync(out, { recursive: true });
  // A demo catalog: one product per class from coco128, as the README's first run builds (smaller).
  const demo = path.join(work, 'demo');
  const data = path.join(work, 'catalog');
  execFileSync(binary, ['catalog', 'demo', '--out', demo, '--shared', path.join(sharedDir, 'data'),
    '--sources', 'coco128', '--max-per-label', '1', '--min-side', '96'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(binary, ['catalog', 'import', path.join(demo, 'products.jsonl'), '--data-dir', data,
    '--format', 'json'], { stdio: ['ignore', 'ignore', 'inherit'] });
  // A labelling project: three coco128 photos in YOLO layout.
  const coco128 = path.join(sharedDir, 'data', 'coco128-train2017');
  const project = path.join(work, 'project');
  fs.mkdirSync(path.join(project, 'images', 'train2017'), { recursive: true });
  for (const stem of ['000000000009', '000000000025', '000000000030']) {
    fs.copyFileSync(path.join(coco128, 'images', 'train2017', `${stem}.jpg`),
      path.join(project, 'images', 'train2017', `${stem}.jpg`));
  }
  fs.copyFileSync(path.join(coco128, 'data.yaml'), path.join(project, 'data.yaml'));

  const web = path.join(sourceDir, 'web');
  const shop = await start(['serve', '--data-dir', data, ...(fromSource ? ['--static-dir', web] : [])], 'serve');
  const label = await start(['label', project, ...(fromSource ? ['--web-dir', path.join(web, 'label')] : [])],
    'label');
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  const photo = path.join(sharedDir, 'data', 'samples', 'bus.jpg');
  for (const [name, viewport] of Object.entries(viewports)) {
    await shoot(browser, shop, viewport, `shopper-${name}.png`, async (page) => {
      await page.setInputFiles('#file-input', photo);
      await page.waitForSelector('#boxes .box');
      await page.waitForLoadState('networkidle');
    });
    await shoot(browser, label, viewport, `label-${name}.png`, async (page) => {
      await page.evaluate(() => window.labelApp.ready);
      await page.waitForFunction(() => window.labelApp.state.img !== null);
      if (await page.isVisible('#prelabel')) {
        await Promise.all([
          page.waitForResponse((r) => r.url().endsWith('/prelabel') && r.request().method() === 'POST'),
          page.click('#prelabel'),
        ]);
      }
      await page.waitForLoadState('networkidle');
    });
  }
  await browser.close();
} finally {
  for (const child of children) child.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
