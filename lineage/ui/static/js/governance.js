// Governance view: where a classification reaches, and a policy check with its explanations.

import { gql } from './api.js';
import { clear, h, kindBadge, nodeLink, section, table } from './dom.js';

const REACH = `query Reach($classification: String!, $asOf: DateTime) {
  classificationReach(classification: $classification, asOf: $asOf) {
    classification total
    nodes { node { id kind name namespace version owners ... on Deployment { production } } classifications via { origin { nodeId columns } explanation } }
    removed { classification removedAt explanation }
  }
}`;
const POLICY = `query Policy($policy: String!, $target: ID, $asOf: DateTime) {
  policyReport(policy: $policy, target: $target, asOf: $asOf) {
    ok policy target asOf checkedAt auditHeadSeq auditHeadHash violationCount warningCount
    outcomes { rule type severity description checked
      violations { nodeId message explanation hint }
      waived { nodeId approval approvedBy reason } }
  }
}`;

const DEFAULT_POLICY = `version: 1
rules:
  - id: no-pii-in-prod
    type: forbid-flow
    classification: pii
  - id: owners
    type: require-owner
    kinds: [Model, Deployment]
`;

async function showReach(out, classification, asOf) {
  const r = (await gql(REACH, { classification, asOf })).classificationReach;
  clear(out,
    h('p', null, h('strong', null, String(r.total)), ' nodes carry ', h('span', { class: 'tag' }, r.classification), ' (or a narrower class).'),
    r.nodes.length ? table(['kind', 'node', 'classes', 'from', 'owners'], r.nodes.map((n) => [kindBadge(n.node.kind),
      h('span', null, nodeLink(n.node), n.node.production ? h('span', { class: 'badge prod' }, 'PRODUCTION') : null),
      n.classifications.join(', '), h('span', { title: n.via.map((v) => v.explanation).join('\n') }, [...new Set(n.via.map((v) => v.origin.nodeId))].join(', ')),
      n.node.owners.join(', ')])) : null,
    r.removed.length ? h('div', null, h('h3', null, 'Stopped'), h('ul', { class: 'plain' }, r.removed.map((x) => h('li', null, x.explanation)))) : null);
}

async function showPolicy(out, policy, target, asOf) {
  const r = (await gql(POLICY, { policy, target: target || null, asOf })).policyReport;
  clear(out,
    h('div', { class: 'banner ' + (r.ok ? 'ok-banner' : 'prod-banner'), id: 'policy-result' },
      h('strong', null, r.ok ? 'PASS' : 'FAIL'), ': ', String(r.violationCount), ' violation(s), ', String(r.warningCount),
      ' warning(s); checked as of ', r.asOf, ' at audit entry #', String(r.auditHeadSeq)),
    r.outcomes.map((o) => h('div', { class: 'card' },
      h('h3', null, o.rule, ' ', h('span', { class: 'muted' }, o.type + ' · ' + o.severity + ' · ' + o.checked + ' checked')),
      o.description ? h('p', null, o.description) : null,
      o.violations.length ? h('ul', { class: 'plain' }, o.violations.map((v) => h('li', { class: 'violation' },
        h('a', { href: '#/node/' + encodeURIComponent(v.nodeId) }, v.nodeId), ': ', v.message,
        v.explanation.length ? h('ul', { class: 'explanation' }, v.explanation.map((line) => h('li', null, line))) : null,
        v.hint ? h('div', { class: 'muted' }, 'hint: ', v.hint) : null))) : h('p', { class: 'ok' }, 'No violation.'),
      o.waived.length ? h('p', { class: 'muted' }, 'Waived: ', o.waived.map((w) => w.nodeId + ' (' + w.approval + ' by ' + w.approvedBy + ')').join('; ')) : null)));
}

export async function governanceView(container, { params, asOf }) {
  const reachOut = h('div', { id: 'reach-result' });
  const classInput = h('input', { id: 'classification', value: params.get('classification') || 'pii', size: 16 });
  const reachForm = h('form', { class: 'filters' }, h('label', null, 'classification ', classInput), h('button', { type: 'submit' }, 'Show reach'));
  reachForm.addEventListener('submit', (e) => { e.preventDefault(); showReach(reachOut, classInput.value.trim(), asOf).catch((x) => clear(reachOut, h('p', { class: 'error' }, x.message))); });
  const policyText = h('textarea', { id: 'policy-text', rows: 10, cols: 60, spellcheck: 'false' }, DEFAULT_POLICY);
  const targetInput = h('input', { id: 'policy-target', size: 40, placeholder: 'optional: only this node and downstream' });
  const policyOut = h('div', { id: 'policy-out' });
  const policyForm = h('form', { class: 'policy-form' }, policyText, h('div', null, h('label', null, 'target ', targetInput), ' ',
    h('button', { type: 'submit', id: 'run-policy' }, 'Run check')));
  policyForm.addEventListener('submit', (e) => { e.preventDefault(); showPolicy(policyOut, policyText.value, targetInput.value.trim(), asOf).catch((x) => clear(policyOut, h('p', { class: 'error' }, x.message))); });
  clear(container, h('h1', null, 'Governance'),
    section('Classification reach', h('p', { class: 'muted' }, 'Every node a classification reaches along lineage, with where it came from.'), reachForm, reachOut),
    section('Policy check', h('p', { class: 'muted' }, 'The YAML of ', h('code', null, 'lineage check --policy'), ', run against the graph as a CI gate would.'), policyForm, policyOut));
  await Promise.all([showReach(reachOut, classInput.value, asOf), showPolicy(policyOut, DEFAULT_POLICY, '', asOf)]);
}
