// graph.js -- draws a workflow definition (Amazon States Language JSON, as
// GET /v1/definitions/{type} returns it) as an SVG graph, with the run's
// current state highlighted.  No library: a small layered layout written for
// state machines, top to bottom.
//
//   layoutMachine(states, startAt, top) -> box {w, h, nodes, edges}
//     1. edges: Next, Choice rules and Default, Catch (dashed), End -> end
//     2. a depth-first walk from StartAt orders the states and finds the
//        back edges (loops); the rest is a DAG
//     3. layer = longest path from StartAt over the DAG
//     4. each layer is placed under its predecessors (their mean centre),
//        overlaps pushed right; the whole box is then shifted to its margin
//   Parallel and Map states are boxes holding their branches' (or their
//   ItemProcessor's) own layouts, side by side, laid out by the same
//   function: the nesting is drawn, not flattened.
//
//   drawGraph(definition, {current, closed, visited}) -> <svg> element;
//   every state is <g class="node" data-state="Name" data-path="a/b">, the
//   current one also has class "current" (class "final" once the run is
//   closed), states that appear in the history have class "visited".

const SVG_NS = 'http://www.w3.org/2000/svg';
const NODE_H = 34;
const GAP_Y = 46;
const GAP_X = 30;
const PAD = 16;
const HEADER = 28;
const CHAR_W = 7.4;
const TERM_R = 9;

// The transitions out of one state: [{to, kind, label}].
function transitions(st) {
  const out = [];
  if (st.Type === 'Choice') {
    (st.Choices || []).forEach((rule, i) => {
      if (rule.Next) out.push({to: rule.Next, kind: 'choice', label: ruleLabel(rule, i)});
    });
    if (st.Default) out.push({to: st.Default, kind: 'default', label: 'default'});
  } else if (st.Next) {
    out.push({to: st.Next, kind: 'next', label: ''});
  }
  for (const c of st.Catch || []) {
    if (c.Next) out.push({to: c.Next, kind: 'catch', label: `catch ${(c.ErrorEquals || []).join(',')}`});
  }
  return out;
}

// "$.approval.decision == approve" from a Choice rule; "rule N" when the
// rule is a compound one (And/Or/Not).
function ruleLabel(rule, i) {
  const ops = {Equals: '==', GreaterThanEquals: '>=', LessThanEquals: '<=', GreaterThan: '>', LessThan: '<', Matches: '~'};
  for (const [k, v] of Object.entries(rule)) {
    if (k === 'Variable' || k === 'Next') continue;
    for (const [suffix, sym] of Object.entries(ops)) {
      if (k.endsWith(suffix) || k.endsWith(`${suffix}Path`)) {
        const s = `${rule.Variable || ''} ${sym} ${typeof v === 'string' ? v : JSON.stringify(v)}`;
        return s.length > 32 ? `${s.slice(0, 31)}…` : s;
      }
    }
    if (k.startsWith('Is')) return `${rule.Variable || ''} ${k}`;
  }
  return `rule ${i + 1}`;
}

function isTerminal(st) {
  return st.End === true || st.Type === 'Succeed' || st.Type === 'Fail';
}

// The box of one state: its size, and for Parallel and Map the layouts of
// what it holds.
function stateBox(name, st) {
  const labelW = Math.max(name.length, (st.Type || '').length + 2) * CHAR_W + 36;
  if (st.Type === 'Parallel') {
    const subs = (st.Branches || []).map((b) => layoutMachine(b.States || {}, b.StartAt, false));
    const inner = subs.reduce((a, s) => a + s.w, 0) + GAP_X * Math.max(0, subs.length - 1);
    return {w: Math.max(labelW, inner + 2 * PAD), h: HEADER + Math.max(NODE_H, ...subs.map((s) => s.h)) + PAD, subs};
  }
  if (st.Type === 'Map') {
    const p = st.ItemProcessor || st.Iterator;
    const subs = p ? [layoutMachine(p.States || {}, p.StartAt, false)] : [];
    const inner = subs.length ? subs[0].w : 0;
    return {w: Math.max(labelW, inner + 2 * PAD), h: HEADER + (subs.length ? subs[0].h : NODE_H) + PAD, subs};
  }
  return {w: labelW, h: NODE_H, subs: []};
}

// Lays out one state machine (the definition, a Parallel branch or a Map's
// processor).  top adds the start and end markers.  Coordinates are relative
// to the box's top-left corner.
export function layoutMachine(states, startAt, top) {
  const nodes = new Map();
  for (const [name, st] of Object.entries(states)) {
    nodes.set(name, {name, st, ...stateBox(name, st), out: [], layer: 0});
  }
  if (top) {
    nodes.set('\u0000start', {name: '\u0000start', st: {Type: '_start'}, w: 2 * TERM_R, h: 2 * TERM_R, subs: [], out: [], layer: 0});
    nodes.set('\u0000end', {name: '\u0000end', st: {Type: '_end'}, w: 2 * TERM_R, h: 2 * TERM_R, subs: [], out: [], layer: 0});
    if (nodes.has(startAt)) nodes.get('\u0000start').out.push({to: startAt, kind: 'next', label: ''});
  }
  for (const n of nodes.values()) {
    if (n.st.Type && n.st.Type.startsWith('_')) continue;
    n.out = transitions(n.st).filter((t) => nodes.has(t.to));
    if (top && isTerminal(n.st)) n.out.push({to: '\u0000end', kind: n.st.Type === 'Fail' ? 'fail' : 'next', label: ''});
  }

  // 2. depth-first order and back edges.
  const order = [];
  const state = new Map(); // 1 on the stack, 2 done
  const visit = (name) => {
    state.set(name, 1);
    order.push(name);
    for (const t of nodes.get(name).out) {
      const s = state.get(t.to);
      if (s === 1) t.back = true;
      else if (!s) visit(t.to);
    }
    state.set(name, 2);
  };
  const first = top ? '\u0000start' : startAt;
  if (nodes.has(first)) visit(first);
  for (const name of nodes.keys()) if (!state.has(name) && name !== '\u0000end') visit(name);
  if (nodes.has('\u0000end') && !state.has('\u0000end')) visit('\u0000end');

  // 3. longest-path layers over the forward edges (relaxed in DFS order until stable).
  for (let changed = true, guard = 0; changed && guard < nodes.size + 2; guard++) {
    changed = false;
    for (const name of order) {
      const n = nodes.get(name);
      for (const t of n.out) {
        if (t.back) continue;
        const m = nodes.get(t.to);
        if (m.layer < n.layer + 1) { m.layer = n.layer + 1; changed = true; }
      }
    }
  }
  if (nodes.has('\u0000end')) {
    const end = nodes.get('\u0000end');
    end.layer = Math.max(0, ...[...nodes.values()].filter((n) => n !== end).map((n) => n.layer)) + 1;
  }

  // 4. placement, layer by layer, under the predecessors.
  const layers = [];
  for (const name of order) {
    const n = nodes.get(name);
    (layers[n.layer] ||= []).push(n);
  }
  const preds = new Map([...nodes.keys()].map((k) => [k, []]));
  for (const n of nodes.values()) for (const t of n.out) if (!t.back) preds.get(t.to).push(n);
  // A labelled edge's label sits centred above its target: the target's
  // slot in its layer is as wide as the widest such label.
  for (const n of nodes.values()) {
    for (const t of n.out) {
      if (t.back || !t.label) continue;
      const m = nodes.get(t.to);
      m.slot = Math.max(m.slot || m.w, t.label.length * CHAR_W * 0.85 + 12);
    }
  }
  let y = PAD;
  for (const layer of layers) {
    if (!layer) continue;
    const lh = Math.max(...layer.map((n) => n.h));
    for (const n of layer) {
      const ps = preds.get(n.name).filter((p) => p.x !== undefined);
      n.want = ps.length ? ps.reduce((a, p) => a + p.x + p.w / 2, 0) / ps.length : 0;
    }
    layer.sort((a, b) => a.want - b.want);
    let right = -Infinity;
    for (const n of layer) {
      const half = ((n.slot || n.w) - n.w) / 2;
      n.x = Math.max(n.want - n.w / 2, right + GAP_X + half);
      right = n.x + n.w + half;
      n.y = y + (lh - n.h) / 2;
    }
    // Centre a spread-out layer on what it hangs from.
    const mid = (layer[0].x + right) / 2;
    const want = layer.reduce((a, n) => a + n.want, 0) / layer.length;
    for (const n of layer) n.x += want - mid;
    y += lh + GAP_Y;
  }
  const all = [...nodes.values()];
  const minX = Math.min(...all.map((n) => n.x - ((n.slot || n.w) - n.w) / 2));
  for (const n of all) n.x += PAD - minX;
  const w = Math.max(...all.map((n) => n.x + n.w + ((n.slot || n.w) - n.w) / 2)) + PAD;
  const h = y - GAP_Y + PAD;

  // Edges: forward ones as curves bottom to top, back edges around the right.
  const edges = [];
  let lane = 0;
  for (const n of all) {
    const fwd = n.out.filter((t) => !t.back);
    fwd.forEach((t, i) => {
      const m = nodes.get(t.to);
      const sx = n.x + n.w * (i + 1) / (fwd.length + 1);
      edges.push({...t, from: n.name, sx, sy: n.y + n.h, tx: m.x + m.w / 2, ty: m.y});
    });
    for (const t of n.out.filter((t) => t.back)) {
      const m = nodes.get(t.to);
      lane += 1;
      const span = all.filter((k) => k.y + k.h >= m.y && k.y <= n.y + n.h);
      const bx = Math.max(...span.map((k) => k.x + k.w)) + 14 * lane;
      edges.push({...t, from: n.name, back: true, sx: n.x + n.w, sy: n.y + n.h / 2, tx: m.x + m.w, ty: m.y + m.h / 2, bx});
    }
  }
  const wAll = Math.max(w, ...edges.filter((e) => e.back).map((e) => e.bx + PAD + (e.label ? e.label.length * CHAR_W * 0.85 : 0)));
  return {w: wAll, h, nodes: all, edges};
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function edgePath(e) {
  if (e.back) {
    return `M${e.sx},${e.sy} L${e.bx - 6},${e.sy} Q${e.bx},${e.sy} ${e.bx},${e.sy - 6} ` +
      `L${e.bx},${e.ty + 6} Q${e.bx},${e.ty} ${e.bx - 6},${e.ty} L${e.tx + 2},${e.ty}`;
  }
  const dy = Math.max(20, (e.ty - e.sy) / 2);
  return `M${e.sx},${e.sy} C${e.sx},${e.sy + dy} ${e.tx},${e.ty - dy} ${e.tx},${e.ty - 2}`;
}

function stateTitle(name, st) {
  const parts = [`${name} (${st.Type})`];
  if (st.Resource) parts.push(st.Resource);
  if (st.Comment) parts.push(st.Comment);
  return parts.join('\n');
}

// Draws box at (ox, oy) into group g; path names the enclosing states.
function drawBox(box, ox, oy, g, path, opts) {
  const labelsAt = new Map(); // target -> labels already drawn above it
  for (const e of box.edges) {
    const cls = `edge edge-${e.kind}${e.back ? ' edge-back' : ''}`;
    g.append(svg('path', {class: cls, d: edgePath(e), transform: `translate(${ox},${oy})`, 'marker-end': 'url(#arrow)'}));
    if (e.label) {
      const lx = e.back ? e.bx + 4 : e.tx;
      const k = e.back ? 0 : (labelsAt.get(e.to) || 0);
      if (!e.back) labelsAt.set(e.to, k + 1);
      const ly = e.back ? (e.sy + e.ty) / 2 : e.ty - 8 - 12 * k;
      g.append(svg('text', {class: 'edge-label', x: ox + lx, y: oy + ly, 'text-anchor': e.back ? 'start' : 'middle'}, e.label));
    }
  }
  for (const n of box.nodes) {
    const x = ox + n.x;
    const y = oy + n.y;
    const type = n.st.Type;
    if (type === '_start' || type === '_end') {
      const cls = `terminal terminal-${type.slice(1)}${type === '_end' && opts.succeeded ? ' reached' : ''}`;
      g.append(svg('circle', {class: cls, cx: x + TERM_R, cy: y + TERM_R, r: TERM_R}));
      continue;
    }
    const full = path ? `${path}/${n.name}` : n.name;
    const classes = ['node', `node-${type}`];
    if (!path && n.name === opts.current) classes.push(opts.closed ? 'final' : 'current');
    if (!path && opts.visited && opts.visited.has(n.name)) classes.push('visited');
    const ng = svg('g', {class: classes.join(' '), 'data-state': n.name, 'data-path': full, 'data-type': type});
    ng.append(svg('title', {}, stateTitle(n.name, n.st)));
    if (type === 'Choice') {
      const cx = x + n.w / 2;
      const cy = y + n.h / 2;
      ng.append(svg('polygon', {class: 'shape', points: `${x},${cy} ${x + 14},${y} ${x + n.w - 14},${y} ${x + n.w},${cy} ${x + n.w - 14},${y + n.h} ${x + 14},${y + n.h}`}));
      ng.append(svg('text', {class: 'name', x: cx, y: cy + 4}, n.name));
    } else if (n.subs.length) {
      ng.append(svg('rect', {class: 'shape container', x, y, width: n.w, height: n.h, rx: 8}));
      ng.append(svg('text', {class: 'name container-name', x: x + 10, y: y + 18}, `${n.name}`));
      ng.append(svg('text', {class: 'type', x: x + n.w - 10, y: y + 18, 'text-anchor': 'end'}, type === 'Map' ? 'Map (per item)' : `Parallel ×${n.subs.length}`));
      let bx = x + (n.w - (n.subs.reduce((a, s) => a + s.w, 0) + GAP_X * (n.subs.length - 1))) / 2;
      n.subs.forEach((sub, i) => {
        ng.append(svg('rect', {class: 'branch', x: bx, y: y + HEADER, width: sub.w, height: sub.h, rx: 6}));
        drawBox(sub, bx, y + HEADER, ng, `${full}/${type === 'Map' ? 'item' : `branch${i + 1}`}`, opts);
        bx += sub.w + GAP_X;
      });
    } else {
      const rx = type === 'Succeed' || type === 'Fail' ? 17 : 6;
      ng.append(svg('rect', {class: 'shape', x, y, width: n.w, height: n.h, rx}));
      ng.append(svg('text', {class: 'name', x: x + n.w / 2, y: y + n.h / 2 + 4}, n.name));
    }
    g.append(ng);
  }
}

// The <svg> of a definition; opts: current (state name), closed (bool),
// succeeded (bool), visited (Set of state names).
export function drawGraph(definition, opts = {}) {
  const box = layoutMachine(definition.States || {}, definition.StartAt, true);
  const root = svg('svg', {class: 'graph', viewBox: `0 0 ${box.w} ${box.h}`, width: box.w, height: box.h, role: 'img', 'aria-label': 'workflow graph'});
  root.append(svg('defs', {},
    svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'},
      svg('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead'}))));
  const g = svg('g', {});
  drawBox(box, 0, 0, g, '', opts);
  root.append(g);
  return root;
}
