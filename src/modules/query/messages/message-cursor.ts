/**
 * The opaque `nextCursor` of the message list: the position (postedAt, messageId) of the last
 * message returned. Clients pass it back as `before`; anything else is refused before use.
 */
export interface MessageCursor {
  readonly postedAt: Date;
  readonly messageId: string;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(cursor: MessageCursor): string {
  return Buffer.from(JSON.stringify([cursor.postedAt.toISOString(), cursor.messageId]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): MessageCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [postedAt, messageId] = value as unknown[];
  if (typeof postedAt !== 'string' || typeof messageId !== 'string' || !uuidPattern.test(messageId)) return undefined;
  const date = new Date(postedAt);
  if (Number.isNaN(date.getTime()) || date.toISOString() !== postedAt) return undefined;
  return { postedAt: date, messageId };
}
