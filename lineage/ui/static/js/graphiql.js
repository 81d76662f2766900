// Offline GraphiQL: React, ReactDOM and GraphiQL come from /ui/vendor; the token the web UI keeps
// in this tab's session storage (if any) is sent as a bearer token.
(function () {
  'use strict';
  var token = window.sessionStorage.getItem('lineage.token');
  var headers = token ? { Authorization: 'Bearer ' + token } : {};
  var fetcher = window.GraphiQL.createFetcher({ url: '/graphql', headers: headers });
  var defaultQuery = [
    '# Everything downstream of a dataset version, production deployments first.',
    'query Impact {',
    '  impact(id: "dataset:raw/payments.transactions@2026-11-03") {',
    '    total',
    '    counts { kind count }',
    '    productionDeployments { node { id owners } distance path { text } }',
    '  }',
    '}',
    '',
  ].join('\n');
  var root = window.ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    window.React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolbarOpen: true,
    }),
  );
})();
