// Audit view: the hash-chained log with filters, and whether the chain verifies.

import { gql } from './api.js';
import { clear, fmtTime, h, route, section, table } from './dom.js';

const LOG = `query Audit($filter: AuditFilterInput, $after: String) {
  auditLog(filter: $filter, first: 100, after: $after) {
    edges { node { seq at principal source action subjects payloadDigest hash } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const VERIFY = `query Verify($graph: Boolean!) { auditVerification(graph: $graph) { ok entries head firstBadSeq problem checked rows } }`;

const FIELDS = [['principal', 'who'], ['action', 'action'], ['subject', 'node id'], ['since', 'since (ISO)'], ['until', 'until (ISO)']];

function subjects(list) {
  const shown = list.slice(0, 3).map((s) => h('a', { href: route('node', s) }, s));
  const out = [];
  shown.forEach((a, i) => { if (i) out.push(', '); out.push(a); });
  if (list.length > 3) out.push(h('span', { class: 'muted' }, ' + ' + (list.length - 3) + ' more'));
  return out;
}

export async function auditView(container, { params, isCurrent }) {
  const filter = {};
  for (const [key] of FIELDS) if (params.get(key)) filter[key] = params.get(key);
  const inputs = FIELDS.map(([key, label]) => h('label', null, label + ' ', h('input', { name: key, value: params.get(key) || '', size: key === 'subject' ? 36 : 14 })));
  const form = h('form', { class: 'filters', id: 'audit-filters' }, inputs, h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = {};
    for (const input of form.querySelectorAll('input')) if (input.value.trim()) next[input.name] = input.value.trim();
    location.hash = route('audit', null, next);
  });
  const verifyBox = h('div', { id: 'audit-verify', class: 'banner' }, 'Verifying the chain…');
  const body = h('div');
  clear(container, h('h1', null, 'Audit log'), verifyBox, form, body);
  const [log, verify] = await Promise.all([gql(LOG, { filter }), gql(VERIFY, { graph: false })]);
  if (!isCurrent()) return;
  const show = (v) => {
    const graph = v.checked.includes('graph');
    verifyBox.className = 'banner ' + (v.ok ? 'ok-banner' : 'prod-banner');
    clear(verifyBox, h('strong', null, (graph ? 'Chain and stored graph ' : 'Chain ') + (v.ok ? 'verified' : 'BROKEN')), ': ',
      String(v.entries), ' entries', graph ? ', ' + v.rows + ' stored rows checked against them' : '', '; head ',
      h('code', { title: 'anchor this hash elsewhere to detect truncation' }, v.head),
      v.ok ? '' : ' — first bad entry #' + v.firstBadSeq + ': ' + v.problem, ' ',
      graph ? null : h('button', {
        type: 'button', id: 'verify-graph', title: 'Also check every stored node and edge against the entry that wrote it',
        onclick: async () => show((await gql(VERIFY, { graph: true })).auditVerification),
      }, 'Verify the stored graph too'));
  };
  show(verify.auditVerification);
  const rows = (edges) => edges.map((e) => [String(e.node.seq), fmtTime(e.node.at), e.node.principal, e.node.source, e.node.action,
    subjects(e.node.subjects), h('code', { title: e.node.hash }, e.node.hash.slice(0, 12))]);
  const grid = table(['#', 'when', 'who', 'from', 'action', 'subjects', 'hash'], rows(log.auditLog.edges));
  const more = h('div');
  let cursor = log.auditLog.pageInfo.hasNextPage ? log.auditLog.pageInfo.endCursor : null;
  const button = () => cursor ? h('button', {
    type: 'button', class: 'button', onclick: async () => {
      const page = (await gql(LOG, { filter, after: cursor })).auditLog;
      const tbody = grid.querySelector('tbody');
      for (const row of rows(page.edges)) tbody.append(h('tr', null, row.map((c) => h('td', null, c))));
      cursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      clear(more, button());
    },
  }, 'Older entries') : null;
  clear(more, button());
  clear(body, section('Entries (oldest first)', log.auditLog.edges.length ? grid : h('p', { class: 'muted' }, 'No entry matches.'), more));
}
