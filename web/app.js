// visearch shopper page: pick / drop / paste / photograph an image, POST it to /v1/search, draw the
// detected objects over the photo and list each object's products. Plain ES module, no dependencies.

const MAX_BYTES = 20 * 1024 * 1024;  // the server's default --max-body-mb
// The formats the server decodes (src/io): JPEG, PNG, WebP and BMP. Not GIF, HEIC, TIFF or SVG.
const IMAGE_TYPES = new Set(['image/jpeg', 'image/pjpeg', 'image/png', 'image/webp', 'image/bmp',
  'image/x-ms-bmp']);
const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp|bmp)$/i;
const FORMATS = 'JPEG, PNG, WebP or BMP';
const PRODUCTS_PER_OBJECT = 8;
const MIN_HIT_PX = 32;      // the smallest box a finger can hit: tiny boxes get a larger invisible target
const LABEL_GAP = 2;

const $ = (id) => document.getElementById(id);
const els = {
  catalogInfo: $('catalog-info'),
  picker: $('picker'),
  dropzone: $('dropzone'),
  chooseButton: $('choose-button'),
  cameraButton: $('camera-button'),
  fileInput: $('file-input'),
  cameraInput: $('camera-input'),
  formats: $('formats'),
  status: $('status'),
  error: $('error'),
  results: $('results'),
  stage: $('stage'),
  photo: $('photo'),
  boxes: $('boxes'),
  labels: $('labels'),
  loading: $('loading'),
  chips: $('object-chips'),
  selected: $('selected'),
  selectedTitle: $('selected-title'),
  selectedProducts: $('selected-products'),
  all: $('all'),
  allObjects: $('all-objects'),
  dialog: $('product-dialog'),
  dialogTitle: $('dialog-title'),
  dialogClose: $('dialog-close'),
  dialogImage: $('dialog-image'),
  dialogThumbs: $('dialog-thumbs'),
  dialogPrice: $('dialog-price'),
  dialogMeta: $('dialog-meta'),
  dialogDescription: $('dialog-description'),
  dialogAttributes: $('dialog-attributes'),
  dialogLink: $('dialog-link'),
  refine: $('refine'),
  refineInput: $('refine-input'),
};

let current = null;        // the last search response
let lastFile = null;       // the photo of the last search, searched again with words (Refine)
let groups = [];           // objects with the same name, one chip each: [{name, members: [index...]}]
let selectedIndex = -1;
let photoUrl = null;       // object URL of the displayed photo
let inflight = null;       // AbortController of the running search
let dialogOpener = null;   // the product card that opened the detail view

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function objectName(object) {
  return object.label || (object.whole_image ? 'whole photo' : 'object');
}

// "person", or "person 2 of 3" when the photo holds several objects of that name.
function objectTitle(index) {
  const object = current.objects[index];
  const group = groups.find((g) => g.members.includes(index));
  if (!group || group.members.length < 2) return objectName(object);
  return `${objectName(object)} ${group.members.indexOf(index) + 1} of ${group.members.length}`;
}

function formatPrice(price, currency) {
  if (price === null || price === undefined) return '';
  try {
    if (currency) return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(price);
  } catch (_) { /* unknown currency code: plain number below */ }
  return `${price.toFixed(2)}${currency ? ' ' + currency : ''}`;
}

function showError(message) {
  els.error.textContent = message;
  els.error.hidden = false;
  els.formats.hidden = true;   // the message names the formats; the hint would say it twice
  els.status.textContent = '';
}

function clearError() {
  els.error.hidden = true;
  els.error.textContent = '';
  els.formats.hidden = false;
}

function setBusy(busy) {
  els.results.setAttribute('aria-busy', busy ? 'true' : 'false');
  els.loading.hidden = !busy;
  els.stage.classList.toggle('busy', busy);
}

// The upload card becomes a one-line "new photo" bar while a photo is shown.
function setCompact(compact) {
  els.picker.classList.toggle('compact', compact);
  els.chooseButton.textContent = compact ? 'New photo' : 'Choose a photo';
}

// A readable sentence for an error response of the API ({"error": {"code", "message"}}). The server's own
// message is for developers (it is in the console's network log), not for shoppers.
function describeError(status, body) {
  const code = body && body.error && body.error.code;
  switch (code) {
    case 'unsupported_format':
    case 'corrupt_image':
    case 'unsupported_media_type':
      return `This file could not be read as a photo. Please choose a ${FORMATS} image.`;
    case 'image_too_large':
    case 'payload_too_large':
      return 'This photo is too large for the server. Please choose a smaller one.';
    case 'unauthorized':
      return 'This server needs an API key for searches, which this page cannot send. ' +
        'Its operator can start it with --public-search to open searching to shoppers.';
    case 'unavailable':
    case 'overloaded':
      return 'Search is busy or not available right now. Please try again in a moment.';
    case 'deadline_exceeded':
      return 'The search took too long. Please try again.';
    default:
      return `The search failed (HTTP ${status}). Please try again.`;
  }
}

function isImageFile(file) {
  if (file.type) return IMAGE_TYPES.has(file.type.toLowerCase());
  return IMAGE_EXTENSIONS.test(file.name || '');
}

async function handleFile(file) {
  clearError();
  if (!file) return;
  const name = file.name ? `“${file.name}”` : 'This file';
  if (!isImageFile(file)) {
    const what = file.type && file.type.startsWith('image/') ? 'is not a format this search can read' :
      'is not a photo';
    showError(`${name} ${what}. Please choose a ${FORMATS} image.`);
    return;
  }
  if (file.size === 0) {
    showError(`${name} is empty. Please choose another photo.`);
    return;
  }
  if (file.size > MAX_BYTES) {
    showError(`${name} is larger than ${MAX_BYTES / 1024 / 1024} MB. Please choose a smaller photo.`);
    return;
  }
  els.refineInput.value = '';
  await search(file);
}

// Shows the chosen photo at once, with a loading state over it, while the search runs.
function showPending(file) {
  if (photoUrl) URL.revokeObjectURL(photoUrl);
  photoUrl = URL.createObjectURL(file);
  current = null;
  groups = [];
  selectedIndex = -1;
  els.photo.src = photoUrl;
  els.boxes.replaceChildren();
  els.labels.replaceChildren();
  els.chips.replaceChildren();
  els.allObjects.replaceChildren();
  els.all.hidden = true;
  els.selectedTitle.textContent = 'Products';
  const list = el('ul', { id: 'selected-products', class: 'products loading-list' });
  for (let i = 0; i < 4; i += 1) list.append(el('li', { class: 'product placeholder', 'aria-hidden': 'true' }));
  els.selectedProducts.replaceWith(list);
  els.selectedProducts = list;
  els.results.hidden = false;
  setCompact(true);
  setBusy(true);
}

function hidePending() {
  setBusy(false);
  if (!current) {
    els.results.hidden = true;
    setCompact(false);
  }
}

async function search(file, words = '') {
  if (inflight) inflight.abort();
  lastFile = file;
  const controller = new AbortController();
  inflight = controller;
  showPending(file);
  els.status.textContent = 'Finding the objects in your photo and matching products…';
  const form = new FormData();
  form.append('image', file, file.name || 'photo');
  form.append('limit', String(PRODUCTS_PER_OBJECT));
  if (words) form.append('q', words);
  let response;
  let body = null;
  try {
    response = await fetch('/v1/search', { method: 'POST', body: form, signal: controller.signal });
    body = await response.json().catch(() => null);
  } catch (err) {
    if (controller.signal.aborted) return;
    hidePending();
    showError('The server could not be reached. Check your connection and try again.');
    return;
  } finally {
    if (inflight === controller) inflight = null;
  }
  if (controller.signal.aborted) return;
  if (!response.ok || !body || !Array.isArray(body.objects)) {
    hidePending();
    showError(describeError(response.status, body));
    return;
  }
  setBusy(false);
  render(body);
  feedbackShown(body);
}

// ---- Product cards and the detail view ----

// ---- Shopper feedback (POST /v1/search/feedback, docs/feedback.md) ----
// What a search showed and which products were opened, tied to the search by its request id; no photo and
// nothing about the shopper. The server may have the log switched off (404): then the page stops sending.
let feedbackOn = true;

function sendFeedback(event) {
  if (!feedbackOn || !event.request_id) return;
  fetch('/v1/search/feedback', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event),
    keepalive: true,
  }).then((response) => { if (response.status === 404) feedbackOn = false; }).catch(() => {});
}

function feedbackShown(result) {
  sendFeedback({
    event: 'shown', request_id: result.request_id,
    objects: result.objects.map((object, i) => ({
      object: i, label: object.label || '',
      box: [object.box.x1, object.box.y1, object.box.x2, object.box.y2],
      products: object.products.map((p) => p.id),
    })),
  });
}

function productCard(product, objectIndex, rank) {
  const price = formatPrice(product.price, product.currency);
  const meta = [product.category, product.brand].filter(Boolean).join(' · ');
  return el('li', { class: 'product', 'data-product-id': product.id },
    el('button', {
      type: 'button', class: 'product-open', 'aria-haspopup': 'dialog',
      onclick: (event) => {
        if (current) {
          sendFeedback({
            event: 'open', request_id: current.request_id, object: objectIndex, product: product.id, rank,
          });
        }
        openProduct(product, event.currentTarget);
      },
    },
    el('img', { src: product.image_url, alt: '', loading: 'lazy', width: 160, height: 160 }),
    el('span', { class: 'product-body' },
      el('span', { class: 'product-title', text: product.title }),
      price ? el('span', { class: 'product-price', text: price }) : null,
      meta ? el('span', { class: 'product-meta', text: meta }) : null)));
}

function productList(object, objectIndex) {
  if (!object.products.length) {
    return el('p', { class: 'empty', text: 'No good match in the catalog for this object.' });
  }
  const list = el('ul', { class: 'products' });
  object.products.forEach((product, r) => list.append(productCard(product, objectIndex, r + 1)));
  return list;
}

function fillDialog(product) {
  els.dialogTitle.textContent = product.title;
  els.dialogPrice.textContent = formatPrice(product.price, product.currency);
  els.dialogMeta.textContent = [product.category, product.brand].filter(Boolean).join(' · ');
  els.dialogDescription.textContent = product.description || '';
  els.dialogDescription.hidden = !product.description;
  const images = (product.images && product.images.length) ? product.images.map((i) => i.url) :
    [product.image_url].filter(Boolean);
  els.dialogImage.src = images[0] || '';
  els.dialogImage.alt = product.title;
  els.dialogThumbs.replaceChildren();
  if (images.length > 1) {
    images.forEach((url, n) => els.dialogThumbs.append(el('button', {
      type: 'button', class: 'thumb', 'aria-label': `Image ${n + 1} of ${images.length}`,
      onclick: () => { els.dialogImage.src = url; },
    }, el('img', { src: url, alt: '' }))));
  }
  els.dialogAttributes.replaceChildren();
  for (const [name, value] of Object.entries(product.attributes || {})) {
    if (name === 'url' || name === 'source' || name === 'object') continue;
    els.dialogAttributes.append(el('dt', { text: name }), el('dd', { text: String(value) }));
  }
  els.dialogAttributes.hidden = !els.dialogAttributes.childElementCount;
  const url = product.url || (product.attributes && product.attributes.url);
  els.dialogLink.hidden = !(url && /^https?:\/\//i.test(url));
  if (!els.dialogLink.hidden) els.dialogLink.href = url;
}

async function openProduct(product, opener) {
  dialogOpener = opener;
  fillDialog(product);
  if (!els.dialog.open) els.dialog.showModal();
  els.dialogClose.focus();
  // The search answer carries the card's fields; the catalog has the description, attributes and images.
  try {
    const response = await fetch(`/v1/products/${encodeURIComponent(product.id)}`);
    if (!response.ok) return;
    const full = await response.json();
    if (els.dialog.open && dialogOpener === opener) fillDialog({ ...product, ...full });
  } catch (_) { /* the card's fields stay */ }
}

// ---- Boxes, labels and chips ----

function placeBoxes() {
  if (!current) return;
  const { width, height } = current.image;
  const stageW = els.photo.clientWidth;
  const stageH = els.photo.clientHeight;
  if (!stageW || !stageH) return;
  const sx = stageW / width;
  const sy = stageH / height;
  const rects = current.objects.map((object) => {
    const b = object.box;
    return { x: b.x1 * sx, y: b.y1 * sy, w: (b.x2 - b.x1) * sx, h: (b.y2 - b.y1) * sy };
  });
  for (const box of els.boxes.children) {
    const r = rects[Number(box.dataset.index)];
    // A box smaller than a fingertip gets a larger (invisible) hit area around it.
    box.style.setProperty('--hit-x', `${Math.max(0, (MIN_HIT_PX - r.w) / 2)}px`);
    box.style.setProperty('--hit-y', `${Math.max(0, (MIN_HIT_PX - r.h) / 2)}px`);
  }
  // Tags keep off the hit areas too, so that a tiny box stays tappable.
  const targets = rects.map((r) => {
    const dx = Math.max(0, (MIN_HIT_PX - r.w) / 2);
    const dy = Math.max(0, (MIN_HIT_PX - r.h) / 2);
    return { x: r.x - dx, y: r.y - dy, w: r.w + 2 * dx, h: r.h + 2 * dy };
  });
  placeLabels(rects, targets, stageW, stageH);
}

function overlap(a, b) {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

function contains(outer, inner) {
  return outer.x <= inner.x && outer.y <= inner.y && outer.x + outer.w >= inner.x + inner.w &&
    outer.y + outer.h >= inner.y + inner.h;
}

// Puts each object's name tag next to its box, inside the photo, where it hides no other tag and as
// little as possible of the other boxes (best-scored objects first).
function placeLabels(rects, targets, stageW, stageH) {
  const placed = [];
  for (const label of els.labels.children) {
    const i = Number(label.dataset.index);
    const r = rects[i];
    label.style.maxWidth = `${stageW}px`;
    const w = Math.min(label.offsetWidth, stageW);
    const h = label.offsetHeight;
    const clampX = (x) => Math.max(0, Math.min(x, stageW - w));
    const clampY = (y) => Math.max(0, Math.min(y, stageH - h));
    const candidates = [
      { x: r.x, y: r.y - h - LABEL_GAP },            // above, left-aligned
      { x: r.x + r.w - w, y: r.y - h - LABEL_GAP },  // above, right-aligned
      { x: r.x, y: r.y + r.h + LABEL_GAP },          // below
      { x: r.x + r.w - w, y: r.y + r.h + LABEL_GAP },
      { x: r.x + LABEL_GAP, y: r.y + LABEL_GAP },    // inside, top
      { x: r.x + r.w - w - LABEL_GAP, y: r.y + LABEL_GAP },
      { x: r.x + LABEL_GAP, y: r.y + r.h - h - LABEL_GAP },  // inside, bottom
      { x: r.x - w - LABEL_GAP, y: r.y },            // left, right of the box
      { x: r.x + r.w + LABEL_GAP, y: r.y },
    ].map((c) => ({ x: clampX(c.x), y: clampY(c.y), w, h }));
    let best = null;
    let bestCost = Infinity;
    candidates.forEach((c, order) => {
      let cost = order * 0.5;
      for (const p of placed) cost += overlap(c, p) * 100;
      targets.forEach((other, j) => {
        if (j === i || contains(rects[j], r)) return;  // a box around this one cannot be avoided
        cost += overlap(c, other) * (other.w * other.h < 4 * w * h ? 8 : 1);
      });
      if (cost < bestCost) { bestCost = cost; best = c; }
    });
    placed.push(best);
    label.style.left = `${best.x}px`;
    label.style.top = `${best.y}px`;
  }
}

function render(result) {
  current = result;
  selectedIndex = -1;
  els.boxes.replaceChildren();
  els.labels.replaceChildren();
  els.chips.replaceChildren();
  els.allObjects.replaceChildren();
  const { width, height } = result.image;
  const count = result.objects.length;
  // Nothing detected: the server searched the whole photo. No box or chip stands for "the whole photo".
  const wholePhoto = count === 1 && result.objects[0].whole_image;

  // One chip per object name: "person · 3" selects each person in turn.
  groups = [];
  result.objects.forEach((object, i) => {
    const name = objectName(object);
    const group = groups.find((g) => g.name === name);
    if (group) group.members.push(i);
    else groups.push({ name, members: [i] });
  });

  // Smaller boxes lie above bigger ones, so a person inside the bus box is the person.
  const areas = result.objects.map((o) => (o.box.x2 - o.box.x1) * (o.box.y2 - o.box.y1));
  const bySize = areas.map((a, i) => i).sort((a, b) => areas[b] - areas[a]);
  result.objects.forEach((object, i) => {
    if (wholePhoto) return;
    const b = object.box;
    const box = el('button', {
      type: 'button', class: 'box', 'aria-pressed': 'false', 'data-index': i, tabindex: -1,
      'data-label': objectName(object),
      'aria-label': `${objectTitle(i)}: show its products`,
      onclick: () => select(i, true),
      onkeydown: (event) => arrowNavigation(event, i),
    });
    box.style.left = `${(b.x1 / width) * 100}%`;
    box.style.top = `${(b.y1 / height) * 100}%`;
    box.style.width = `${((b.x2 - b.x1) / width) * 100}%`;
    box.style.height = `${((b.y2 - b.y1) / height) * 100}%`;
    box.style.zIndex = String(1 + bySize.indexOf(i));
    els.boxes.append(box);
    els.labels.append(el('span', {
      class: 'box-label', 'data-index': i, 'aria-hidden': 'true', text: objectName(object),
      onclick: () => select(i, true),
    }));
    els.allObjects.append(el('section', { class: 'object-results', 'data-index': i },
      el('h3', {},
        el('button', { type: 'button', onclick: () => select(i, true), text: objectTitle(i) })),
      productList(object, i)));
  });
  groups.forEach((group, g) => {
    if (wholePhoto) return;
    els.chips.append(el('button', {
      type: 'button', class: 'chip', 'aria-pressed': 'false', 'data-group': g, tabindex: -1,
      'data-index': group.members[0],
      onclick: () => selectGroup(g),
      onkeydown: (event) => chipNavigation(event, g),
    }, el('span', { text: group.name }),
    group.members.length > 1 ? el('span', { class: 'chip-count', text: ` · ${group.members.length}` }) : null));
  });
  els.results.hidden = false;
  els.all.hidden = count < 2;
  els.status.textContent = wholePhoto
    ? 'No distinct object found in your photo. The products below only look somewhat like it as a whole.'
    : `${count} object${count === 1 ? '' : 's'} found. Select one to see its products.`;
  if (count > 0) {
    select(0, false);
  } else {
    const empty = el('p', { id: 'selected-products', class: 'empty', text: 'Nothing to search in this photo.' });
    els.selectedProducts.replaceWith(empty);
    els.selectedProducts = empty;
  }
  placeBoxes();
  if (els.photo.complete) placeBoxes();
  // After a search, keyboard and screen reader users land on the products (Tab reaches the cards;
  // Shift+Tab the objects).
  els.selected.focus({ preventScroll: true });
}

function selectGroup(g) {
  const members = groups[g].members;
  const at = members.indexOf(selectedIndex);
  select(at >= 0 ? members[(at + 1) % members.length] : members[0], true);
}

function arrowNavigation(event, index) {
  const keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  if (!(event.key in keys) || !current) return;
  event.preventDefault();
  const n = current.objects.length;
  const next = (index + keys[event.key] + n) % n;
  select(next, false);
  const target = els.boxes.querySelector(`.box[data-index="${next}"]`);
  if (target) target.focus();
}

function chipNavigation(event, g) {
  const keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  if (!(event.key in keys) || !groups.length) return;
  event.preventDefault();
  const next = (g + keys[event.key] + groups.length) % groups.length;
  select(groups[next].members[0], false);
  const target = els.chips.querySelector(`.chip[data-group="${next}"]`);
  if (target) target.focus();
}

function select(index, moveFocus) {
  if (!current || index < 0 || index >= current.objects.length) return;
  selectedIndex = index;
  // One tab stop for the boxes and one for the chips (arrow keys move inside each), then the products.
  for (const node of els.boxes.children) {
    const on = Number(node.dataset.index) === index;
    node.setAttribute('aria-pressed', String(on));
    node.tabIndex = on ? 0 : -1;
  }
  for (const node of els.labels.children) {
    node.classList.toggle('is-selected', Number(node.dataset.index) === index);
  }
  for (const node of els.chips.children) {
    const group = groups[Number(node.dataset.group)];
    const on = group.members.includes(index);
    node.setAttribute('aria-pressed', String(on));
    node.tabIndex = on ? 0 : -1;
    if (on) node.dataset.index = String(index);
    const count = node.querySelector('.chip-count');
    if (count) count.textContent = on ? ` · ${group.members.indexOf(index) + 1}/${group.members.length}` :
      ` · ${group.members.length}`;
  }
  els.selectedTitle.textContent = current.objects[index].whole_image && current.objects.length === 1
    ? 'Products that look like your photo' : `Products for ${objectTitle(index)}`;
  els.selected.dataset.index = String(index);
  const list = productList(current.objects[index], index);
  list.id = 'selected-products';
  els.selectedProducts.replaceWith(list);
  els.selectedProducts = list;
  if (moveFocus) {
    els.selected.focus({ preventScroll: true });
    if (window.matchMedia('(max-width: 47.99rem)').matches) els.selected.scrollIntoView({ block: 'start' });
  }
}

async function loadCatalogInfo() {
  try {
    const response = await fetch('/v1/catalog');
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      els.catalogInfo.textContent = body && body.error ? body.error.message : 'The catalog is not available.';
      return;
    }
    const categories = Object.keys(body.categories || {}).length;
    els.catalogInfo.textContent = `${body.products} products in ${categories} categories.`;
  } catch (_) {
    els.catalogInfo.textContent = 'The server could not be reached.';
  }
}

function firstFile(list) {
  return list && list.length ? list[0] : null;
}

function setUp() {
  els.refine.addEventListener('submit', (event) => {
    event.preventDefault();
    if (lastFile) search(lastFile, els.refineInput.value.trim());
  });
  els.chooseButton.addEventListener('click', () => els.fileInput.click());
  els.cameraButton.addEventListener('click', () => els.cameraInput.click());
  for (const input of [els.fileInput, els.cameraInput]) {
    input.addEventListener('change', () => {
      const file = firstFile(input.files);
      input.value = '';  // choosing the same file again must search again
      handleFile(file);
    });
  }
  els.photo.addEventListener('load', placeBoxes);
  new ResizeObserver(() => placeBoxes()).observe(els.stage);
  els.dialogClose.addEventListener('click', () => els.dialog.close());
  els.dialog.addEventListener('click', (event) => {
    if (event.target === els.dialog) els.dialog.close();  // a click on the backdrop
  });
  els.dialog.addEventListener('close', () => {
    if (dialogOpener && dialogOpener.isConnected) dialogOpener.focus();
    dialogOpener = null;
  });
  // Drag and drop anywhere on the page; the drop zone shows it.
  let depth = 0;
  document.addEventListener('dragenter', (event) => {
    if (!event.dataTransfer || !Array.from(event.dataTransfer.types || []).includes('Files')) return;
    depth += 1;
    els.dropzone.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) els.dropzone.classList.remove('dragging');
  });
  document.addEventListener('dragover', (event) => event.preventDefault());
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    depth = 0;
    els.dropzone.classList.remove('dragging');
    handleFile(firstFile(event.dataTransfer && event.dataTransfer.files));
  });
  document.addEventListener('paste', (event) => {
    const data = event.clipboardData;
    if (!data) return;
    let file = firstFile(data.files);
    if (!file) {
      for (const item of data.items || []) {
        if (item.kind === 'file') { file = item.getAsFile(); break; }
      }
    }
    if (file) {
      event.preventDefault();
      handleFile(file);
    }
  });
  loadCatalogInfo();
}

setUp();
