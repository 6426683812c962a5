/**
 * Which web pages may call the API from a browser (docs/api.md, "Browser clients"). None by
 * default: a page on another origin gets no `Access-Control-Allow-*` header, so its browser keeps
 * the answer from it, and a preflight is 404 like any unknown route. Listed origins may call
 * every route with the headers the API reads and see the headers it sends.
 *
 * The API authenticates with a bearer token and sets no cookies: a page must hold a token to do
 * anything, so allowing an origin never lets it act with a visitor's ambient credentials. The
 * list is still exact origins only (no `*`, no patterns), so that which pages may use the API is
 * a decision someone wrote down. `npm start` reads it from CORS_ORIGINS; on AWS the API Gateway
 * answers preflights from the stacks' `corsOrigins` setting, with the same lists as here.
 */

/** Request headers a page may send beyond the CORS-safelisted ones. */
export const corsRequestHeaders = ['authorization', 'content-type', 'idempotency-key', 'if-match', 'x-consistency-token', 'x-request-id'] as const;

/** Response headers a page may read beyond the CORS-safelisted ones. */
export const corsExposedHeaders = ['etag', 'location', 'retry-after', 'x-request-id'] as const;

/** How long a browser may keep a preflight's answer, in seconds. */
export const corsMaxAgeSeconds = 600;

/**
 * Parses a comma-separated list of origins (`https://app.example.com,http://localhost:5173`).
 * Each must be exactly an origin: a scheme of http or https, a host and an optional port, with no
 * path, query, credentials or trailing slash. Returns the reason when one is not.
 */
export function parseOrigins(value: string): { readonly origins: readonly string[] } | { readonly error: string } {
  const origins: string[] = [];
  for (const [index, part] of value.split(',').entries()) {
    const origin = part.trim();
    if (origin === '') continue;
    if (!isOrigin(origin)) {
      // Named by position when it holds credentials: the message goes to a log.
      const named = origin.includes('@') ? `entry ${index + 1}` : `"${origin.slice(0, 100)}"`;
      return { error: `${named} is not an origin: write it as scheme://host[:port] in lowercase, http or https, with nothing after the port` };
    }
    if (!origins.includes(origin)) origins.push(origin);
  }
  return { origins };
}

function isOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    // A `*` would read as a pattern to a reader, and hapi's origin list would treat it as one.
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === origin && !origin.includes('*');
  } catch {
    return false;
  }
}
