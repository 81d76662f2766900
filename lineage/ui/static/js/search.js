// Search: by name or id as you type; "kind:model", "ns:warehouse", "owner:team-x", "tag:pii" narrow it.

import { NODE_FIELDS, gql } from './api.js';
import { KINDS, clear, debounce, h, kindBadge, kindLabel, route } from './dom.js';

const SEARCH = `query Search($text: String!, $kinds: [NodeKind!], $asOf: DateTime) {
  search(text: $text, kinds: $kinds, first: 30, asOf: $asOf) { ${NODE_FIELDS} }
}`;
const LIST = `query List($filter: NodeFilterInput, $asOf: DateTime) {
  nodes(filter: $filter, first: 50, asOf: $asOf) { edges { node { ${NODE_FIELDS} } } }
}`;

const KIND_WORDS = {
  dataset: 'DATASET', datasets: 'DATASET', feature: 'FEATURE', features: 'FEATURE', commit: 'CODE_COMMIT',
  commits: 'CODE_COMMIT', code_commit: 'CODE_COMMIT', run: 'RUN', runs: 'RUN', model: 'MODEL', models: 'MODEL',
  deployment: 'DEPLOYMENT', deployments: 'DEPLOYMENT',
};

/** "kind:model owner:team-x churn" -> {text: 'churn', kinds: ['MODEL'], owner: 'team-x'} */
export function parseQuery(raw) {
  const out = { text: [], kinds: [], namespace: null, owner: null, tag: null };
  for (const word of raw.trim().split(/\s+/).filter(Boolean)) {
    const match = /^(kind|ns|namespace|owner|tag|class|classification):(.+)$/i.exec(word);
    if (!match) { out.text.push(word); continue; }
    const [, key, value] = match;
    const k = key.toLowerCase();
    if (k === 'kind') { const kind = KIND_WORDS[value.toLowerCase()] || value.toUpperCase(); if (KINDS.includes(kind)) out.kinds.push(kind); }
    else if (k === 'ns' || k === 'namespace') out.namespace = value;
    else if (k === 'owner') out.owner = value;
    else out.tag = value;
  }
  out.text = out.text.join(' ');
  return out;
}

async function runSearch(raw, asOf) {
  const q = parseQuery(raw);
  if (!q.namespace && !q.owner && !q.tag) {
    if (!q.text && !q.kinds.length) return [];
    if (q.text) return (await gql(SEARCH, { text: q.text, kinds: q.kinds.length ? q.kinds : null, asOf })).search || [];
  }
  const filter = { kinds: q.kinds.length ? q.kinds : null, namespace: q.namespace, owner: q.owner, tag: q.tag };
  const nodes = ((await gql(LIST, { filter, asOf })).nodes?.edges || []).map((e) => e.node);
  const text = q.text.toLowerCase();
  return text ? nodes.filter((n) => n.id.toLowerCase().includes(text)) : nodes;
}

function resultRow(node, index) {
  return h('li', { class: 'result', 'data-index': index },
    h('a', { href: route('node', node.id), class: 'result-link', 'data-id': node.id },
      kindBadge(node.kind),
      h('span', { class: 'result-name' }, node.name),
      node.version ? h('span', { class: 'version' }, '@' + node.version) : null,
      h('span', { class: 'muted ns' }, node.namespace),
      node.production ? h('span', { class: 'badge prod' }, 'PRODUCTION') : null,
      node.owners && node.owners.length ? h('span', { class: 'owners' }, node.owners.join(', ')) : null,
      node.tags && node.tags.length ? h('span', { class: 'tags' }, node.tags.map((t) => h('span', { class: 'tag' }, t))) : null));
}

export async function searchView(container, { params, asOf, isCurrent }) {
  const input = h('input', {
    id: 'search-input', type: 'search', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Search nodes by name or id — kind:model  ns:warehouse  owner:team-risk-ml  tag:pii',
    'aria-label': 'Search nodes', 'aria-controls': 'search-results',
  });
  const results = h('ol', { id: 'search-results', class: 'results', role: 'listbox' });
  const summary = h('p', { class: 'muted', id: 'search-summary' });
  const help = h('p', { class: 'muted help' }, 'Type to search; ↑ ↓ to move, Enter to open, / to come back here. ',
    'Filters: ', ['kind:', 'ns:', 'owner:', 'tag:'].map((x, i) => [i ? ' ' : '', h('code', null, x)]), '. Kinds: ',
    KINDS.map((k) => kindLabel(k)).join(', '), '.');
  clear(container, h('div', { class: 'search-box' }, input, help), summary, results);
  let selected = -1;

  const select = (index) => {
    const items = results.querySelectorAll('li.result');
    if (!items.length) return;
    selected = Math.max(0, Math.min(items.length - 1, index));
    items.forEach((li, i) => li.classList.toggle('selected', i === selected));
    items[selected].scrollIntoView({ block: 'nearest' });
  };

  let seq = 0;
  const update = async () => {
    const raw = input.value;
    const mine = ++seq;
    const query = new URLSearchParams(); if (raw) query.set('q', raw); if (asOf) query.set('asOf', asOf);
    history.replaceState(null, '', '#/search' + (query.toString() ? '?' + query : ''));
    try {
      const nodes = await runSearch(raw, asOf);
      if (mine !== seq || !isCurrent()) return;
      clear(results, nodes.map(resultRow));
      clear(summary, raw.trim() ? nodes.length + ' result' + (nodes.length === 1 ? '' : 's') : '');
      selected = -1;
      if (nodes.length) select(0);
      performance.mark('lineage:search-results');
    } catch (exc) {
      if (mine === seq) clear(summary, h('span', { class: 'error' }, exc.message));
    }
  };
  input.addEventListener('input', debounce(update, 120));
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') { event.preventDefault(); select(selected + 1); }
    else if (event.key === 'ArrowUp') { event.preventDefault(); select(selected - 1); }
    else if (event.key === 'Enter') {
      const link = results.querySelectorAll('li.result a')[selected];
      if (link) { event.preventDefault(); location.hash = link.getAttribute('href'); }
    }
  });
  input.value = params.get('q') || '';
  input.focus();
  if (input.value) await update();
  else await showStart(results, summary, asOf, isCurrent);
}

async function showStart(results, summary, asOf) {
  const data = await gql(LIST, { filter: { kinds: ['DEPLOYMENT'] }, asOf });
  const nodes = (data.nodes?.edges || []).map((e) => e.node);
  nodes.sort((a, b) => Number(Boolean(b.production)) - Number(Boolean(a.production)) || a.id.localeCompare(b.id));
  clear(summary, 'Deployments (production first) — start from one, or search above.');
  clear(results, nodes.map(resultRow));
}
