/** Stream names of the two aggregates (docs/events.md, streams): one stream per chat, one per message. */

export const groupChatStream = (groupChatId: string): string => `GroupChat-${groupChatId}`;
export const messageStream = (messageId: string): string => `Message-${messageId}`;

export type StreamKind = 'GroupChat' | 'Message';

/** Splits a stream id into its aggregate kind and id, or returns undefined for a foreign stream. */
export function parseStreamId(streamId: string): { readonly kind: StreamKind; readonly id: string } | undefined {
  const dash = streamId.indexOf('-');
  if (dash < 0) return undefined;
  const kind = streamId.slice(0, dash);
  const id = streamId.slice(dash + 1);
  if ((kind !== 'GroupChat' && kind !== 'Message') || id.length === 0) return undefined;
  return { kind, id };
}
