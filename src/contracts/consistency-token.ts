/**
 * The read-your-writes token (docs/api.md, read-your-writes): opaque to clients, it names a stream
 * and the version a command brought it to. A query handed the token waits until its projection
 * reached that version.
 */

export interface StreamPosition {
  readonly streamId: string;
  readonly version: number;
}

const streamIdPattern = /^(GroupChat|Message)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeConsistencyToken(position: StreamPosition): string {
  return Buffer.from(`${position.streamId}@${position.version}`, 'utf8').toString('base64url');
}

/** Returns undefined for anything that is not a token this service issued. */
export function decodeConsistencyToken(token: string): StreamPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token)) return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const at = text.lastIndexOf('@');
  if (at < 0) return undefined;
  const streamId = text.slice(0, at);
  const versionText = text.slice(at + 1);
  if (!streamIdPattern.test(streamId) || !/^[1-9][0-9]{0,15}$/.test(versionText)) return undefined;
  return { streamId, version: Number(versionText) };
}
