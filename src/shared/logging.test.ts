import t from 'tap';
import { capturedLogger } from '../testing/log-capture.ts';
import { boundLine, redactQuery, scrub, secretHeaders } from './logging.ts';

t.test('scrub redacts credentials in any casing and at any depth', async (t) => {
  for (const name of secretHeaders) {
    const shouting = name.toUpperCase();
    t.same(scrub({ outer: [{ [shouting]: 'secret', kept: 'yes' }] }), { outer: [{ [shouting]: '[redacted]', kept: 'yes' }] }, name);
  }
});

t.test('scrub bounds what it copies and never throws on odd values', async (t) => {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;
  const deep = { a: { b: { c: { d: { e: { f: { g: { h: 'too deep' } } } } } } } };
  t.same(scrub(circular), { name: 'loop', self: '[circular]' });
  t.match(JSON.stringify(scrub(deep)), /\[object\]/);
  t.equal(scrub(Buffer.from('raw bytes')), '[9 bytes]');
  t.equal(scrub(new Date('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05.678Z');
  t.equal(scrub(new Date(Number.NaN)), null);
  t.equal(scrub(10n), '10');
  t.match(scrub('x'.repeat(5_000)), /^x{2048}…\[2952 more chars\]$/);
  t.equal((scrub(Array.from({ length: 60 }, (_, n) => n)) as unknown[]).at(-1), '[10 more]');
  const wide = Object.fromEntries(Array.from({ length: 70 }, (_, n) => [`k${n}`, n]));
  t.equal((scrub(wide) as Record<string, unknown>)['[more keys]'], 20);
  t.same(scrub({ rawPacket: Buffer.from('GET / HTTP/1.1'), RawPacket: 'x', kept: 1 }), { kept: 1 });
  t.match(scrub(new Error('failed', { cause: new Error('root') })), { type: 'Error', message: /failed/ });
  // A minified bundle renames classes; the type logged is the error's own name.
  const Renamed = class lM extends Error {
    override readonly name = 'EventStoreUnavailableError';
  };
  t.match(scrub(new Renamed('down')), { type: 'EventStoreUnavailableError', message: 'down' });
});

t.test('a line over the bound is rewritten shorter, or left out when even that is too long', async (t) => {
  const small = `${JSON.stringify({ level: 30, msg: 'short' })}\n`;
  t.equal(boundLine(small, 1024), small);
  const long = `${JSON.stringify({ level: 30, time: 1, msg: 'long', text: 'y'.repeat(10_000) })}\n`;
  const shortened = boundLine(long, 1024);
  t.ok(Buffer.byteLength(shortened) <= 1024);
  t.match(JSON.parse(shortened), { level: 30, msg: 'long', truncated: true, text: /more chars/ });
  const wide = `${JSON.stringify({ level: 40, time: 2, ...Object.fromEntries(Array.from({ length: 9 }, (_, n) => [`k${n}`, 'z'.repeat(300)])) })}\n`;
  t.match(JSON.parse(boundLine(wide, 600)), { level: 40, time: 2, msg: 'log entry too large; left out' });
  t.match(JSON.parse(boundLine(`not json ${'q'.repeat(2_000)}`, 600)), { msg: 'log entry too large; left out' });
});

t.test('the logger serializes what it is handed, whatever its shape', async (t) => {
  const { logger, entries } = capturedLogger();
  logger.info({ req: { method: 'GET', headers: { Authorization: 'Bearer x' } }, res: { statusCode: 200 } }, 'plain objects');
  logger.info({ 'X-Api-Key': 'k' }, 'a credential at the top');
  t.match(entries(), [
    { req: { method: 'GET', headers: { Authorization: '[redacted]' } }, res: { statusCode: 200 } },
    { 'X-Api-Key': '[redacted]' },
  ]);
});

t.test('redactQuery keeps paths and ordinary parameters, and replaces credential-like values', async (t) => {
  t.equal(redactQuery(undefined), undefined);
  t.equal(redactQuery('/query/v1/group-chats'), '/query/v1/group-chats');
  t.equal(redactQuery('/m?limit=5&cursor=abc'), '/m?limit=5&cursor=abc');
  t.equal(redactQuery('/m?access_token=eyJ.x.y&limit=5'), '/m?access_token=[redacted]&limit=5');
  t.equal(redactQuery('/m?X-Amz-Signature=ab&api%5Fkey=k&flag'), '/m?X-Amz-Signature=[redacted]&api%5Fkey=[redacted]&flag');
  t.equal(redactQuery('/m?%E0%A4%A=1&id_token=t'), '/m?%E0%A4%A=1&id_token=[redacted]', 'a malformed escape is kept as sent');
});
