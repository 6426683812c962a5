import { encodePageCursor } from '../page-cursor.ts';

/**
 * The `nextCursor` of the message list: the position (postedAt, messageId) of the last message
 * returned, in the page-cursor encoding both lists share (decoded and checked by the routes).
 */
export interface MessageCursor {
  readonly postedAt: Date;
  readonly messageId: string;
}

export const encodeCursor = (cursor: MessageCursor): string => encodePageCursor({ at: cursor.postedAt, id: cursor.messageId });
