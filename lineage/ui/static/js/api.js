// Talking to the server: GraphQL over fetch, report downloads, the token kept for this tab.

const TOKEN_KEY = 'lineage.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code || 'ERROR';
  }
}

function authHeaders() {
  const secret = token.get();
  return secret ? { Authorization: 'Bearer ' + secret } : {};
}

export async function gql(query, variables) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...authHeaders() },
      body: JSON.stringify({ query, variables: variables || {} }),
    });
  } catch (exc) {
    throw new ApiError('the server did not answer: ' + exc.message, 'UNAVAILABLE');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError('unexpected answer from the server (HTTP ' + response.status + ')', 'HTTP');
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions && first.extensions.code);
  }
  return body.data;
}

/** The path of a report file: /reports/impact/<id>.<fmt>?asOf=... */
export function reportPath(question, id, fmt, asOf) {
  const target = encodeURIComponent(id).replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%40/g, '@');
  return '/reports/' + question + '/' + target + '.' + fmt + (asOf ? '?asOf=' + encodeURIComponent(asOf) : '');
}

/** Fetch a file with the token and hand it to the browser as a download. */
export async function download(path, filename) {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) {
    let message = 'HTTP ' + response.status;
    try {
      const body = await response.json();
      message = (body.errors && body.errors[0] && body.errors[0].message) || message;
    } catch { /* not JSON */ }
    throw new ApiError(message, 'DOWNLOAD');
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return blob.size;
}

export const NODE_FIELDS = 'id kind namespace name version owners tags ... on Deployment { production environment }';
