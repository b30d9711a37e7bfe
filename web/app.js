// visearch shopper page: pick / drop / paste / photograph an image, POST it to /v1/search, draw the
// detected objects over the photo and list each object's products. Plain ES module, no dependencies.

const MAX_BYTES = 20 * 1024 * 1024;  // the server's default --max-body-mb
const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp|bmp)$/i;
const PRODUCTS_PER_OBJECT = 8;

const $ = (id) => document.getElementById(id);
const els = {
  catalogInfo: $('catalog-info'),
  dropzone: $('dropzone'),
  chooseButton: $('choose-button'),
  cameraButton: $('camera-button'),
  fileInput: $('file-input'),
  cameraInput: $('camera-input'),
  status: $('status'),
  error: $('error'),
  results: $('results'),
  photo: $('photo'),
  boxes: $('boxes'),
  chips: $('object-chips'),
  selected: $('selected'),
  selectedTitle: $('selected-title'),
  selectedProducts: $('selected-products'),
  allObjects: $('all-objects'),
};

let current = null;        // the last search response
let selectedIndex = -1;
let photoUrl = null;       // object URL of the displayed photo
let inflight = null;       // AbortController of the running search

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

function objectTitle(object) {
  const score = object.score > 0 ? ` (${Math.round(object.score * 100)}%)` : '';
  return objectName(object) + score;
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
  els.status.textContent = '';
}

function clearError() {
  els.error.hidden = true;
  els.error.textContent = '';
}

function setBusy(busy) {
  els.chooseButton.disabled = busy;
  els.cameraButton.disabled = busy;
  els.results.setAttribute('aria-busy', busy ? 'true' : 'false');
}

// A readable sentence for an error response of the API ({"error": {"code", "message"}}).
function describeError(status, body) {
  const code = body && body.error && body.error.code;
  const detail = body && body.error && body.error.message;
  switch (code) {
    case 'unsupported_format':
    case 'corrupt_image':
    case 'unsupported_media_type':
      return 'This file could not be read as an image. Please choose a JPEG, PNG, WebP or BMP photo.' +
        (detail ? ` (${detail})` : '');
    case 'image_too_large':
    case 'payload_too_large':
      return 'This photo is too large for the server. Please choose a smaller one.';
    case 'unauthorized':
      return 'This server needs an API key for searches, which this page cannot send. ' +
        'Its operator can start it with --public-search to open searching to shoppers.';
    case 'unavailable':
      return `Search is not available right now: ${detail || 'please try again in a moment.'}`;
    case 'deadline_exceeded':
      return 'The search took too long. Please try again.';
    default:
      return `The search failed (HTTP ${status})${detail ? `: ${detail}` : '.'}`;
  }
}

function isImageFile(file) {
  if (file.type) return file.type.startsWith('image/');
  return IMAGE_EXTENSIONS.test(file.name || '');
}

async function handleFile(file) {
  clearError();
  if (!file) return;
  const name = file.name ? `“${file.name}”` : 'This file';
  if (!isImageFile(file)) {
    showError(`${name} is not an image. Please choose a JPEG, PNG, WebP or BMP photo.`);
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
  await search(file);
}

async function search(file) {
  if (inflight) inflight.abort();
  const controller = new AbortController();
  inflight = controller;
  setBusy(true);
  els.status.textContent = 'Finding the objects in your photo and matching products…';
  const form = new FormData();
  form.append('image', file, file.name || 'photo');
  form.append('limit', String(PRODUCTS_PER_OBJECT));
  let response;
  let body = null;
  try {
    response = await fetch('/v1/search', { method: 'POST', body: form, signal: controller.signal });
    body = await response.json().catch(() => null);
  } catch (err) {
    if (controller.signal.aborted) return;
    setBusy(false);
    showError('The server could not be reached. Check your connection and try again.');
    return;
  } finally {
    if (inflight === controller) inflight = null;
  }
  if (controller.signal.aborted) return;
  setBusy(false);
  if (!response.ok || !body || !Array.isArray(body.objects)) {
    showError(describeError(response.status, body));
    return;
  }
  if (photoUrl) URL.revokeObjectURL(photoUrl);
  photoUrl = URL.createObjectURL(file);
  els.photo.src = photoUrl;
  render(body);
}

function productCard(product, object) {
  const price = formatPrice(product.price, product.currency);
  const meta = [product.category, product.brand].filter(Boolean).join(' · ');
  return el('li', { class: 'product', 'data-product-id': product.id },
    el('img', { src: product.image_url, alt: product.title, loading: 'lazy', width: 160, height: 160 }),
    el('div', { class: 'product-body' },
      el('span', { class: 'product-title', text: product.title }),
      price ? el('span', { class: 'product-price', text: price }) : null,
      meta ? el('span', { class: 'product-meta', text: meta }) : null,
      el('span', {
        class: 'product-meta',
        text: `match ${Math.round(product.score * 100)}%`,
        title: `looks alike ${Math.round(product.components.visual * 100)}%, ` +
          `${objectName(object)} relevance ${Math.round(product.components.label * 100)}%`,
      })));
}

function productList(object) {
  if (!object.products.length) {
    return el('p', { class: 'empty', text: 'No matching products in the catalog.' });
  }
  const list = el('ul', { class: 'products' });
  for (const product of object.products) list.append(productCard(product, object));
  return list;
}

function render(result) {
  current = result;
  selectedIndex = -1;
  els.boxes.replaceChildren();
  els.chips.replaceChildren();
  els.allObjects.replaceChildren();
  const { width, height } = result.image;
  const count = result.objects.length;
  result.objects.forEach((object, i) => {
    const b = object.box;
    const box = el('button', {
      type: 'button', class: 'box', 'aria-pressed': 'false', 'data-index': i,
      'aria-label': `${objectTitle(object)}: show its products`,
      onclick: () => select(i, true),
      onkeydown: (event) => arrowNavigation(event, i, '.box'),
    }, el('span', { class: 'box-label', 'aria-hidden': 'true', text: objectTitle(object) }));
    box.style.left = `${(b.x1 / width) * 100}%`;
    box.style.top = `${(b.y1 / height) * 100}%`;
    box.style.width = `${((b.x2 - b.x1) / width) * 100}%`;
    box.style.height = `${((b.y2 - b.y1) / height) * 100}%`;
    els.boxes.append(box);
    els.chips.append(el('button', {
      type: 'button', class: 'chip', 'aria-pressed': 'false', 'data-index': i,
      onclick: () => select(i, true),
      onkeydown: (event) => arrowNavigation(event, i, '.chip'),
      text: objectTitle(object),
    }));
    els.allObjects.append(el('section', { class: 'object-results', 'data-index': i },
      el('h3', {},
        el('button', { type: 'button', onclick: () => select(i, true), text: objectTitle(object) })),
      productList(object)));
  });
  els.results.hidden = false;
  els.status.textContent = count === 1 && result.objects[0].whole_image
    ? 'No distinct object found; showing products like the whole photo.'
    : `Found ${count} object${count === 1 ? '' : 's'}. Select one to see its products.`;
  if (count > 0) select(0, false);
}

function arrowNavigation(event, index, selector) {
  const keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  if (!(event.key in keys) || !current) return;
  event.preventDefault();
  const n = current.objects.length;
  const next = (index + keys[event.key] + n) % n;
  select(next, false);
  const target = document.querySelector(`${selector}[data-index="${next}"]`);
  if (target) target.focus();
}

function select(index, moveFocus) {
  if (!current || index < 0 || index >= current.objects.length) return;
  selectedIndex = index;
  for (const node of document.querySelectorAll('.box, .chip')) {
    node.setAttribute('aria-pressed', String(Number(node.dataset.index) === index));
  }
  const object = current.objects[index];
  els.selectedTitle.textContent = `Products for ${objectTitle(object)}`;
  els.selected.dataset.index = String(index);
  const list = productList(object);
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
  els.chooseButton.addEventListener('click', () => els.fileInput.click());
  els.cameraButton.addEventListener('click', () => els.cameraInput.click());
  for (const input of [els.fileInput, els.cameraInput]) {
    input.addEventListener('change', () => {
      const file = firstFile(input.files);
      input.value = '';  // choosing the same file again must search again
      handleFile(file);
    });
  }
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
