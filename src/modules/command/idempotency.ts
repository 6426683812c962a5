import { createHash } from 'node:crypto';
import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';

// Fixed namespaces for name-based (v5) ids: the same caller and key always give the same ids.
const commandNamespace = '6f1c3f0e-4a55-4d3c-9a7e-2f7d7c1b9a10';
const entityNamespace = 'b3d6a1c2-8e4f-4f0a-b5c7-1d2e3f4a5b6c';

/**
 * The ids a request works with. Without an Idempotency-Key everything is random (UUIDv7).
 * With one, the command id and any new entity id derive from the caller and the key, so a
 * retry, even after a restart, targets the same stream and finds its own earlier commit there.
 */
interface RequestIds {
  readonly commandId: string;
  /** With an Idempotency-Key: the name of its key record (docs/api.md, idempotency: one request per key and caller). */
  readonly idempotencyKey?: string;
  newId(kind: 'group-chat' | 'message'): string;
}

export function requestIds(actorId: string, idempotencyKey: string | undefined): RequestIds {
  if (idempotencyKey === undefined) return { commandId: uuidv7(), newId: () => uuidv7() };
  const name = `${actorId}\n${idempotencyKey}`;
  const commandId = uuidv5(name, commandNamespace);
  return {
    commandId,
    // The command id already names exactly (caller, key); the raw key never reaches the table.
    idempotencyKey: commandId,
    newId: (kind) => uuidv5(`${kind}\n${name}`, entityNamespace),
  };
}

/** A stable fingerprint of what a request asks for (route, path parameters, body). */
export function requestHash(route: string, params: unknown, payload: unknown): string {
  return createHash('sha256').update(canonicalJson([route, params, payload])).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
