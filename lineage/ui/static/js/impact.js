// Impact view: what a broken version hits, as people act on it — production deployments first,
// owners to notify, counts by kind, everything reached, and the report files to download.

import { download, gql, reportPath } from './api.js';
import { clear, fmtNumber, h, kindBadge, kindLabel, nodeLink, route, section, table } from './dom.js';
import { showError, showStatus } from './app.js';

const IMPACT = `query ImpactView($id: ID!, $asOf: DateTime, $after: String) {
  impact(id: $id, asOf: $asOf, first: 200, after: $after) {
    root { id kind name namespace version owners }
    total truncated asOf
    counts { kind count }
    productionDeployments { node { id kind name namespace owners } distance path { text } }
    ownersToNotify { owner nodeIds production }
    reached { totalCount pageInfo { hasNextPage endCursor }
      edges { distance production node { id kind name namespace version owners } } }
  }
}`;

const FORMATS = [
  ['md', 'Markdown', 'impact'], ['html', 'HTML', 'impact'], ['csv', 'CSV', 'impact'], ['json', 'JSON', 'impact'],
  ['prov-json', 'PROV-JSON (provenance)', 'provenance'],
];

function safeName(id) { return id.replace(/[^A-Za-z0-9._@-]+/g, '_'); }

function downloads(id, asOf) {
  return section('Downloads', h('p', { class: 'downloads' }, FORMATS.map(([fmt, label, question]) => {
    const path = reportPath(question, id, fmt, asOf);
    const filename = question + '-' + safeName(id) + '.' + (fmt === 'prov-json' ? 'prov.json' : fmt);
    return h('button', {
      type: 'button', class: 'button', 'data-format': fmt, title: path,
      onclick: async () => {
        try {
          const size = await download(path, filename);
          showStatus('Downloaded ' + filename + ' (' + fmtNumber(size) + ' bytes)');
          document.body.dataset.downloaded = filename;
        } catch (exc) { showError(exc); }
      },
    }, label);
  })), h('p', { class: 'muted' }, 'The same files as ', h('code', null, 'lineage impact --format …'), '; the same as-of time gives the same bytes.'));
}

export async function impactView(container, { id, asOf, isCurrent }) {
  const data = await gql(IMPACT, { id, asOf });
  if (!isCurrent()) return;
  const r = data.impact;
  const prod = r.productionDeployments;
  const reached = r.reached.edges;
  const more = h('div');
  const rows = (edges) => edges.map((e) => [kindBadge(e.node.kind), nodeLink(e.node), String(e.distance),
    e.production ? h('span', { class: 'badge prod' }, 'PRODUCTION') : '', e.node.owners.join(', ')]);
  const reachedTable = table(['kind', 'node', 'distance', '', 'owners'], rows(reached));
  let cursor = r.reached.pageInfo.hasNextPage ? r.reached.pageInfo.endCursor : null;
  const moreButton = () => cursor ? h('button', {
    type: 'button', class: 'button', onclick: async () => {
      const page = (await gql(IMPACT, { id, asOf, after: cursor })).impact.reached;
      const body = reachedTable.querySelector('tbody');
      for (const row of rows(page.edges)) body.append(h('tr', null, row.map((c) => h('td', null, c))));
      cursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      clear(more, moreButton());
    },
  }, 'Show more') : null;
  clear(more, moreButton());
  clear(container,
    h('h1', null, 'Impact of ', nodeLink(r.root, r.root.id)),
    h('p', { class: 'summary' }, h('strong', null, fmtNumber(r.total)), ' nodes reached',
      r.counts.length ? ': ' + r.counts.map((c) => fmtNumber(c.count) + ' ' + kindLabel(c.kind)).join(', ') : '',
      r.truncated ? h('span', { class: 'error' }, ' (stopped at the server\'s node limit)') : '',
      ' · as of ', r.asOf || 'now', ' · ', h('a', { href: route('explore', r.root.id) }, 'open in the explorer')),
    h('div', { class: prod.length ? 'banner prod-banner' : 'banner ok-banner', id: 'prod-banner' },
      prod.length ? [h('strong', null, fmtNumber(prod.length) + ' production deployment' + (prod.length === 1 ? '' : 's') + ' affected')]
        : 'No production deployment is affected.'),
    prod.length ? section('Production deployments',
      table(['deployment', 'distance', 'owners', 'path'], prod.map((p) => [nodeLink(p.node), String(p.distance),
        p.node.owners.join(', '), h('span', { class: 'path-text' }, p.path.text)]))) : null,
    section('Owners to notify (' + r.ownersToNotify.length + ')',
      table(['owner', 'production', 'nodes'], r.ownersToNotify.map((o) => [o.owner, o.production ? h('span', { class: 'badge prod' }, 'yes') : '',
        fmtNumber(o.nodeIds.length)]))),
    downloads(r.root.id, asOf),
    section('Everything reached (' + fmtNumber(r.reached.totalCount) + ')', reachedTable, more));
}
