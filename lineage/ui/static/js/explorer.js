// Lineage explorer: the graph around one node, upstream and downstream, laid out left to right
// in the direction data flows (Cytoscape.js with the dagre layout). Large neighbourhoods are
// collapsed by kind ("+ 1,240 runs"); a click expands a node or a collapsed group; selecting a
// node highlights the path that explains it.

import { NODE_FIELDS, gql } from './api.js';
import { KINDS, clear, fmtNumber, h, kindBadge, kindLabel, kindPlural, nodeLink, route } from './dom.js';
import { columnLineage } from './node.js';

/** Neighbours of one node in one direction beyond this many are collapsed by kind. */
const COLLAPSE_OVER = 12;
/** The most neighbours fetched per node and direction (the server's page limit bounds it too). */
const FETCH_LIMIT = 500;
/** Past this many new nodes, or this many in the graph, new nodes are placed beside their anchor and
 * the graph is not laid out again (the "Tidy" button does that), so a click costs the same at any size. */
const INCREMENTAL_OVER = 40;
const INCREMENTAL_GRAPH = 150;

const KIND_COLOURS = {
  DATASET: '#2e7d32', FEATURE: '#00838f', CODE_COMMIT: '#6d4c41', RUN: '#5c6bc0', MODEL: '#8e24aa', DEPLOYMENT: '#ef6c00',
};

function levelQuery(count) {
  const vars = ['$asOf: DateTime'];
  const fields = [];
  for (let i = 0; i < count; i++) {
    vars.push(`$id${i}: ID!`, `$dir${i}: Direction`);
    fields.push(`n${i}: node(id: $id${i}, asOf: $asOf) { id neighbours(direction: $dir${i}, first: ${FETCH_LIMIT}) { direction edgeType node { ${NODE_FIELDS} } } }`);
  }
  return `query Level(${vars.join(', ')}) { ${fields.join('\n')} }`;
}

const ROOT = `query Root($id: ID!, $asOf: DateTime) { node(id: $id, asOf: $asOf) { ${NODE_FIELDS} } }`;
const PROPS = `query Props($id: ID!, $asOf: DateTime) { node(id: $id, asOf: $asOf) { properties } }`;
const PATH = `query Path($from: ID!, $to: ID!, $asOf: DateTime) {
  paths(from: $from, to: $to, max: 1, asOf: $asOf) { paths { nodeIds edgeTypes nodes { ${NODE_FIELDS} } } }
}`;

function shortLabel(node) {
  const name = node.name.length > 28 ? node.name.slice(0, 26) + '…' : node.name;
  const version = node.version ? '@' + (node.version.length > 18 ? node.version.slice(0, 16) + '…' : node.version) : '';
  return kindLabel(node.kind) + '\n' + name + version;
}

class Explorer {
  constructor(el, panel, centre, asOf) {
    this.panel = panel;
    this.centre = centre;
    this.asOf = asOf;
    this.nodes = new Map(); // id -> node record from the API
    this.side = new Map(); // id -> 'centre' | 'down' | 'up'
    this.expanded = new Map(); // id -> Set of directions fetched
    this.hiddenKinds = new Set();
    this.cy = window.cytoscape({
      container: el,
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 3,
      style: this.style(),
      elements: [],
    });
    this.cy.on('tap', 'node', (event) => this.onTap(event.target));
  }

  style() {
    const styles = [
      { selector: 'node', style: {
        shape: 'round-rectangle', width: 170, height: 42, 'background-color': '#fff', 'border-width': 2,
        'border-color': '#90a4ae', label: 'data(label)', 'text-wrap': 'wrap', 'text-max-width': 160,
        'font-size': 10, 'text-valign': 'center', 'text-halign': 'center', color: '#263238',
      } },
      { selector: 'node.group', style: { 'border-style': 'dashed', 'background-color': '#eceff1', 'font-weight': 'bold' } },
      { selector: 'node.centre', style: { 'border-width': 4, 'background-color': '#fffde7' } },
      { selector: 'node.prod', style: { 'border-color': '#c62828', 'border-width': 4, 'background-color': '#ffebee' } },
      { selector: 'node.expandable', style: { 'border-style': 'double' } },
      { selector: 'node.on-path', style: { 'background-color': '#fff59d', 'border-color': '#f9a825', 'border-width': 5 } },
      { selector: 'node:selected', style: { 'overlay-color': '#1565c0', 'overlay-opacity': 0.15, 'overlay-padding': 6 } },
      { selector: 'node.hidden-kind', style: { display: 'none' } },
      { selector: 'edge', style: {
        width: 1.5, 'line-color': '#b0bec5', 'target-arrow-color': '#b0bec5', 'target-arrow-shape': 'triangle',
        'curve-style': 'bezier', 'arrow-scale': 0.8,
      } },
      { selector: 'edge.on-path', style: { width: 4, 'line-color': '#f9a825', 'target-arrow-color': '#f9a825', 'z-index': 10 } },
      { selector: 'edge.group-edge', style: { 'line-style': 'dashed' } },
    ];
    for (const [kind, colour] of Object.entries(KIND_COLOURS)) {
      styles.splice(1, 0, { selector: `node[kind = "${kind}"]`, style: { 'border-color': colour } });
    }
    return styles;
  }

  nodeElement(node, classes) {
    return { group: 'nodes', data: { id: node.id, label: shortLabel(node), kind: node.kind }, classes: classes.join(' ') };
  }

  /** The element for a new node (null when it is drawn already); ``pending`` collects one cy.add. */
  nodeSpec(node, side) {
    this.nodes.set(node.id, node);
    if (!this.side.has(node.id)) this.side.set(node.id, side);
    if (this.cy.getElementById(node.id).nonempty()) return null;
    const classes = [];
    if (node.production) classes.push('prod');
    if (side === 'centre') classes.push('centre');
    if (this.hiddenKinds.has(node.kind)) classes.push('hidden-kind');
    classes.push('expandable');
    return this.nodeElement(node, classes);
  }

  addNode(node, side) {
    const spec = this.nodeSpec(node, side);
    if (spec) this.cy.add(spec);
  }

  edgeSpec(from, type, to, classes) {
    const id = from + ' -' + type + '-> ' + to;
    if (this.cy.getElementById(id).nonempty()) return null;
    return { group: 'edges', data: { id, source: from, target: to, type }, classes: classes || '' };
  }

  addEdge(from, type, to, classes) {
    const spec = this.edgeSpec(from, type, to, classes);
    if (spec) this.cy.add(spec);
  }

  /** Fetch the neighbours of these (id, direction) pairs in one request; returns the new ids. */
  async expand(pairs) {
    const todo = pairs.filter(([id, dir]) => !(this.expanded.get(id) || new Set()).has(dir));
    if (!todo.length) return [];
    const vars = { asOf: this.asOf };
    todo.forEach(([id, dir], i) => { vars['id' + i] = id; vars['dir' + i] = dir; });
    const data = await gql(levelQuery(todo.length), vars);
    const added = [];
    this.cy.batch(() => {
      todo.forEach(([id, dir], i) => {
        if (!this.expanded.has(id)) this.expanded.set(id, new Set());
        this.expanded.get(id).add(dir);
        const list = (data['n' + i] && data['n' + i].neighbours) || [];
        const side = dir === 'DOWNSTREAM' ? 'down' : 'up';
        const byKey = new Map();
        for (const n of list) {
          if (this.cy.getElementById(n.node.id).nonempty()) {
            this.connect(id, n);
            continue;
          }
          const key = this.groupBy === 'namespace' ? n.node.namespace : n.node.kind;
          if (!byKey.has(key)) byKey.set(key, []);
          byKey.get(key).push(n);
        }
        const fresh = [...byKey.values()].reduce((a, b) => a + b.length, 0);
        for (const [key, items] of byKey) {
          if (fresh > COLLAPSE_OVER && items.length > 3) {
            this.addGroup(id, dir, key, items, list.length >= FETCH_LIMIT);
            continue;
          }
          for (const n of items) {
            this.addNode(n.node, side);
            this.connect(id, n);
            added.push(n.node.id);
          }
        }
        const el = this.cy.getElementById(id);
        if (this.expanded.get(id).size === 2) el.removeClass('expandable');
      });
    });
    return added;
  }

  connect(id, n) {
    if (n.direction === 'DOWNSTREAM') this.addEdge(id, n.edgeType, n.node.id);
    else this.addEdge(n.node.id, n.edgeType, id);
  }

  addGroup(parent, dir, key, items, more) {
    const gid = 'group:' + parent + ':' + dir + ':' + key;
    if (this.cy.getElementById(gid).nonempty()) return;
    const count = new Map();
    for (const n of items) count.set(n.node.kind, (count.get(n.node.kind) || 0) + 1);
    const kinds = [...count.keys()];
    const kind = kinds.length === 1 ? kinds[0] : 'MIXED';
    const total = '+ ' + fmtNumber(items.length) + (more ? '+' : '');
    const label = this.groupBy === 'namespace'
      ? total + ' in ' + key + '\n' + [...count].map(([k, c]) => fmtNumber(c) + ' ' + kindPlural(k, c)).join(', ')
      : total + ' ' + kindPlural(key, items.length) + '\n(click to show)';
    const hidden = kinds.every((k) => this.hiddenKinds.has(k));
    this.cy.add({ group: 'nodes', data: { id: gid, label, kind, group: true }, classes: 'group' + (hidden ? ' hidden-kind' : '') });
    this.groups = this.groups || new Map();
    this.groups.set(gid, { parent, dir, items });
    if (dir === 'DOWNSTREAM') this.addEdge(parent, 'GROUP', gid, 'group-edge');
    else this.addEdge(gid, 'GROUP', parent, 'group-edge');
  }

  openGroup(gid) {
    const group = this.groups.get(gid);
    const side = group.dir === 'DOWNSTREAM' ? 'down' : 'up';
    const at = this.cy.getElementById(gid).position();
    this.cy.getElementById(gid).remove();
    const nodes = [];
    const edges = [];
    const seen = new Set();
    for (const n of group.items) {
      const spec = this.nodeSpec(n.node, side);
      if (spec && !seen.has(spec.data.id)) { nodes.push(spec); seen.add(spec.data.id); }
      const [from, to] = n.direction === 'DOWNSTREAM' ? [group.parent, n.node.id] : [n.node.id, group.parent];
      const edge = this.edgeSpec(from, n.edgeType, to);
      if (edge && !seen.has(edge.data.id)) { edges.push(edge); seen.add(edge.data.id); }
    }
    this.cy.add([...nodes, ...edges]); // one add: a per-element add re-styles the graph each time
    this.groups.delete(gid);
    return { ids: group.items.map((n) => n.node.id), at, dir: group.dir };
  }

  /** Whether new nodes are placed beside their anchor instead of laying the whole graph out again. */
  incremental(added) {
    return added > INCREMENTAL_OVER || this.cy.nodes().length > INCREMENTAL_GRAPH;
  }

  /** Place new nodes in columns beside a point, away from the centre (cost independent of graph size). */
  placeNear(at, ids, dir) {
    const rows = Math.min(ids.length, 18);
    const step = dir === 'DOWNSTREAM' ? 200 : -200;
    this.cy.batch(() => {
      ids.forEach((id, i) => {
        const col = Math.floor(i / rows);
        const row = i % rows;
        const inCol = Math.min(rows, ids.length - col * rows);
        this.cy.getElementById(id).position({ x: at.x + step * col, y: at.y + (row - (inCol - 1) / 2) * 52 });
      });
    });
    // fit the view to the new nodes from their positions (cy.fit measures every label first)
    const xs = ids.map((id) => this.cy.getElementById(id).position('x'));
    const ys = ids.map((id) => this.cy.getElementById(id).position('y'));
    const box = { x1: Math.min(...xs) - 100, x2: Math.max(...xs) + 100, y1: Math.min(...ys) - 40, y2: Math.max(...ys) + 40 };
    const zoom = Math.min(this.cy.width() / (box.x2 - box.x1), this.cy.height() / (box.y2 - box.y1), 1.2);
    this.cy.viewport({
      zoom,
      pan: { x: this.cy.width() / 2 - zoom * (box.x1 + box.x2) / 2, y: this.cy.height() / 2 - zoom * (box.y1 + box.y2) / 2 },
    });
  }

  async load(depth) {
    const root = (await gql(ROOT, { id: this.centre, asOf: this.asOf })).node;
    this.addNode(root, 'centre');
    let down = [this.centre];
    let up = [this.centre];
    for (let level = 0; level < depth; level++) {
      const pairs = [...down.map((id) => [id, 'DOWNSTREAM']), ...up.map((id) => [id, 'UPSTREAM'])];
      if (!pairs.length) break;
      const added = await this.expand(pairs);
      down = added.filter((id) => this.side.get(id) === 'down');
      up = added.filter((id) => this.side.get(id) === 'up');
    }
    this.layout(false);
  }

  layout(animate) {
    const layout = this.cy.elements(':visible').layout({
      name: 'dagre', rankDir: 'LR', nodeSep: 14, rankSep: 70, edgeSep: 6, animate: Boolean(animate),
      animationDuration: 250, fit: true, padding: 20,
    });
    const done = new Promise((resolve) => layout.one('layoutstop', resolve));
    layout.run();
    return done;
  }

  async onTap(el) {
    const id = el.id();
    if (el.hasClass('group')) {
      performance.mark('lineage:expand-start');
      const opened = this.openGroup(id);
      if (this.incremental(opened.ids.length)) this.placeNear(opened.at, opened.ids, opened.dir);
      else await this.layout(false);
      this.timed();
      return;
    }
    this.cy.elements().unselect();
    el.select();
    this.showPanel(id);
    if (el.hasClass('expandable')) {
      performance.mark('lineage:expand-start');
      const side = this.side.get(id);
      const dirs = side === 'down' ? ['DOWNSTREAM'] : side === 'up' ? ['UPSTREAM'] : ['DOWNSTREAM', 'UPSTREAM'];
      const before = new Set(this.cy.nodes().map((n) => n.id()));
      await this.expand(dirs.map((d) => [id, d]));
      el.removeClass('expandable');
      const fresh = this.cy.nodes().filter((n) => !before.has(n.id())).map((n) => n.id());
      if (this.incremental(fresh.length)) this.placeNear(this.shifted(el, dirs[0]), fresh, dirs[0]);
      else await this.layout(false);
      this.timed();
    }
    await this.highlightPath(id);
  }

  /** The point one column beside a node, in the direction of the new neighbours. */
  shifted(el, dir) {
    const p = el.position();
    return { x: p.x + (dir === 'DOWNSTREAM' ? 220 : -220), y: p.y };
  }

  timed() {
    performance.mark('lineage:expand-end');
    const m = performance.measure('lineage:expand', 'lineage:expand-start', 'lineage:expand-end');
    document.getElementById('explorer-stats').textContent = this.cy.nodes().length + ' nodes · last expand ' + Math.round(m.duration) + ' ms';
  }

  async highlightPath(id) {
    this.cy.elements().removeClass('on-path');
    const side = this.side.get(id);
    if (side === 'centre' || !side) return;
    const [from, to] = side === 'down' ? [this.centre, id] : [id, this.centre];
    const data = await gql(PATH, { from, to, asOf: this.asOf });
    const path = data.paths && data.paths.paths[0];
    if (!path) return;
    let grew = false;
    this.cy.batch(() => {
      path.nodes.forEach((node) => {
        if (this.cy.getElementById(node.id).empty()) { this.addNode(node, side); grew = true; }
      });
      for (let i = 0; i + 1 < path.nodeIds.length; i++) this.addEdge(path.nodeIds[i], path.edgeTypes[i], path.nodeIds[i + 1]);
      for (let i = 0; i < path.nodeIds.length; i++) {
        this.cy.getElementById(path.nodeIds[i]).addClass('on-path');
        if (i + 1 < path.nodeIds.length) this.cy.getElementById(path.nodeIds[i] + ' -' + path.edgeTypes[i] + '-> ' + path.nodeIds[i + 1]).addClass('on-path');
      }
    });
    if (grew) await this.layout(false);
    const list = this.panel.querySelector('.path-list');
    if (list) clear(list, path.nodes.map((node, i) => h('li', null, i ? h('span', { class: 'muted' }, '-' + path.edgeTypes[i - 1] + '-> ') : null, nodeLink(node))));
    document.body.dataset.pathShown = id;
  }

  showPanel(id) {
    const node = this.nodes.get(id);
    if (!node) return;
    clear(this.panel,
      h('h2', null, kindBadge(node.kind), ' ', node.name),
      node.production ? h('p', null, h('span', { class: 'badge prod' }, 'PRODUCTION')) : null,
      h('p', { class: 'muted node-id' }, node.id),
      h('p', null, h('strong', null, 'Owners: '), node.owners.length ? node.owners.join(', ') : 'none'),
      node.tags.length ? h('p', null, h('strong', null, 'Tags: '), node.tags.map((t) => h('span', { class: 'tag' }, t))) : null,
      h('p', { class: 'actions' },
        h('a', { class: 'button', href: route('node', node.id) }, 'Node page'),
        h('a', { class: 'button', href: route('explore', node.id) }, 'Centre here'),
        h('a', { class: 'button', href: route('impact', node.id) }, 'Impact')),
      this.side.get(id) !== 'centre' ? h('div', null, h('h3', null, 'Explaining path'), h('ol', { class: 'plain path-list' }, h('li', { class: 'muted' }, 'loading…'))) : null,
      node.kind === 'DATASET' ? h('div', { class: 'columns-box' }) : null);
    if (node.kind === 'DATASET') this.showColumns(node.id);
  }

  async showColumns(id) {
    const data = await gql(PROPS, { id, asOf: this.asOf });
    const box = this.panel.querySelector('.columns-box');
    const columns = data.node && columnLineage(data.node.properties);
    if (box && columns) clear(box, h('h3', null, 'Column lineage'), columns);
  }

  setHiddenKinds(kinds) {
    this.hiddenKinds = new Set(kinds);
    this.cy.batch(() => {
      this.cy.nodes().forEach((n) => {
        if (n.id() === this.centre) return;
        n.toggleClass('hidden-kind', this.hiddenKinds.has(n.data('kind')));
      });
    });
    this.layout(false);
  }
}

export async function explorerView(container, { id, params, asOf, isCurrent }) {
  performance.mark('lineage:explorer-start');
  const depth = Math.max(1, Math.min(8, Number(params.get('depth') || 3)));
  const hidden = (params.get('hide') || '').split(',').filter((k) => KINDS.includes(k));
  const groupBy = params.get('group') === 'namespace' ? 'namespace' : 'kind';
  const graph = h('div', { id: 'graph', class: 'graph' });
  const panel = h('aside', { id: 'panel', class: 'panel' }, h('p', { class: 'muted' },
    'Click a node to expand it and see the path that links it to the centre; click a dashed group to show its members. ',
    'Drag to pan, scroll to zoom. Red borders are production deployments.'));
  const depthSelect = h('select', { id: 'depth', 'aria-label': 'depth' }, [1, 2, 3, 4, 5, 6, 7, 8].map((d) => h('option', { value: d, selected: d === depth }, String(d))));
  const groupSelect = h('select', { id: 'group-by', 'aria-label': 'collapse by' },
    ['kind', 'namespace'].map((g) => h('option', { value: g, selected: g === groupBy }, g)));
  const kindBoxes = KINDS.map((k) => h('label', { class: 'kind-filter' },
    h('input', { type: 'checkbox', value: k, checked: !hidden.includes(k), 'data-kind': k }), ' ', kindLabel(k)));
  const toolbar = h('div', { class: 'toolbar' },
    h('strong', null, 'Lineage of '), nodeLink({ id, kind: id.split(':')[0].toUpperCase() }, id), ' ',
    h('label', null, ' depth ', depthSelect), ' ',
    h('label', { title: 'How large neighbourhoods are collapsed' }, ' collapse by ', groupSelect), ' ', h('span', { class: 'kinds' }, 'show: ', kindBoxes), ' ',
    h('button', { type: 'button', id: 'fit' }, 'Fit'), ' ',
    h('button', { type: 'button', id: 'tidy', title: 'Lay the whole graph out again, left to right' }, 'Tidy'), ' ',
    h('a', { class: 'button', href: route('impact', id) }, 'Impact view'), ' ',
    h('span', { id: 'explorer-stats', class: 'muted' }));
  clear(container, toolbar, h('div', { class: 'explorer' }, graph, panel));
  const explorer = new Explorer(graph, panel, id, asOf);
  explorer.hiddenKinds = new Set(hidden);
  explorer.groupBy = groupBy;
  window.lineageExplorer = explorer;
  const reload = () => {
    location.hash = route('explore', id, { depth: depthSelect.value, hide: hidden.join(','),
      group: groupSelect.value === 'kind' ? null : groupSelect.value });
  };
  depthSelect.addEventListener('change', reload);
  groupSelect.addEventListener('change', reload);
  for (const box of kindBoxes) {
    box.querySelector('input').addEventListener('change', () => {
      const off = kindBoxes.map((b) => b.querySelector('input')).filter((i) => !i.checked).map((i) => i.value);
      explorer.setHiddenKinds(off);
      history.replaceState(null, '', route('explore', id, { depth, hide: off.join(','), group: groupBy === 'kind' ? null : groupBy }));
    });
  }
  toolbar.querySelector('#fit').addEventListener('click', () => explorer.cy.fit(undefined, 20));
  toolbar.querySelector('#tidy').addEventListener('click', () => explorer.layout(false));
  await explorer.load(depth);
  if (!isCurrent()) return;
  performance.mark('lineage:explorer-ready');
  const m = performance.measure('lineage:explorer', 'lineage:explorer-start', 'lineage:explorer-ready');
  document.getElementById('explorer-stats').textContent = explorer.cy.nodes().length + ' nodes · drawn in ' + Math.round(m.duration) + ' ms';
}
