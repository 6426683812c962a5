import { connect } from 'node:net';

/**
 * Sends raw bytes to a listening server, as an attacker would, and returns whatever came back
 * until the server closed the connection. By default the connection stays open for the answer
 * (send `Connection: close` to have the server end it); `end` half-closes after writing (Node's
 * server then abandons a request still in flight), `destroy` drops the connection straight
 * after writing (an early close). A server that goes silent for `idleMs` gets the connection
 * dropped, and the test sees what arrived until then; so does one still open when `until` settles
 * (the test has seen what it waited for).
 */
export function sendRaw(
  port: number,
  bytes: string | Buffer | readonly (string | Buffer)[],
  options: { readonly close?: 'end' | 'destroy'; readonly idleMs?: number; readonly until?: Promise<unknown> } = {},
): Promise<string> {
  const chunks = Array.isArray(bytes) ? bytes : [bytes as string | Buffer];
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const done = () => resolve(Buffer.concat(received).toString('latin1'));
    socket.setTimeout(options.idleMs ?? 10_000, () => socket.destroy());
    socket.on('data', (data: Buffer) => received.push(data));
    socket.on('error', () => undefined);
    socket.on('close', done);
    void options.until?.finally(() => socket.destroy());
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
      if (options.close === 'destroy') socket.destroy();
      else if (options.close === 'end') socket.end();
    });
  });
}

/** The status code of the first response in raw HTTP text, or undefined. */
export const statusOf = (raw: string): number | undefined => {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  return match ? Number(match[1]) : undefined;
};
