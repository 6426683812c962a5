import { decodePageCursor, encodePageCursor } from '../page-cursor.ts';

/**
 * The `nextCursor` of the message list: the position (postedAt, messageId) of the last message
 * returned, in the shared page-cursor encoding.
 */
export interface MessageCursor {
  readonly postedAt: Date;
  readonly messageId: string;
}

export const encodeCursor = (cursor: MessageCursor): string => encodePageCursor({ at: cursor.postedAt, id: cursor.messageId });

export function decodeCursor(text: string): MessageCursor | undefined {
  const cursor = decodePageCursor(text);
  return cursor && { postedAt: cursor.at, messageId: cursor.id };
}
