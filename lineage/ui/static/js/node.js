// Node page: properties, versions, owners, classifications with their explanation, neighbours
// by edge type, the audit entries that touched it.

import { NODE_FIELDS, gql } from './api.js';
import { KINDS, clear, fmtTime, h, kindBadge, nodeLink, route, section, table } from './dom.js';

const NODE = `query NodePage($id: ID!, $asOf: DateTime) {
  node(id: $id, asOf: $asOf) {
    ${NODE_FIELDS}
    properties eventTime recordedAt recordedBy retractedAt retractedBy retractReason
    ... on Deployment { endpoint status }
    ... on Run { job status startedAt endedAt ciSystem }
    ... on Model { framework artifactUri metrics params }
    ... on Dataset { location table rows format partition }
    ... on CodeCommit { repository author message committedAt }
    revisions { recordedAt recordedBy eventTime properties }
    neighbours(first: 500) { direction edgeType node { id kind namespace name version ... on Deployment { production } } }
  }
  effectiveClassifications(id: $id, asOf: $asOf) {
    classifications
    effective { classification direct origin { nodeId columns setBy setAt } path pathEdges explanation }
    removed { classification removedAt explanation }
  }
  auditLog(filter: { subject: $id }, first: 100) {
    edges { node { seq at principal source action subjects } }
    pageInfo { hasNextPage }
  }
}`;

const VERSIONS = `query Versions($filter: NodeFilterInput, $asOf: DateTime) {
  nodes(filter: $filter, first: 200, asOf: $asOf) { edges { node { id name version recordedAt eventTime } } }
}`;

function value(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof v === 'object') return h('pre', { class: 'json' }, JSON.stringify(v, null, 2));
  return String(v);
}

function propertiesTable(node) {
  const rows = [];
  const skip = new Set(['neighbours', 'revisions', 'properties', '__typename', 'id', 'kind', 'owners', 'tags']);
  for (const [k, v] of Object.entries(node)) if (!skip.has(k) && v !== null && v !== undefined) rows.push([k, value(v)]);
  const shown = new Set(Object.keys(node));
  if (columnLineage(node.properties)) shown.add('column_lineage'); // drawn as its own table
  for (const [k, v] of Object.entries(node.properties || {})) if (!shown.has(k)) rows.push([h('span', { class: 'prop-key' }, k), value(v)]);
  return table(['property', 'value'], rows);
}

function neighboursSection(node) {
  const groups = new Map();
  for (const n of node.neighbours) {
    const key = (n.direction === 'UPSTREAM' ? '← ' : '→ ') + n.edgeType;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(n.node);
  }
  const keys = [...groups.keys()].sort();
  return section('Neighbours (' + node.neighbours.length + ')',
    keys.length ? keys.map((key) => h('div', { class: 'neighbour-group' },
      h('h3', null, key, ' ', h('span', { class: 'muted' }, '(' + groups.get(key).length + ')')),
      h('ul', { class: 'plain' }, groups.get(key).map((n) => h('li', null, kindBadge(n.kind), ' ', nodeLink(n),
        n.production ? h('span', { class: 'badge prod' }, 'PRODUCTION') : null)))))
      : h('p', { class: 'muted' }, 'No edges.'));
}

function classificationsSection(result) {
  if (!result || (!result.effective.length && !result.removed.length)) {
    return section('Classifications', h('p', { class: 'muted' }, 'None.'));
  }
  return section('Classifications',
    h('ul', { class: 'plain' }, result.effective.map((c) => h('li', { class: 'classification' },
      h('span', { class: 'tag' }, c.classification), ' ',
      c.direct ? h('span', null, 'set here', c.origin.columns.length ? ' on columns ' + c.origin.columns.join(', ') : '',
        c.origin.setBy ? ' by ' + c.origin.setBy : '')
        : h('span', null, 'from ', h('a', { href: route('node', c.origin.nodeId) }, c.origin.nodeId),
          c.origin.columns.length ? ' (columns ' + c.origin.columns.join(', ') + ')' : ''),
      h('div', { class: 'muted explanation' }, c.explanation)))),
    result.removed.length ? h('div', null, h('h3', null, 'Removed on the way'),
      h('ul', { class: 'plain' }, result.removed.map((r) => h('li', null, h('span', { class: 'tag' }, r.classification), ' ', r.explanation)))) : null);
}

function revisionsSection(revisions) {
  if (!revisions || revisions.length < 2) {
    return section('Revision history', h('p', { class: 'muted' }, revisions && revisions.length
      ? 'One revision: recorded ' + fmtTime(revisions[0].recordedAt) + ' by ' + revisions[0].recordedBy + '.'
      : 'No revision recorded.'));
  }
  const rows = revisions.map((r, i) => {
    const before = i ? revisions[i - 1].properties || {} : {};
    const after = r.properties || {};
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    const changed = i ? keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])) : keys;
    return [fmtTime(r.recordedAt), r.recordedBy,
      changed.length ? changed.map((k) => h('div', null, h('code', null, k), ': ',
        i && k in before ? [h('span', { class: 'muted' }, JSON.stringify(before[k])), ' → '] : null,
        k in after ? JSON.stringify(after[k]) : h('span', { class: 'muted' }, 'removed'))) : h('span', { class: 'muted' }, 'no change')];
  });
  return section('Revision history (' + revisions.length + ')', table(['recorded', 'by', 'properties (changed)'], rows));
}

/** Column-level lineage of a dataset version, from the OpenLineage columnLineage facet it was recorded with. */
export function columnLineage(properties) {
  const facet = properties && properties.column_lineage;
  const fields = facet && typeof facet === 'object' ? facet.fields : null;
  if (!fields || typeof fields !== 'object') return null;
  const rows = [];
  for (const [target, spec] of Object.entries(fields).sort()) {
    for (const src of (spec && spec.inputFields) || []) {
      const how = (src.transformations || []).map((t) => [t.type, t.subtype].filter(Boolean).join('/')).join(', ')
        || (spec.transformationType || '');
      rows.push([h('code', null, target), h('span', null, src.namespace + '/' + src.name + ' ', h('code', null, src.field)), how]);
    }
  }
  return rows.length ? table(['column', 'from', 'transformation'], rows) : null;
}

async function versionsSection(node, asOf) {
  const data = await gql(VERSIONS, { filter: { kinds: [node.kind], namespace: node.namespace, namePrefix: node.name }, asOf });
  const versions = (data.nodes?.edges || []).map((e) => e.node).filter((n) => n.name === node.name);
  versions.sort((a, b) => String(a.eventTime || a.recordedAt).localeCompare(String(b.eventTime || b.recordedAt)));
  const at = versions.findIndex((n) => n.id === node.id);
  const older = at > 0 ? versions[at - 1] : null;
  const newer = at >= 0 && at < versions.length - 1 ? versions[at + 1] : null;
  return section('Versions (' + versions.length + ')',
    h('p', null, older ? h('a', { href: route('node', older.id), id: 'older-version' }, '← older: ' + older.version) : h('span', { class: 'muted' }, 'oldest'),
      ' · ', newer ? h('a', { href: route('node', newer.id), id: 'newer-version' }, 'newer: ' + newer.version + ' →') : h('span', { class: 'muted' }, 'newest')),
    versions.length > 1 ? h('ol', { class: 'versions' }, versions.map((v) => h('li', { class: v.id === node.id ? 'current' : '' },
      v.id === node.id ? h('strong', null, v.version || '(unversioned)') : h('a', { href: route('node', v.id) }, v.version || '(unversioned)'),
      ' ', h('span', { class: 'muted' }, fmtTime(v.eventTime || v.recordedAt))))) : null);
}

function auditSection(log) {
  const entries = (log?.edges || []).map((e) => e.node);
  return section('History: audit entries that touched it (' + entries.length + (log?.pageInfo?.hasNextPage ? '+' : '') + ')',
    entries.length ? table(['#', 'when', 'who', 'from', 'action'], entries.map((e) => [
      String(e.seq), fmtTime(e.at), e.principal, e.source, e.action]))
      : h('p', { class: 'muted' }, 'No audit entries.'));
}

export async function nodeView(container, { id, asOf, isCurrent }) {
  const data = await gql(NODE, { id, asOf });
  if (!isCurrent()) return;
  const node = data.node;
  const header = h('div', { class: 'node-header' },
    h('h1', null, kindBadge(node.kind), ' ', h('span', { class: 'node-title', title: node.id }, node.name),
      node.version ? h('span', { class: 'version' }, '@' + node.version) : null,
      node.production ? h('span', { class: 'badge prod' }, 'PRODUCTION') : null,
      node.retractedAt ? h('span', { class: 'badge retracted' }, 'RETRACTED') : null),
    h('p', { class: 'muted node-id' }, node.id),
    h('p', { class: 'actions' },
      h('a', { class: 'button', href: route('explore', node.id), id: 'open-explorer' }, 'Lineage explorer'),
      h('a', { class: 'button', href: route('impact', node.id), id: 'open-impact' }, 'Impact'),
      h('a', { class: 'button', href: route('audit', null, { subject: node.id }) }, 'Audit log')),
    h('p', null, h('strong', null, 'Owners: '), node.owners.length ? node.owners.join(', ') : h('span', { class: 'muted' }, 'none'),
      ' · ', h('strong', null, 'Tags: '), node.tags.length ? node.tags.map((t) => h('span', { class: 'tag' }, t)) : h('span', { class: 'muted' }, 'none')),
    node.retractedAt ? h('p', { class: 'error' }, 'Retracted ', fmtTime(node.retractedAt), ' by ', node.retractedBy, ': ', node.retractReason) : null);
  const grid = h('div', { class: 'two-col' },
    h('div', null, section('Properties', propertiesTable(node)),
      columnLineage(node.properties) ? section('Column lineage', columnLineage(node.properties)) : null,
      revisionsSection(node.revisions), classificationsSection(data.effectiveClassifications)),
    h('div', null, neighboursSection(node), h('div', { id: 'versions' }), auditSection(data.auditLog)));
  clear(container, header, grid);
  if (KINDS.includes(node.kind)) {
    const versions = await versionsSection(node, asOf);
    if (isCurrent()) grid.querySelector('#versions').replaceWith(versions);
  }
}
