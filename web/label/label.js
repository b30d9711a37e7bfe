// visearch label: the annotation UI of `visearch label` (docs/labelling.md). Plain ES module, no build step.
//
// Model: `state.boxes` are the labels being edited, in upright-image pixels (x2/y2 exclusive), each with
// the `ref` of the stored box it came from (-1 for new boxes) so format attributes survive a save.
// `state.proposals` are the detector's; shown when score >= threshold and not yet used. Every edit pushes
// a snapshot on the undo stack. The view maps image pixels to canvas (CSS) pixels by one transform,
// screen = image * scale + offset, used both to draw and to hit-test, so boxes are exact at every zoom.
//
// window.labelApp exposes the state and the transform for the end-to-end test (tests/e2e/label).

const api = {
  async json(method, url, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(url, init);
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    return { status: res.status, ok: res.ok, data };
  },
};

const $ = (id) => document.getElementById(id);
const HANDLE = 6;         // handle half-size, CSS px
const MIN_SIDE = 2;       // smallest box drawn with the mouse, image px
const MIN_SCALE = 0.02;
const MAX_SCALE = 40;

const state = {
  project: null,
  classes: [],
  filter: 'all',
  list: [],              // image summaries in the current filter
  id: null,              // current image id
  detail: null,          // server view of the current image
  img: null,             // HTMLImageElement (upright)
  width: 0,
  height: 0,
  version: 0,
  boxes: [],             // {class_id, x1, y1, x2, y2, ref, source}
  proposals: [],         // server proposals + {used: bool}
  threshold: 0.5,
  currentClass: 0,
  selected: -1,
  dirty: false,
  savedKey: '',          // boxesKey() of the saved boxes (see undo)
  hovered: -1,           // the box whose row the pointer is over in the box list
  fitted: true,          // the view is fitted to the stage: refit when the stage changes size
  undo: [],
  redo: [],
  view: { scale: 1, ox: 0, oy: 0 },
  drag: null,
  space: false,
  saving: false,
  jobTimer: null,
  trainTimer: null,
  trained: null,         // the finished training run's model {dir, spec}, offered for pre-labels
};

// ---------- helpers

// Class colours: picked once, each as far (in CIELAB) from those before it as a grid of hues, saturations
// and lightnesses allows, so that 80 classes stay told apart (evenly spaced hues alone gave pairs that
// differ by about 1 unit: traffic light, stop sign and clock looked the same green).
const PALETTE = (() => {
  const lab = ([h, s, l]) => {
    const a = (s / 100) * Math.min(l / 100, 1 - l / 100);
    const channel = (n) => {
      const k = (n + h / 30) % 12;
      const c = l / 100 - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const [r, g, b] = [channel(0), channel(8), channel(4)];
    const f = (t) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
    const x = f((r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047);
    const y = f(r * 0.2126 + g * 0.7152 + b * 0.0722);
    const z = f((r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883);
    return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
  };
  const candidates = [];
  for (let h = 0; h < 360; h += 10) for (const s of [90, 65]) for (const l of [35, 50, 65, 78]) candidates.push([h, s, l]);
  const points = candidates.map(lab);
  const distance = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
  const nearest = points.map((p) => distance(p, points[0]));
  const picked = [candidates[0]];
  while (picked.length < 80) {
    let best = 0;
    nearest.forEach((d, i) => { if (d > nearest[best]) best = i; });
    picked.push(candidates[best]);
    points.forEach((p, i) => { nearest[i] = Math.min(nearest[i], distance(p, points[best])); });
  }
  return picked;
})();

function classColor(id) {
  if (id >= 0 && id < PALETTE.length) {
    const [h, s, l] = PALETTE[id];
    return `hsl(${h}, ${s}%, ${l}%)`;
  }
  return `hsl(${((id * 137.508) % 360).toFixed(1)}, 85%, 55%)`;
}

// Tag text that reads on the class colour: white on the dark ones.
function textOn(id) {
  return id >= 0 && id < PALETTE.length && PALETTE[id][2] <= 50 ? '#fff' : '#000';
}

function className(id) {
  return state.classes[id] ?? `#${id}`;
}

function round2(v) {
  return Math.round(v * 100) / 100;
}

function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

function showMessage(text, kind = 'info', actions = []) {
  const box = $('message');
  box.className = kind;
  $('message-text').textContent = text;
  const holder = $('message-actions');
  holder.replaceChildren();
  for (const [label, handler, id] of actions) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (id) b.id = id;
    b.addEventListener('click', handler);
    holder.append(b);
  }
  box.hidden = false;
}

function hideMessage() {
  $('message').hidden = true;
}

function errorText(response, fallback) {
  return response.data?.error?.message ?? `${fallback} (HTTP ${response.status})`;
}

// ---------- view transform

function toScreen(x, y) {
  return [x * state.view.scale + state.view.ox, y * state.view.scale + state.view.oy];
}

function toImage(sx, sy) {
  return [(sx - state.view.ox) / state.view.scale, (sy - state.view.oy) / state.view.scale];
}

function canvasSize() {
  const canvas = $('canvas');
  return [canvas.clientWidth, canvas.clientHeight];
}

function fit() {
  state.fitted = true;
  if (!state.img) return;
  const [w, h] = canvasSize();
  const scale = Math.min((w - 20) / state.width, (h - 20) / state.height);
  state.view.scale = clamp(scale, MIN_SCALE, MAX_SCALE);
  state.view.ox = (w - state.width * state.view.scale) / 2;
  state.view.oy = (h - state.height * state.view.scale) / 2;
  draw();
}

function zoomAt(factor, sx, sy) {
  const [ix, iy] = toImage(sx, sy);
  state.fitted = false;
  state.view.scale = clamp(state.view.scale * factor, MIN_SCALE, MAX_SCALE);
  state.view.ox = sx - ix * state.view.scale;
  state.view.oy = sy - iy * state.view.scale;
  draw();
}

function zoomCentre(factor) {
  const [w, h] = canvasSize();
  zoomAt(factor, w / 2, h / 2);
}

// ---------- drawing

function iou(a, b) {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
}

// A proposal that repeats a box already there (same class, IoU >= 0.7) is not offered: accepting it would
// label the object twice.
function repeatsABox(p) {
  return state.boxes.some((b) => b.class_id === p.class_id && iou(b, p) >= 0.7);
}

function visibleProposals() {
  return state.proposals.filter((p) => !p.used && p.score >= state.threshold && !repeatsABox(p));
}

// Proposals at the threshold left out because they repeat a box.
function repeatedProposals() {
  return state.proposals.filter((p) => !p.used && p.score >= state.threshold && repeatsABox(p)).length;
}

function draw() {
  const canvas = $('canvas');
  const dpr = window.devicePixelRatio || 1;
  const [w, h] = canvasSize();
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  $('zoom-level').textContent = `${Math.round(state.view.scale * 100)}%`;
  if (!state.img) return;
  const { scale, ox, oy } = state.view;
  ctx.imageSmoothingEnabled = scale < 3;
  ctx.drawImage(state.img, ox, oy, state.width * scale, state.height * scale);

  ctx.font = '12px system-ui, sans-serif';
  for (const p of visibleProposals()) {
    const [x1, y1] = toScreen(p.x1, p.y1);
    const [x2, y2] = toScreen(p.x2, p.y2);
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = classColor(p.class_id);
    ctx.fillStyle = 'rgba(255,255,255,0.08)';
    ctx.fillRect(x1, y1, x2 - x1, y2 - y1);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.setLineDash([]);
    tag(ctx, `${className(p.class_id)} ${p.score.toFixed(2)}`, x1, y1, classColor(p.class_id), true, textOn(p.class_id));
  }
  state.boxes.forEach((b, i) => {
    const [x1, y1] = toScreen(b.x1, b.y1);
    const [x2, y2] = toScreen(b.x2, b.y2);
    const selected = i === state.selected;
    if (i === state.hovered) {  // the row under the pointer in the box list
      ctx.fillStyle = 'rgba(255,255,255,0.25)';
      ctx.fillRect(x1, y1, x2 - x1, y2 - y1);
    }
    ctx.lineWidth = selected || i === state.hovered ? 3 : 1.5;
    ctx.strokeStyle = classColor(b.class_id);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    tag(ctx, className(b.class_id), x1, y1, classColor(b.class_id), false, textOn(b.class_id));
    if (selected) {
      ctx.fillStyle = '#fff';
      for (const [hx, hy] of handlePoints(b)) {
        ctx.fillRect(hx - HANDLE / 2, hy - HANDLE / 2, HANDLE, HANDLE);
        ctx.strokeRect(hx - HANDLE / 2, hy - HANDLE / 2, HANDLE, HANDLE);
      }
    }
  });
  if (state.drag?.kind === 'draw') {
    const d = state.drag;
    const [x1, y1] = toScreen(Math.min(d.x0, d.x), Math.min(d.y0, d.y));
    const [x2, y2] = toScreen(Math.max(d.x0, d.x), Math.max(d.y0, d.y));
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = classColor(state.currentClass);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.setLineDash([]);
  }
}

function tag(ctx, text, x, y, color, dashed, ink = '#000') {
  const width = ctx.measureText(text).width + 6;
  const top = y - 16 < 0 ? y : y - 16;
  ctx.fillStyle = dashed ? 'rgba(0,0,0,0.55)' : color;
  ctx.fillRect(x, top, width, 16);
  // A proposal's tag is dark with the class colour as its text (white when the colour itself is dark).
  ctx.fillStyle = dashed ? (ink === '#fff' ? '#fff' : color) : ink;
  ctx.fillText(text, x + 3, top + 12);
}

function handlePoints(b) {
  const [x1, y1] = toScreen(b.x1, b.y1);
  const [x2, y2] = toScreen(b.x2, b.y2);
  const mx = (x1 + x2) / 2;
  const my = (y1 + y2) / 2;
  // name: which edges the handle moves
  return [[x1, y1, 'nw'], [mx, y1, 'n'], [x2, y1, 'ne'], [x2, my, 'e'],
    [x2, y2, 'se'], [mx, y2, 's'], [x1, y2, 'sw'], [x1, my, 'w']];
}

// ---------- hit testing

function hitHandle(sx, sy) {
  if (state.selected < 0) return null;
  for (const [hx, hy, name] of handlePoints(state.boxes[state.selected])) {
    if (Math.abs(sx - hx) <= HANDLE && Math.abs(sy - hy) <= HANDLE) return name;
  }
  return null;
}

function contains(b, ix, iy, slack) {
  return ix >= b.x1 - slack && ix <= b.x2 + slack && iy >= b.y1 - slack && iy <= b.y2 + slack;
}

// The smallest box under the point (so a box inside another stays reachable).
function hitBox(ix, iy) {
  let best = -1;
  let bestArea = Infinity;
  const slack = 3 / state.view.scale;
  state.boxes.forEach((b, i) => {
    const area = (b.x2 - b.x1) * (b.y2 - b.y1);
    if (contains(b, ix, iy, slack) && area < bestArea) {
      best = i;
      bestArea = area;
    }
  });
  return best;
}

function hitProposal(ix, iy) {
  let best = null;
  let bestArea = Infinity;
  for (const p of visibleProposals()) {
    const area = (p.x2 - p.x1) * (p.y2 - p.y1);
    if (contains(p, ix, iy, 0) && area < bestArea) {
      best = p;
      bestArea = area;
    }
  }
  return best;
}

// ---------- edits (each one undoable)

function snapshot() {
  return JSON.stringify({ boxes: state.boxes, proposals: state.proposals, selected: state.selected });
}

function restore(text) {
  const s = JSON.parse(text);
  state.boxes = s.boxes;
  state.proposals = s.proposals;
  state.selected = Math.min(s.selected, state.boxes.length - 1);
}

// Records the state before an edit. Only edits of the boxes make the image dirty (saved on navigation);
// hiding proposals does not.
function pushUndo(before, dirty = true) {
  state.undo.push(before ?? snapshot());
  if (state.undo.length > 500) state.undo.shift();
  state.redo = [];
  if (dirty) state.dirty = true;
}

// The boxes as saved, to tell a real change from edits that were undone.
function boxesKey(boxes) {
  return JSON.stringify(boxes.map((b) => [b.class_id, b.x1, b.y1, b.x2, b.y2].map((v) => Math.round(v * 100)))
    .sort());
}

function undo() {
  if (!state.undo.length) return;
  state.redo.push(snapshot());
  restore(state.undo.pop());
  state.dirty = boxesKey(state.boxes) !== state.savedKey;
  refreshPanels();
}

function redo() {
  if (!state.redo.length) return;
  state.undo.push(snapshot());
  restore(state.redo.pop());
  state.dirty = boxesKey(state.boxes) !== state.savedKey;
  refreshPanels();
}

function acceptProposal(p, select = true) {
  if (p.used) return;
  pushUndo();
  p.used = true;
  state.boxes.push({ class_id: p.class_id, x1: p.x1, y1: p.y1, x2: p.x2, y2: p.y2, ref: -1, source: 'prelabel' });
  if (select) state.selected = state.boxes.length - 1;
  refreshPanels();
}

function acceptAll() {
  const shown = visibleProposals();
  if (!shown.length) return;
  pushUndo();
  for (const p of shown) {
    p.used = true;
    state.boxes.push({ class_id: p.class_id, x1: p.x1, y1: p.y1, x2: p.x2, y2: p.y2, ref: -1, source: 'prelabel' });
  }
  refreshPanels();
}

function dismissAll() {
  const shown = visibleProposals();
  if (!shown.length) return;
  pushUndo(undefined, false);
  for (const p of shown) p.used = true;
  refreshPanels();
}

function deleteSelected() {
  if (state.selected < 0) return;
  pushUndo();
  state.boxes.splice(state.selected, 1);
  state.selected = -1;
  refreshPanels();
}

function setBoxClass(index, classId) {
  const b = state.boxes[index];
  if (!b || b.class_id === classId) return;
  pushUndo();
  b.class_id = classId;
  refreshPanels();
}

function chooseClass(classId) {
  if (classId < 0 || classId >= state.classes.length) return;
  state.currentClass = classId;
  if (state.selected >= 0) setBoxClass(state.selected, classId);
  renderClassList();
  draw();
}

// ---------- mouse

function eventPoint(e) {
  const r = $('canvas').getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

function onMouseDown(e) {
  if (!state.img) return;
  $('stage').focus({ preventScroll: true });
  const [sx, sy] = eventPoint(e);
  if (e.button === 1 || e.button === 2 || (e.button === 0 && state.space)) {
    state.drag = { kind: 'pan', sx, sy, ox: state.view.ox, oy: state.view.oy };
    state.fitted = false;
    e.preventDefault();
    return;
  }
  if (e.button !== 0) return;
  const [ix, iy] = toImage(sx, sy);
  const x = clamp(ix, 0, state.width);
  const y = clamp(iy, 0, state.height);
  // Shift+drag always draws, even over a box or a proposal.
  if (!e.shiftKey) {
    const handle = hitHandle(sx, sy);
    if (handle) {
      const b = state.boxes[state.selected];
      state.drag = { kind: 'resize', handle, before: snapshot(), box: { ...b } };
      return;
    }
    const hit = hitBox(ix, iy);
    if (hit >= 0) {
      state.selected = hit;
      const b = state.boxes[hit];
      state.currentClass = b.class_id;
      state.drag = { kind: 'move', before: snapshot(), ix, iy, box: { ...b } };
      refreshPanels();
      return;
    }
    const proposal = hitProposal(ix, iy);
    if (proposal) {
      // A click accepts the proposal; a drag draws a new box from here.
      state.drag = { kind: 'proposal', proposal, sx, sy, x0: x, y0: y };
      return;
    }
  }
  state.selected = -1;
  state.drag = { kind: 'draw', x0: x, y0: y, x, y };
  refreshPanels();
}

function onMouseMove(e) {
  const [sx, sy] = eventPoint(e);
  const [ix, iy] = toImage(sx, sy);
  if (state.img) {
    const inside = ix >= 0 && iy >= 0 && ix <= state.width && iy <= state.height;
    $('cursor-pos').textContent = inside ? `${ix.toFixed(1)}, ${iy.toFixed(1)}` : '';
  }
  const d = state.drag;
  if (!d) {
    updateCursor(sx, sy, ix, iy);
    return;
  }
  if (d.kind === 'proposal') {
    if (Math.hypot(sx - d.sx, sy - d.sy) < 3) return;
    state.drag = { kind: 'draw', x0: d.x0, y0: d.y0, x: d.x0, y: d.y0 };
    state.selected = -1;
    onMouseMove(e);
    return;
  }
  if (d.kind === 'pan') {
    state.view.ox = d.ox + (sx - d.sx);
    state.view.oy = d.oy + (sy - d.sy);
  } else if (d.kind === 'draw') {
    d.x = clamp(ix, 0, state.width);
    d.y = clamp(iy, 0, state.height);
  } else if (d.kind === 'move') {
    const b = state.boxes[state.selected];
    const w = d.box.x2 - d.box.x1;
    const h = d.box.y2 - d.box.y1;
    const nx = clamp(d.box.x1 + (ix - d.ix), 0, state.width - w);
    const ny = clamp(d.box.y1 + (iy - d.iy), 0, state.height - h);
    b.x1 = round2(nx); b.y1 = round2(ny); b.x2 = round2(nx + w); b.y2 = round2(ny + h);
    d.moved = true;
  } else if (d.kind === 'resize') {
    const b = state.boxes[state.selected];
    const x = round2(clamp(ix, 0, state.width));
    const y = round2(clamp(iy, 0, state.height));
    if (d.handle.includes('w')) b.x1 = Math.min(x, d.box.x2 - MIN_SIDE);
    if (d.handle.includes('e')) b.x2 = Math.max(x, d.box.x1 + MIN_SIDE);
    if (d.handle.includes('n')) b.y1 = Math.min(y, d.box.y2 - MIN_SIDE);
    if (d.handle.includes('s')) b.y2 = Math.max(y, d.box.y1 + MIN_SIDE);
    d.moved = true;
  }
  draw();
}

function onMouseUp() {
  const d = state.drag;
  state.drag = null;
  if (!d) return;
  if (d.kind === 'proposal') {
    acceptProposal(d.proposal);
    return;
  }
  if (d.kind === 'draw') {
    const x1 = round2(Math.min(d.x0, d.x));
    const y1 = round2(Math.min(d.y0, d.y));
    const x2 = round2(Math.max(d.x0, d.x));
    const y2 = round2(Math.max(d.y0, d.y));
    if (x2 - x1 >= MIN_SIDE && y2 - y1 >= MIN_SIDE && state.classes.length) {
      pushUndo();
      state.boxes.push({ class_id: state.currentClass, x1, y1, x2, y2, ref: -1, source: 'manual' });
      state.selected = state.boxes.length - 1;
    }
  } else if ((d.kind === 'move' || d.kind === 'resize') && d.moved && d.before) {
    pushUndo(d.before);
  }
  refreshPanels();
}

function updateCursor(sx, sy, ix, iy) {
  const canvas = $('canvas');
  if (state.space) { canvas.style.cursor = 'grab'; return; }
  const handle = hitHandle(sx, sy);
  if (handle) {
    const cursors = { n: 'ns-resize', s: 'ns-resize', e: 'ew-resize', w: 'ew-resize', nw: 'nwse-resize',
      se: 'nwse-resize', ne: 'nesw-resize', sw: 'nesw-resize' };
    canvas.style.cursor = cursors[handle];
  } else if (hitBox(ix, iy) >= 0) {
    canvas.style.cursor = 'move';
  } else if (hitProposal(ix, iy)) {
    canvas.style.cursor = 'copy';
  } else {
    canvas.style.cursor = 'crosshair';
  }
}

function onWheel(e) {
  if (!state.img) return;
  e.preventDefault();
  const [sx, sy] = eventPoint(e);
  zoomAt(Math.pow(1.0015, -e.deltaY), sx, sy);
}

// ---------- keyboard

function onKeyDown(e) {
  const target = e.target;
  const typing = target instanceof HTMLInputElement && target.type !== 'range' || target instanceof HTMLSelectElement ||
    target instanceof HTMLTextAreaElement;
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && e.key.toLowerCase() === 's') { e.preventDefault(); saveNow(); return; }
  if (typing) return;
  // A focused control keeps its own keys (arrows move a slider, Space presses a button, Tab moves on):
  // the image shortcuts work when the image (or nothing in particular) has focus.
  if (!onImageOrPage(target)) return;
  if (ctrl && e.key.toLowerCase() === 'z' && !e.shiftKey) { e.preventDefault(); undo(); return; }
  if (ctrl && (e.key.toLowerCase() === 'y' || (e.key.toLowerCase() === 'z' && e.shiftKey))) {
    e.preventDefault(); redo(); return;
  }
  if (ctrl || e.altKey) return;
  if (e.key === ' ') { state.space = true; e.preventDefault(); return; }
  if (/^[1-9]$/.test(e.key)) { chooseClass(Number(e.key) - 1); return; }
  switch (e.key) {
    case 'Delete': case 'Backspace': e.preventDefault(); deleteSelected(); break;
    case 'ArrowRight': case 'PageDown': case 'f': case 'F': e.preventDefault(); step(1); break;
    case 'ArrowLeft': case 'PageUp': case 'd': case 'D': e.preventDefault(); step(-1); break;
    case 'Escape': state.drag = null; state.selected = -1; refreshPanels(); break;
    case '+': case '=': zoomCentre(1.25); break;
    case '-': case '_': zoomCentre(0.8); break;
    case '0': fit(); break;
    case 'p': case 'P': prelabel(); break;
    case 'A': if (e.shiftKey) acceptAll(); break;
    case 'Tab':
      if (state.boxes.length) {
        e.preventDefault();
        state.selected = (state.selected + (e.shiftKey ? state.boxes.length - 1 : 1)) % state.boxes.length;
        refreshPanels();
      }
      break;
    case '?': $('help').showModal(); break;
    case '/': e.preventDefault(); $('class-filter').focus(); break;  // type a class name, Enter picks it
    default: break;
  }
}

// A list row that a keyboard reaches (Tab) and presses (Enter or Space) like a button.
function activatable(li, action) {
  li.tabIndex = 0;
  li.addEventListener('click', action);
  li.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); action(); }
  });
}

function onImageOrPage(target) {
  return target === document.body || target === document.documentElement || target === $('stage') ||
    target === $('canvas') || !(target instanceof Element);
}

function onKeyUp(e) {
  if (e.key === ' ') state.space = false;
}

// ---------- panels

function renderClassList() {
  const list = $('class-list');
  const filter = $('class-filter').value.trim().toLowerCase();
  list.replaceChildren();
  state.classes.forEach((name, i) => {
    if (filter && !name.toLowerCase().includes(filter)) return;
    const li = document.createElement('li');
    li.dataset.classId = String(i);
    li.className = i === state.currentClass ? 'current' : '';
    li.innerHTML = '<span class="key"></span><span class="swatch"></span><span class="name"></span>';
    li.querySelector('.key').textContent = i < 9 ? String(i + 1) : '';
    li.querySelector('.swatch').style.background = classColor(i);
    li.querySelector('.name').textContent = name;
    activatable(li, () => chooseClass(i));
    list.append(li);
  });
  const select = $('box-class');
  if (select.options.length !== state.classes.length + 1) {
    const none = new Option('no box selected', '');
    none.disabled = true;
    select.replaceChildren(none,
      ...state.classes.map((name, i) => new Option(`${i < 9 ? `${i + 1} ` : ''}${name}`, String(i))));
  }
}

function renderBoxes() {
  const list = $('box-list');
  list.replaceChildren();  // the rows under the pointer go: so does their highlight
  state.hovered = -1;
  state.boxes.forEach((b, i) => {
    const li = document.createElement('li');
    li.dataset.index = String(i);
    li.className = i === state.selected ? 'selected' : '';
    li.innerHTML = '<span class="swatch"></span><span class="name"></span><span class="muted small dims"></span>';
    li.querySelector('.swatch').style.background = classColor(b.class_id);
    li.querySelector('.name').textContent = className(b.class_id);
    li.querySelector('.dims').textContent = `${Math.round(b.x2 - b.x1)}×${Math.round(b.y2 - b.y1)}`;
    activatable(li, () => { state.selected = i; refreshPanels(); });
    li.addEventListener('mouseenter', () => { state.hovered = i; draw(); });
    li.addEventListener('mouseleave', () => { state.hovered = -1; draw(); });
    list.append(li);
  });
  $('box-count').textContent = `(${state.boxes.length})`;
  const select = $('box-class');
  select.disabled = state.selected < 0;
  select.value = state.selected >= 0 ? String(state.boxes[state.selected].class_id) : '';
}

function renderProposals() {
  const list = $('proposal-list');
  list.replaceChildren();
  state.proposals.forEach((p, i) => {
    if (p.used || p.score < state.threshold || repeatsABox(p)) return;
    const li = document.createElement('li');
    li.dataset.index = String(i);
    li.innerHTML = '<span class="swatch"></span><span class="name"></span><span class="score"></span>' +
      '<button type="button" class="accept" title="Accept this box">✓</button>' +
      '<button type="button" class="reject" title="Discard this box">✕</button>';
    li.querySelector('.swatch').style.background = classColor(p.class_id);
    li.querySelector('.name').textContent = `${className(p.class_id)}${p.label && p.label !== className(p.class_id) ? ` (${p.label})` : ''}`;
    li.querySelector('.score').textContent = p.score.toFixed(2);
    li.querySelector('.accept').addEventListener('click', (e) => { e.stopPropagation(); acceptProposal(p, false); });
    li.querySelector('.reject').addEventListener('click', (e) => {
      e.stopPropagation();
      pushUndo(undefined, false);
      p.used = true;
      refreshPanels();
    });
    list.append(li);
  });
  const shown = visibleProposals().length;
  $('accept-all').disabled = shown === 0;
  $('dismiss-all').disabled = shown === 0;
  $('accept-all').textContent = shown ? `Accept all (${shown})` : 'Accept all';
}

function saveStateText() {
  if (state.dirty) return 'unsaved changes';
  if (!state.detail) return '';
  if (state.detail.saved_at) return `saved · version ${state.version}`;
  return state.detail.labels.length ? 'labels from the data set' : 'not saved yet';
}

function refreshPanels() {
  renderBoxes();
  renderProposals();
  $('undo').disabled = state.undo.length === 0;
  $('redo').disabled = state.redo.length === 0;
  $('save-state').textContent = saveStateText();
  draw();
}

function renderCounts(counts) {
  if (!counts) return;
  const done = counts.reviewed;
  $('progress-fill').style.width = `${counts.images ? (100 * done) / counts.images : 0}%`;
  $('progress-text').textContent = `${done} / ${counts.images} reviewed · ${counts.pre_labelled} pre-labelled · ` +
    `${counts.unlabelled} unlabelled`;
  const body = $('class-table').tBodies[0];
  body.replaceChildren();
  for (const c of counts.per_class) {
    if (!c.boxes && counts.per_class.length > 12) continue;
    const tr = body.insertRow();
    tr.insertCell().textContent = c.class;
    const n = tr.insertCell();
    n.className = 'n';
    n.textContent = String(c.boxes);
  }
}

function renderList() {
  const list = $('image-list');
  list.replaceChildren();
  for (const s of state.list) {
    const li = document.createElement('li');
    li.dataset.id = s.id;
    li.title = `${s.file} · ${s.status.replace('_', '-')} · ${s.boxes} boxes`;
    li.className = s.id === state.id ? 'current' : '';
    li.innerHTML = '<span class="dot"></span><img class="thumb" alt="" loading="lazy" decoding="async">' +
      '<span class="name"></span>';
    li.querySelector('.dot').classList.add(s.status);
    li.querySelector('.thumb').src = `/v1/label/images/${encodeURIComponent(s.id)}/image`;
    li.querySelector('.name').textContent = s.file.split('/').pop();
    activatable(li, () => openImage(s.id));
    list.append(li);
  }
  $('list-count').textContent = `${state.list.length} image${state.list.length === 1 ? '' : 's'}`;
}

async function loadList() {
  const q = state.filter === 'all' ? '' : `&status=${state.filter}`;
  const r = await api.json('GET', `/v1/label/images?limit=5000${q}`);
  if (!r.ok) { showMessage(errorText(r, 'cannot list the images'), 'error'); return; }
  state.list = r.data.images;
  renderList();
  renderCounts(r.data.counts);
}

// ---------- images

function applyDetail(detail) {
  state.detail = detail;
  state.version = detail.version;
  state.boxes = detail.labels.map((b) => ({ class_id: b.class_id, x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2,
    ref: b.index, source: 'stored' }));
  state.proposals = detail.proposals.map((p) => ({ ...p, used: false }));
  state.selected = -1;
  state.undo = [];
  state.redo = [];
  state.dirty = false;
  state.savedKey = boxesKey(state.boxes);
  $('image-name').textContent = detail.file.split('/').pop();  // the full path is in the title
  $('image-name').title = `${detail.file} → ${detail.label_file}`;
  const status = $('image-status');
  status.className = `status ${detail.status}`;
  status.textContent = detail.status.replace('_', '-');
  const entry = state.list.find((s) => s.id === detail.id);
  if (entry) {
    entry.status = detail.status;
    entry.boxes = detail.labels.length;
    entry.version = detail.version;
  }
}

async function openImage(id, { keepView = false } = {}) {
  if (state.dirty && state.id && state.id !== id) {
    const saved = await save();
    if (!saved) return false;
  }
  const r = await api.json('GET', `/v1/label/images/${id}`);
  if (!r.ok) { showMessage(errorText(r, 'cannot open the image'), 'error'); return false; }
  const img = new Image();
  img.decoding = 'async';
  img.src = `/v1/label/images/${id}/image`;
  try {
    await img.decode();
  } catch {
    showMessage(`cannot display ${r.data.file}`, 'error');
    return false;
  }
  hideMessage();
  state.id = id;
  state.img = img;
  state.width = r.data.width ?? img.naturalWidth;
  state.height = r.data.height ?? img.naturalHeight;
  applyDetail(r.data);
  renderList();
  if (!keepView) fit();
  refreshPanels();
  const current = document.querySelector(`#image-list li[data-id="${id}"]`);
  current?.scrollIntoView({ block: 'nearest' });
  history.replaceState(null, '', `#${id}`);
  return true;
}

async function step(delta) {
  if (!state.list.length) return;
  let index = state.list.findIndex((s) => s.id === state.id);
  index = index < 0 ? 0 : clamp(index + delta, 0, state.list.length - 1);
  if (state.list[index].id !== state.id) await openImage(state.list[index].id);
}

// ---------- save, pre-label, job

async function save(force = false) {
  if (!state.id || state.saving) return false;
  if (!state.dirty && !force) return true;
  if (!force && boxesKey(state.boxes) === state.savedKey) {  // edited back to what is saved: nothing to write
    state.dirty = false;
    refreshPanels();
    return true;
  }
  state.saving = true;
  $('save').disabled = true;
  try {
    const body = {
      version: state.version,
      boxes: state.boxes.map((b) => ({ class_id: b.class_id, x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, ref: b.ref })),
    };
    const r = await api.json('PUT', `/v1/label/images/${state.id}/labels`, body);
    if (r.status === 409) {
      showConflict(r.data);
      return false;
    }
    if (!r.ok) {
      showMessage(`Not saved: ${errorText(r, 'save failed')}`, 'error');
      return false;
    }
    hideMessage();
    applyDetail(r.data);
    renderCounts(r.data.counts);
    renderList();
    refreshPanels();
    return true;
  } finally {
    state.saving = false;
    $('save').disabled = false;
  }
}

// Save / Ctrl+S: also saves an unchanged image that is not reviewed yet (e.g. "no objects here").
function saveNow() {
  return save(state.detail !== null && state.detail.status !== 'reviewed');
}

function showConflict(data) {
  const mine = snapshot();
  const message = data?.error?.message ?? 'Someone else saved this image first.';
  showMessage(message, 'conflict', [
    ['Load the saved labels (drop mine)', async () => {
      hideMessage();
      state.dirty = false;
      await openImage(state.id, { keepView: true });
    }, 'conflict-reload'],
    ['Save mine over them', async () => {
      state.version = data.current_version;
      restore(mine);
      state.dirty = true;
      await save();
    }, 'conflict-overwrite'],
  ]);
}

async function prelabel() {
  if (!state.id) return;
  const button = $('prelabel');
  button.disabled = true;
  button.textContent = 'Detecting…';
  try {
    const r = await api.json('POST', `/v1/label/images/${state.id}/prelabel`);
    if (!r.ok) { showMessage(`Pre-label failed: ${errorText(r, 'detector error')}`, 'error'); return; }
    // New proposals replace the old ones (undo brings the old ones back); the boxes are untouched.
    if (state.undo.length) pushUndo(undefined, false);
    state.proposals = r.data.proposals.map((p) => ({ ...p, used: false }));
    state.detail.proposals = r.data.proposals;
    const entry = state.list.find((s) => s.id === state.id);
    if (entry) entry.status = r.data.status;
    renderCounts(r.data.counts);
    const shown = visibleProposals().length;
    const repeated = repeatedProposals();
    showMessage(`${r.data.proposals.length} proposal${r.data.proposals.length === 1 ? '' : 's'} from ${r.data.model}` +
      ` (${shown} at score ≥ ${state.threshold.toFixed(2)}` +
      `${repeated ? `; ${repeated} hidden: they repeat boxes already here` : ''}` +
      `${r.data.unmapped ? `; ${r.data.unmapped} detections of unmapped labels left out` : ''}).` +
      `${shown === 0 && !repeated && r.data.proposals.length ? ' Lower the score slider to see them.' : ''}`);
    const status = $('image-status');
    status.className = `status ${r.data.status}`;
    status.textContent = r.data.status.replace('_', '-');
    renderList();
    refreshPanels();
  } finally {
    button.disabled = false;
    button.textContent = 'Pre-label this image';
  }
}

function renderJob(job) {
  const running = job.state === 'running';
  $('job-start').disabled = running;
  $('job-cancel').disabled = !running;
  $('job-progress').max = Math.max(1, job.total);
  $('job-progress').value = job.done;
  let text = job.state === 'idle' ? '' : `${job.state}: ${job.done} / ${job.total} images, ${job.proposals} proposals`;
  if (job.failed) text += `, ${job.failed} failed (${job.error})`;
  else if (job.state === 'failed' && job.error) text += ` (${job.error})`;
  if (job.state === 'running' && job.done > 0 && job.seconds > 0) {
    text += ` · ${(job.seconds / job.done).toFixed(2)} s/image`;
  }
  $('job-text').textContent = text;
}

async function pollJob() {
  const r = await api.json('GET', '/v1/label/jobs/prelabel');
  if (!r.ok) return;
  renderJob(r.data);
  if (r.data.state === 'running') {
    state.jobTimer = setTimeout(pollJob, 1000);
  } else {
    state.jobTimer = null;
    await loadList();
    // Show the proposals the job made for the image on screen, unless it is being edited.
    const entry = state.list.find((s) => s.id === state.id);
    if (entry && entry.status === 'pre_labelled' && !state.proposals.length && !state.dirty) {
      await openImage(state.id, { keepView: true });
    }
  }
}

async function startJob() {
  const r = await api.json('POST', '/v1/label/jobs/prelabel');
  if (!r.ok) { showMessage(errorText(r, 'cannot start the job'), 'error'); return; }
  renderJob(r.data);
  if (!state.jobTimer) state.jobTimer = setTimeout(pollJob, 500);
}

async function cancelJob() {
  const r = await api.json('DELETE', '/v1/label/jobs/prelabel');
  if (r.ok) renderJob(r.data);
}

// ---------- training (POST /v1/label/jobs/train): a background run on the saved labels

function formatSeconds(s) {
  if (!(s > 0)) return '';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
}

function renderTrainTable(metrics) {
  const table = $('train-table');
  const body = table.querySelector('tbody');
  body.replaceChildren();
  if (!metrics || !metrics.trained) { table.hidden = true; return; }
  const before = new Map((metrics.base?.per_class ?? []).map((c) => [c.name, c.AP50]));
  const pct = (v) => (v === undefined || v === null ? '–' : `${(v * 100).toFixed(1)}`);
  const rows = metrics.trained.per_class.map((c) => [c.name, before.get(c.name), c.AP50]);
  rows.push(['all', metrics.base?.stats?.AP50, metrics.trained.stats.AP50]);
  for (const [name, b, a] of rows) {
    const tr = document.createElement('tr');
    if (name === 'all') tr.className = 'total';
    for (const text of [name, pct(b), pct(a)]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
  table.hidden = false;
}

function renderTraining(t) {
  const active = t.state === 'running' || t.state === 'stopping';
  $('train-start').disabled = active;
  $('train-stop').disabled = t.state !== 'running';
  $('train-progress').max = Math.max(1, t.epochs ?? 1);
  $('train-progress').value = t.epoch ?? 0;
  let text = '';
  if (t.state === 'running' || t.state === 'stopping') {
    text = t.epoch
      ? `${t.state === 'stopping' ? 'stopping' : 'training'} ${t.name}: epoch ${t.epoch} / ${t.epochs}, loss ${t.loss.toFixed(3)}, val AP ${(t.ap * 100).toFixed(1)} (AP50 ${(t.ap50 * 100).toFixed(1)})${t.eta_s ? `, about ${formatSeconds(t.eta_s)} left` : ''}`
      : `training ${t.name}: preparing the first epoch…`;
  } else if (t.state === 'finished') {
    text = `${t.name} is ready (best epoch ${t.metrics?.best_epoch ?? '?'}, ${formatSeconds(t.seconds)}): ${t.model.dir}`;
  } else if (t.state === 'stopped') {
    text = `stopped after epoch ${t.epoch ?? 0}; \`visearch train --resume ${t.partial_dir ?? ''}\` continues it`;
  } else if (t.state === 'failed') {
    text = `training failed: ${t.error}`;
  }
  if (t.messages?.length && active) text += ` · ${t.messages[t.messages.length - 1]}`;
  $('train-text').textContent = text;
  renderTrainTable(t.state === 'finished' ? t.metrics : null);
  state.trained = t.state === 'finished' ? t.model : null;
  const use = $('train-use');
  use.hidden = !state.trained || state.project?.model === t.name;
}

async function pollTraining() {
  const r = await api.json('GET', '/v1/label/jobs/train');
  if (!r.ok) return;
  renderTraining(r.data);
  state.trainTimer = (r.data.state === 'running' || r.data.state === 'stopping')
    ? setTimeout(pollTraining, 2000) : null;
}

async function startTraining() {
  if (state.dirty && !(await saveNow())) return;  // train on what is on screen too
  const body = {};
  const epochs = Number($('train-epochs').value);
  const minutes = Number($('train-budget').value);
  if (epochs > 0) body.epochs = epochs;
  if (minutes > 0) body.time_budget_minutes = minutes;
  if ($('train-base').value) body.base = $('train-base').value;
  const r = await api.json('POST', '/v1/label/jobs/train', body);
  if (!r.ok) { showMessage(errorText(r, 'cannot start training'), 'error'); return; }
  renderTraining(r.data);
  if (r.data.left_out?.length) {
    showMessage(`Training on ${r.data.classes.join(', ')}; left out (no boxes yet): ${r.data.left_out.join(', ')}.`, 'info');
  }
  if (!state.trainTimer) state.trainTimer = setTimeout(pollTraining, 1000);
}

async function stopTraining() {
  const r = await api.json('DELETE', '/v1/label/jobs/train');
  if (r.ok) renderTraining(r.data);
  if (!state.trainTimer) state.trainTimer = setTimeout(pollTraining, 1000);
}

async function useTrained() {
  if (!state.trained) return;
  const r = await api.json('POST', '/v1/label/model', { spec: state.trained.spec });
  if (!r.ok) { showMessage(errorText(r, 'cannot switch the model'), 'error'); return; }
  state.project = r.data;
  $('model-name').textContent = `(${r.data.model})`;
  $('train-use').hidden = true;
  showMessage(`Pre-labels now come from ${r.data.model}.`, 'info');
}

// ---------- start

function bind() {
  const canvas = $('canvas');
  canvas.addEventListener('mousedown', onMouseDown);
  window.addEventListener('mousemove', onMouseMove);
  window.addEventListener('mouseup', onMouseUp);
  canvas.addEventListener('wheel', onWheel, { passive: false });
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  window.addEventListener('keydown', onKeyDown);
  window.addEventListener('keyup', onKeyUp);
  // A button clicked with the mouse gives focus back to the image (a keyboard press, detail 0, keeps it).
  document.addEventListener('click', (e) => {
    const button = e.target instanceof Element ? e.target.closest('button') : null;
    if (button && e.detail > 0 && !button.closest('dialog')) $('stage').focus({ preventScroll: true });
  });
  window.addEventListener('resize', () => draw());
  // The stage changes size when a message banner comes or goes (or the panels stack): a fitted image is
  // fitted again, a zoomed one keeps its zoom.
  new ResizeObserver(() => { if (state.fitted) fit(); else draw(); }).observe($('stage'));
  window.addEventListener('beforeunload', (e) => { if (state.dirty) e.preventDefault(); });
  $('prev-image').addEventListener('click', () => step(-1));
  $('next-image').addEventListener('click', () => step(1));
  $('undo').addEventListener('click', undo);
  $('redo').addEventListener('click', redo);
  $('zoom-in').addEventListener('click', () => zoomCentre(1.25));
  $('zoom-out').addEventListener('click', () => zoomCentre(0.8));
  $('zoom-fit').addEventListener('click', fit);
  $('save').addEventListener('click', saveNow);
  $('prelabel').addEventListener('click', prelabel);
  $('accept-all').addEventListener('click', acceptAll);
  $('dismiss-all').addEventListener('click', dismissAll);
  $('job-start').addEventListener('click', startJob);
  $('job-cancel').addEventListener('click', cancelJob);
  $('train-start').addEventListener('click', startTraining);
  $('train-stop').addEventListener('click', stopTraining);
  $('train-use').addEventListener('click', useTrained);
  $('help-button').addEventListener('click', () => $('help').showModal());
  $('class-filter').addEventListener('input', renderClassList);
  $('class-filter').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const first = $('class-list').querySelector('li');
    if (first) chooseClass(Number(first.dataset.classId));
    $('class-filter').value = '';
    renderClassList();
    $('stage').focus({ preventScroll: true });
  });
  $('box-class').addEventListener('change', (e) => {
    if (state.selected >= 0) setBoxClass(state.selected, Number(e.target.value));
  });
  $('threshold').addEventListener('input', (e) => {
    state.threshold = Number(e.target.value);
    $('threshold-value').textContent = state.threshold.toFixed(2);
    if (state.selected >= 0 && state.selected >= state.boxes.length) state.selected = -1;
    refreshPanels();
  });
  $('status-filter').addEventListener('change', async (e) => {
    state.filter = e.target.value;
    await loadList();
  });
}

async function main() {
  bind();
  const r = await api.json('GET', '/v1/label/project');
  if (!r.ok) { showMessage(errorText(r, 'cannot reach the labelling server'), 'error'); return; }
  state.project = r.data;
  state.classes = r.data.classes;
  state.threshold = r.data.score_threshold;
  $('threshold').min = String(r.data.score_floor);
  $('threshold').value = String(state.threshold);
  $('threshold-value').textContent = state.threshold.toFixed(2);
  $('dataset-name').textContent = r.data.root;
  $('format-badge').textContent = r.data.format.toUpperCase();
  $('model-name').textContent = `(${r.data.model})`;
  document.title = `visearch label · ${r.data.root.split('/').pop()}`;
  if (r.data.warnings.length) showMessage(r.data.warnings.join(' · '), 'error');
  renderClassList();
  renderJob(r.data.job);
  if (r.data.job.state === 'running') state.jobTimer = setTimeout(pollJob, 1000);
  const bases = $('train-base');
  bases.replaceChildren(...(r.data.trainable_bases ?? []).map((name) => {
    const option = document.createElement('option');
    option.value = name;
    option.textContent = name;
    return option;
  }));
  renderTraining(r.data.training);
  if (r.data.training.state === 'running' || r.data.training.state === 'stopping') {
    state.trainTimer = setTimeout(pollTraining, 1000);
  }
  await loadList();
  const wanted = location.hash.slice(1);
  const first = state.list.find((s) => s.id === wanted) ?? state.list.find((s) => s.status !== 'reviewed') ?? state.list[0];
  if (first) await openImage(first.id);
  refreshPanels();
}

window.labelApp = {
  state,
  classColor,
  toScreen,
  toImage,
  canvasOrigin() {
    const r = $('canvas').getBoundingClientRect();
    return [r.left, r.top];
  },
  ready: main(),
};
