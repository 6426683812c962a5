/**
 * The opaque cursor of the paged lists (docs/api.md, limits): the position (a time, an id) of the
 * last item of a page. Clients pass it back as `before`; anything this service would not have
 * issued is refused (400) before it reaches SQL.
 */
export interface PageCursor {
  readonly at: Date;
  readonly id: string;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/**
 * Times this service writes: four-digit years from 1970. A cursor dated in year 0, before the
 * epoch or with a six-digit year parses as a JavaScript date, but no Postgres timestamp holds
 * some of them, and none can be a position of this service's data.
 */
const timePattern = /^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;

export function encodePageCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.at.toISOString(), cursor.id]), 'utf8').toString('base64url');
}

export function decodePageCursor(text: string): PageCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [at, id] = value as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || !uuidPattern.test(id) || !timePattern.test(at)) return undefined;
  const date = new Date(at);
  // Also refuses dates that do not exist (2026-02-30) and would roll over.
  if (Number.isNaN(date.getTime()) || date.toISOString() !== at) return undefined;
  return { at: date, id };
}
