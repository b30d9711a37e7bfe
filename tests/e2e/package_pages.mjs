// The two web pages as the Debian package serves them, in headless Chromium: run by
// tests/package/package_test.sh against `visearch serve` and `visearch label` started from the unpacked
// package with no --static-dir / --web-dir and, where the kernel lets it, with the source and build folders
// hidden from them (an empty tmpfs mounted over each), so the pages can only come from the binary.
//
//   node package_pages.mjs SHOP_URL LABEL_URL PACKAGED_WEB_DIR PHOTO IMAGE_COUNT
//
// Checks, at 1366x900 and at 390x844 (touch): each page's files are the packaged copies (web/ under
// PREFIX/share/visearch), the shopper page loads with no script error and finds objects on PHOTO with
// products beside them, and the labelling page loads with no script error and lists IMAGE_COUNT images.
// Exits non-zero on the first failed check.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromiumArgs, chromiumPath, loadChromium, newPageWithErrors } from './helpers.mjs';

const [shopUrl, labelUrl, packagedWeb, photo, imageCountText] = process.argv.slice(2);
assert.ok(shopUrl && labelUrl && packagedWeb && photo && imageCountText,
  'usage: node package_pages.mjs SHOP_URL LABEL_URL PACKAGED_WEB_DIR PHOTO IMAGE_COUNT');
const imageCount = Number(imageCountText);
let checks = 0;
function ok(name) {
  checks += 1;
  console.log(`ok ${checks} - ${name}`);
}

// The bytes a server answers for `url` equal the packaged file (the package's web/ and the embedded pages
// come from the same build, so a difference means the binary served some other copy).
async function sameAsPackaged(url, file) {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url} answered ${res.status}`);
  const served = Buffer.from(await res.arrayBuffer());
  assert.ok(served.equals(fs.readFileSync(path.join(packagedWeb, file))), `${url} is not the packaged ${file}`);
}

const chromium = await loadChromium();
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
try {
  for (const [url, file] of [[`${shopUrl}/`, 'index.html'], [`${shopUrl}/app.js`, 'app.js'],
    [`${shopUrl}/style.css`, 'style.css'], [`${labelUrl}/`, 'label/index.html'],
    [`${labelUrl}/label.js`, 'label/label.js']]) {
    await sameAsPackaged(url, file);
  }
  ok('both servers answer with the packaged pages');

  const viewports = [
    { name: 'desktop 1366x900', options: { viewport: { width: 1366, height: 900 } } },
    { name: 'phone 390x844', options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } },
  ];
  for (const { name, options } of viewports) {
    const shop = await newPageWithErrors(browser, options);
    const response = await shop.goto(`${shopUrl}/`);
    assert.equal(response.status(), 200);
    await shop.waitForFunction(() => /\d+ products? in \d+ categor/.test(
      document.getElementById('catalog-info').textContent));
    await shop.setInputFiles('#file-input', photo);
    await shop.waitForSelector('#boxes .box');
    const labels = await shop.$$eval('#boxes .box', (nodes) => nodes.map((n) => n.dataset.label));
    assert.ok(labels.length >= 1, 'no box drawn');
    assert.match(await shop.textContent('#status'), /\d+ objects? found/);
    await shop.waitForSelector('#selected-products .product');
    assert.deepEqual(shop.scriptErrors, [], `script errors on the shopper page: ${shop.scriptErrors.join(' | ')}`);
    ok(`${name}: the shopper page finds ${labels.join(', ')} on ${path.basename(photo)} with no script error`);
    await shop.context().close();

    const label = await newPageWithErrors(browser, options);
    assert.equal((await label.goto(`${labelUrl}/`)).status(), 200);
    await label.waitForFunction(() => window.labelApp && window.labelApp.ready);
    await label.evaluate(() => window.labelApp.ready);
    await label.waitForFunction((n) => document.querySelectorAll('#image-list li').length === n, imageCount);
    assert.deepEqual(label.scriptErrors, [], `script errors on the labelling page: ${label.scriptErrors.join(' | ')}`);
    ok(`${name}: the labelling page lists its ${imageCount} images with no script error`);
    await label.context().close();
  }
} finally {
  await browser.close();
}
console.log(`package_pages: ${checks} checks passed`);
