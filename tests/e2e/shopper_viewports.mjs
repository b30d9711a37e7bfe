// The shopper page's checks from issue 12, run on a desktop (1366x900, mouse) and on a phone (390x844,
// touch): the smallest box under the pointer is picked and tiny boxes are tappable; box labels stay inside
// the photo, whole, apart and on top; focus lands on the results and Tab reaches product cards that open a
// detail view; the photo shows at once with a loading state and the upload card shrinks to a bar; the file
// picker and hints fit the device and errors are plain; no tint on the selected box, no percentages, one chip
// per kind of object; every object's products in one row; an object the catalog lacks says "No good match";
// a click (desktop) or tap (phone) on a product card opens that product's details. Called by shopper.test.mjs
// with its browser, server and check().
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

export const VIEWPORTS = [
  { name: 'desktop', options: { viewport: { width: 1366, height: 900 } } },
  {
    name: 'phone',
    touch: true,
    options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  },
];

// A 1x1 GIF: a format the server does not read.
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

// Uploads a photo and waits for its results (new boxes drawn, nothing busy).
async function upload(page, file) {
  await page.evaluate(() => { window.__previousBox = document.querySelector('#boxes .box'); });
  await page.setInputFiles('#file-input', file);
  await page.waitForFunction(() => {
    const first = document.querySelector('#boxes .box');
    return first && first !== window.__previousBox && !document.getElementById('results').hidden &&
      document.getElementById('results').getAttribute('aria-busy') !== 'true';
  });
}

// The boxes drawn over the photo: index, object name and rectangle in the viewport.
function boxes(page) {
  return page.$$eval('#boxes .box', (nodes) => nodes.map((n) => {
    const r = n.getBoundingClientRect();
    return {
      index: Number(n.dataset.index),
      name: n.dataset.label || (n.getAttribute('aria-label') || '').replace(/[ (:].*$/, ''),
      x: r.left, y: r.top, w: r.width, h: r.height,
    };
  }));
}

function selectedIndex(page) {
  return page.$eval('#boxes .box[aria-pressed="true"]', (n) => Number(n.dataset.index));
}

async function pointAt(page, touch, x, y) {
  if (touch) await page.touchscreen.tap(x, y);
  else await page.mouse.click(x, y);
}

const inside = (p, r) => p.x >= r.x && p.x <= r.x + r.w && p.y >= r.y && p.y <= r.y + r.h;

// Labels of the boxes: inside the photo, not cut, not on each other, not under anything.
async function checkLabels(page, viewportWidth) {
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= viewportWidth, `the page is ${scrollWidth} px wide at ${viewportWidth} px`);
  await page.locator('#stage').scrollIntoViewIfNeeded();
  const result = await page.evaluate(() => {
    const stage = document.getElementById('stage').getBoundingClientRect();
    const labels = [...document.querySelectorAll('#stage .box-label')].map((n) => {
      const r = n.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return {
        text: n.textContent, x: r.left, y: r.top, w: r.width, h: r.height,
        cut: n.scrollWidth > n.clientWidth + 1 || /\($|…$/.test(n.textContent),
        onTop: hit === n || n.contains(hit),
      };
    });
    return { stage: { x: stage.left, y: stage.top, w: stage.width, h: stage.height }, labels };
  });
  const { stage, labels } = result;
  assert.ok(labels.length >= 2, `expected labels, got ${JSON.stringify(labels)}`);
  for (const l of labels) {
    assert.ok(l.x >= stage.x - 1 && l.y >= stage.y - 1 && l.x + l.w <= stage.x + stage.w + 1 &&
      l.y + l.h <= stage.y + stage.h + 1, `label "${l.text}" sticks out of the photo: ` +
      `${JSON.stringify(l)} in ${JSON.stringify(stage)}`);
    assert.ok(!l.cut, `label "${l.text}" is cut`);
    assert.ok(l.onTop, `label "${l.text}" is hidden under something`);
  }
  for (let i = 0; i < labels.length; i += 1) {
    for (let j = i + 1; j < labels.length; j += 1) {
      const a = labels[i];
      const b = labels[j];
      const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      assert.ok(w <= 1 || h <= 1, `labels "${a.text}" and "${b.text}" overlap`);
    }
  }
}

export async function viewportChecks({ browser, base, sharedDir, check, pageErrors }) {
  const samples = path.join(sharedDir, 'data', 'samples');
  const bus = path.join(samples, 'bus.jpg');                  // 3 people in front of a bus
  const livingRoom = path.join(samples, '000000000139.jpg');  // tv, chairs, vase, a tiny clock at the edge
  assert.ok(fs.existsSync(bus) && fs.existsSync(livingRoom));

  for (const view of VIEWPORTS) {
    const { width, height } = view.options.viewport;
    const tag = `[${view.name} ${width}x${height}]`;
    const context = await browser.newContext(view.options);
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`${tag} ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') pageErrors.push(`${tag} ${msg.text()}`); });
    page.setDefaultTimeout(30000);
    const searches = [];
    page.on('request', (req) => { if (req.url().endsWith('/v1/search')) searches.push(req.url()); });

    try {
      await page.goto(`${base}/`);

      await check(`${tag} the file picker offers only the server's formats; hints fit the device`, async () => {
        for (const input of ['#file-input', '#camera-input']) {
          const accept = await page.getAttribute(input, 'accept');
          assert.doesNotMatch(accept, /image\/\*|gif/i, `${input} accepts ${accept}`);
        }
        const accept = await page.getAttribute('#file-input', 'accept');
        for (const type of ['image/jpeg', 'image/png', 'image/webp', 'image/bmp']) assert.match(accept, new RegExp(type));
        const text = await page.evaluate(() => document.body.innerText);
        if (view.touch) {
          assert.equal(await page.isVisible('#camera-button'), true, 'a phone offers the camera');
          assert.doesNotMatch(text, /Ctrl/, 'a phone is told about Ctrl+V');
        } else {
          assert.equal(await page.isVisible('#camera-button'), false, 'a desktop offers "Take a photo"');
          assert.doesNotMatch(text, /Take a photo/);
          assert.match(text, /Ctrl\s*\+\s*V/);
        }
      });

      await check(`${tag} a GIF is refused before upload; errors name the formats once, without server text`,
        async () => {
          const before = searches.length;
          await page.setInputFiles('#file-input', { name: 'anim.gif', mimeType: 'image/gif', buffer: GIF });
          await page.waitForSelector('#error:not([hidden])');
          const count = (s) => (s.match(/webp/gi) || []).length;
          let error = await page.textContent('#error');
          assert.match(error, /anim\.gif/);
          assert.equal(count(await page.evaluate(() => document.body.innerText)), 1,
            `the format list is shown more than once: ${error}`);
          assert.equal(searches.length, before, 'a GIF was sent to the server');
          await page.setInputFiles('#file-input',
            { name: 'fake.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not really a jpeg') });
          await page.waitForFunction(() => !document.getElementById('error').hidden &&
            !/anim\.gif/.test(document.getElementById('error').textContent));
          error = await page.textContent('#error');
          assert.doesNotMatch(error, /unsupported image format|supported formats|\(/i, `raw server text: ${error}`);
          assert.equal(count(await page.evaluate(() => document.body.innerText)), 1,
            `the format list is shown more than once: ${error}`);
        });

      await check(`${tag} a person inside the bus box is the person; the bus elsewhere is the bus`, async () => {
        await upload(page, bus);
        const all = await boxes(page);
        const busBox = all.find((b) => b.name === 'bus');
        assert.ok(busBox, JSON.stringify(all));
        const people = all.filter((b) => b.name === 'person' && inside({ x: b.x + b.w / 2, y: b.y + b.h / 2 }, busBox));
        assert.ok(people.length >= 2, `expected people in front of the bus: ${JSON.stringify(all)}`);
        // Selecting scrolls to the products on a phone: bring the photo back and measure again each time.
        const at = async (index) => {
          await page.locator(`#boxes .box[data-index="${index}"]`).scrollIntoViewIfNeeded();
          return (await boxes(page)).find((b) => b.index === index);
        };
        for (const { index } of people) {
          const person = await at(index);
          await pointAt(page, view.touch, person.x + person.w / 2, person.y + person.h / 2);
          assert.equal(await selectedIndex(page), index,
            `${view.touch ? 'tapping' : 'clicking'} person ${index} selected another object`);
        }
        const b = await at(busBox.index);
        const p = { x: b.x + b.w * 0.6, y: b.y + b.h * 0.15 };
        assert.ok(!(await boxes(page)).some((o) => o.index !== b.index && inside(p, o)));
        await pointAt(page, view.touch, p.x, p.y);
        assert.equal(await selectedIndex(page), b.index);
      });

      await check(`${tag} the selected box does not tint the photo; no percentages; one chip per object kind`,
        async () => {
          const background = await page.$eval('#boxes .box[aria-pressed="true"]',
            (n) => getComputedStyle(n).backgroundColor);
          const alpha = /rgba\(.*,\s*([\d.]+)\)/.exec(background);
          assert.ok(background === 'transparent' || (alpha && Number(alpha[1]) === 0),
            `the selected box is tinted ${background}`);
          const shown = await page.evaluate(() => {
            const root = document.getElementById('results');
            const attrs = [...root.querySelectorAll('[title], [aria-label]')]
              .map((n) => `${n.getAttribute('title') || ''} ${n.getAttribute('aria-label') || ''}`);
            return `${root.innerText} ${attrs.join(' ')}`;
          });
          assert.doesNotMatch(shown, /\d\s*%/, 'a confidence percentage is shown');
          const chips = await page.$$eval('#object-chips .chip',
            (nodes) => nodes.map((n) => n.textContent.replace(/\s*[·(].*$/s, '').trim()));
          assert.equal(new Set(chips).size, chips.length, `duplicate chips: ${chips.join(', ')}`);
          assert.deepEqual([...chips].sort(), ['bus', 'person']);
        });

      await check(`${tag} after a search focus is on the results; Tab reaches a product card that opens details`,
        async () => {
          await upload(page, livingRoom);
          const focus = await page.evaluate(() => {
            const a = document.activeElement;
            return { inResults: !!a && a !== document.body && document.getElementById('results').contains(a),
              what: a ? `${a.tagName}#${a.id}.${a.className}` : 'none' };
          });
          assert.ok(focus.inResults, `focus is on ${focus.what}`);
          let onCard = false;
          for (let i = 0; i < 3 && !onCard; i += 1) {
            await page.keyboard.press('Tab');
            onCard = await page.evaluate(() => !!document.activeElement.closest('#selected-products .product'));
          }
          assert.ok(onCard, 'Tab does not reach a product card');
          const title = await page.evaluate(
            () => document.activeElement.closest('.product').querySelector('.product-title').textContent);
          await page.keyboard.press('Enter');
          await page.waitForSelector('#product-dialog[open]');
          assert.equal(await page.textContent('#dialog-title'), title);
          assert.equal(await page.evaluate(
            () => document.getElementById('product-dialog').contains(document.activeElement)), true);
          // The detail view adds what the search answer lacks: the catalog's description.
          await page.waitForFunction(() => document.getElementById('dialog-description').textContent.length > 10);
          await page.keyboard.press('Escape');
          await page.waitForSelector('#product-dialog:not([open])', { state: 'attached' });
          assert.equal(await page.evaluate(() => !!document.activeElement.closest('#selected-products .product')),
            true, 'closing the details does not return focus to the card');
        });

      await check(`${tag} a tiny box (the clock) has a finger-sized hit area`, async () => {
        const found = (await boxes(page)).find((b) => b.name === 'clock');
        assert.ok(found, 'no clock detected in 000000000139.jpg');
        await page.locator(`#boxes .box[data-index="${found.index}"]`).scrollIntoViewIfNeeded();
        const clock = (await boxes(page)).find((b) => b.index === found.index);
        const cx = clock.x + clock.w / 2;
        const cy = clock.y + clock.h / 2;
        for (const [dx, dy] of [[0, 0], [-11, 0], [11, 0], [0, -11], [0, 11]]) {
          const hit = await page.evaluate(([x, y]) => {
            const n = document.elementFromPoint(x, y);
            const target = n && n.closest('.box, .box-label');
            return target ? Number(target.dataset.index) : -1;
          }, [cx + dx, cy + dy]);
          assert.equal(hit, clock.index,
            `the ${Math.round(clock.w)}x${Math.round(clock.h)} px clock is not hit at (${dx}, ${dy}) from its centre`);
        }
        await pointAt(page, view.touch, cx + 8, cy);
        assert.equal(await selectedIndex(page), clock.index);
      });

      await check(`${tag} box labels stay inside the photo, whole, apart and on top (living room)`, async () => {
        await checkLabels(page, width);
      });

      await check(`${tag} Enter on a box moves focus on, and Tab then reaches a product card`, async () => {
        await page.focus('#boxes .box[aria-pressed="true"]');
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('Enter');
        const active = await page.evaluate(() => document.activeElement !== document.body &&
          document.activeElement.matches(':focus'));
        assert.ok(active, 'Enter on a box dropped the focus');
        await page.keyboard.press('Tab');
        assert.equal(await page.evaluate(() => !!document.activeElement.closest('#selected-products .product')),
          true, 'the next Tab after Enter on a box does not reach a product card');
      });

      await check(`${tag} the new photo shows at once with a loading state; then a small bar above it`, async () => {
        let release;
        let arrived;
        const gate = new Promise((resolve) => { release = resolve; });
        const held = new Promise((resolve) => { arrived = resolve; });
        await page.route('**/v1/search', async (route) => {
          arrived();
          await gate;
          await route.continue();
        });
        try {
          await page.evaluate(() => { window.__previousBox = document.querySelector('#boxes .box'); });
          await page.setInputFiles('#file-input', bus);
          await held;
          // While the server is still working: the bus photo (810x1080) is on screen, with a loading state.
          await page.waitForFunction(() => {
            const img = document.getElementById('photo');
            const r = img.getBoundingClientRect();
            return img.complete && img.naturalWidth === 810 && r.width > 0 && r.height > 0 &&
              img.checkVisibility();
          });
          assert.equal(await page.isVisible('#loading'), true, 'no loading state over the photo');
          assert.equal(await page.getAttribute('#results', 'aria-busy'), 'true');
        } finally {
          release();
        }
        await page.waitForFunction(() => {
          const first = document.querySelector('#boxes .box');
          return first && first !== window.__previousBox &&
            document.getElementById('results').getAttribute('aria-busy') !== 'true';
        });
        await page.unroute('**/v1/search');
        assert.equal(await page.isVisible('#loading'), false);
        const layout = await page.evaluate(() => {
          const rect = (id) => {
            const r = document.getElementById(id).getBoundingClientRect();
            return { x: r.left, y: r.top + window.scrollY, right: r.right, bottom: r.bottom + window.scrollY,
              h: r.height };
          };
          return { picker: rect('picker'), photo: rect('photo'), products: rect('selected') };
        });
        assert.ok(layout.picker.h <= 90, `the upload card is still ${layout.picker.h} px tall`);
        assert.ok(layout.photo.y <= 250, `the photo starts ${layout.photo.y} px down`);
        if (!view.touch) {
          assert.ok(layout.photo.bottom <= height, `the photo runs past the fold: ${JSON.stringify(layout)}`);
          assert.ok(layout.products.x >= layout.photo.right - 1 && layout.products.y < layout.photo.bottom,
            `the products are not beside the photo: ${JSON.stringify(layout)}`);
        }
      });

      await check(`${tag} box labels stay inside the photo, whole, apart and on top (bus)`, async () => {
        await checkLabels(page, width);
      });

      await check(`${tag} every object's products are one row each (no orphan cards, no sideways page)`,
        async () => {
          await page.evaluate(() => { const all = document.getElementById('all'); if ('open' in all) all.open = true; });
          const rows = await page.$$eval('#all-objects .products', (lists) => lists.map((list) =>
            new Set([...list.querySelectorAll('.product')].map((n) => Math.round(n.getBoundingClientRect().top))).size));
          assert.ok(rows.length >= 2, `expected several objects' lists, got ${rows.length}`);
          assert.ok(rows.every((n) => n === 1), `rows per object: ${rows.join(', ')}`);
          const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
          assert.ok(scrollWidth <= width, `the page is ${scrollWidth} px wide at ${width} px`);
        });
      await check(`${tag} a photo with nothing detected says so, with no "whole photo" box or chip`, async () => {
        // A plain grey 300x200 BMP.
        const w = 300;
        const h = 200;
        const header = Buffer.alloc(54);
        header.write('BM', 0);
        header.writeUInt32LE(54 + w * h * 3, 2);
        header.writeUInt32LE(54, 10);
        header.writeUInt32LE(40, 14);
        header.writeInt32LE(w, 18);
        header.writeInt32LE(h, 22);
        header.writeUInt16LE(1, 26);
        header.writeUInt16LE(24, 28);
        header.writeUInt32LE(w * h * 3, 34);
        const blank = Buffer.concat([header, Buffer.alloc(w * h * 3, 0xf0)]);
        await page.setInputFiles('#file-input', { name: 'blank.bmp', mimeType: 'image/bmp', buffer: blank });
        await page.waitForFunction(() => /No distinct object/.test(document.getElementById('status').textContent) &&
          document.getElementById('results').getAttribute('aria-busy') !== 'true');
        assert.equal(await page.locator('#boxes .box').count(), 0);
        assert.equal(await page.locator('#object-chips .chip').count(), 0);
        assert.doesNotMatch(await page.textContent('#selected-title'), /whole photo/);
        assert.equal(await page.isVisible('#loading'), false);
      });

      // The demo catalog sells laptops and TVs, not keyboards or mice (000000001503.jpg has all four): those
      // objects say "No good match" instead of listing unrelated products, in the list and when selected.
      await check(`${tag} an object the catalog lacks says "No good match in the catalog for this object"`,
        async () => {
          await upload(page, path.join(samples, '000000001503.jpg'));
          await page.evaluate(() => { const all = document.getElementById('all'); if ('open' in all) all.open = true; });
          const sections = await page.$$eval('#all-objects .object-results', (nodes) => nodes.map((n) => ({
            title: n.querySelector('h3').textContent,
            products: n.querySelectorAll('.product').length,
            empty: n.querySelector('.empty') ? n.querySelector('.empty').textContent : '',
          })));
          const empty = sections.filter((s) => s.products === 0);
          assert.ok(empty.length >= 1 && sections.some((s) => s.products > 0), JSON.stringify(sections));
          for (const s of empty) {
            assert.match(s.empty, /No good match in the catalog for this object/, JSON.stringify(sections));
          }
          const chip = page.locator('#object-chips .chip', { hasText: 'keyboard' });
          if (view.touch) await chip.tap(); else await chip.click();
          await page.waitForFunction(() => /Products for keyboard/.test(document.getElementById('selected-title').textContent));
          const shown = await page.evaluate(() => {
            const n = document.getElementById('selected-products');
            const r = n.getBoundingClientRect();
            return { text: n.textContent, cards: n.querySelectorAll('.product').length, visible: n.checkVisibility(),
              left: r.left, right: r.right, scroll: document.documentElement.scrollWidth };
          });
          assert.match(shown.text, /No good match in the catalog for this object/, JSON.stringify(shown));
          assert.equal(shown.cards, 0);
          assert.ok(shown.visible && shown.left >= 0 && shown.right <= width + 1 && shown.scroll <= width,
            `the message does not fit the ${width} px screen: ${JSON.stringify(shown)}`);
        });

      await check(`${tag} ${view.touch ? 'tapping' : 'clicking'} a product card opens that product's details`,
        async () => {
          const chip = page.locator('#object-chips .chip', { hasText: 'tv' });
          if (view.touch) await chip.tap(); else await chip.click();
          await page.waitForFunction(() => /Products for tv/.test(document.getElementById('selected-title').textContent));
          const card = page.locator('#selected-products .product').first();
          await card.scrollIntoViewIfNeeded();
          const id = await card.getAttribute('data-product-id');
          const title = await card.locator('.product-title').textContent();
          const [detail] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith(`/v1/products/${encodeURIComponent(id)}`)),
            view.touch ? card.locator('.product-open').tap() : card.locator('.product-open').click(),
          ]);
          assert.equal(detail.status(), 200);
          await page.waitForSelector('#product-dialog[open]');
          assert.equal(await page.textContent('#dialog-title'), title);
          await page.waitForFunction(() => {
            const img = document.getElementById('dialog-image');
            return img.complete && img.naturalWidth > 0 && document.getElementById('dialog-description').textContent.length > 10;
          });
          const box = await page.evaluate(() => {
            const r = document.getElementById('product-dialog').getBoundingClientRect();
            const link = document.getElementById('dialog-link');
            return { left: r.left, right: r.right, top: r.top, link: link.hidden ? '' : link.href };
          });
          assert.ok(box.left >= 0 && box.right <= width + 1 && box.top >= 0,
            `the details do not fit the ${width} px screen: ${JSON.stringify(box)}`);
          if (box.link) assert.match(box.link, /^https?:\/\//);
          const close = page.locator('#dialog-close');
          if (view.touch) await close.tap(); else await close.click();
          await page.waitForSelector('#product-dialog:not([open])', { state: 'attached' });
        });
    } finally {
      await context.close();
    }
  }
}
