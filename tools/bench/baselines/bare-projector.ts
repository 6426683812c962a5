/**
 * The baseline of the stream path (docs/budgets.md): bare hapi plus a `pg` pool; POST /events takes a
 * DynamoDB Streams batch and writes it with the raw SQL of `raw-projection.ts`, one transaction per
 * batch. It answers like the projector: `{ batchItemFailures: [] }`.
 */
import Hapi from '@hapi/hapi';
import pg from 'pg';
import { projectBatch } from './raw-projection.ts';

const schema = process.env.DATABASE_SCHEMA ?? 'projections';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });

const server = Hapi.server({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
server.route({ method: 'GET', path: '/health', handler: () => 'ok' });
server.route({
  method: 'POST',
  path: '/events',
  options: { payload: { maxBytes: 6 * 1024 * 1024 } },
  handler: async (request) => {
    const { Records } = request.payload as { Records: Parameters<typeof projectBatch>[2] };
    const client = await pool.connect();
    try {
      await client.query('begin');
      await projectBatch(client, schema, Records);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    return { batchItemFailures: [] };
  },
});
await server.start();
process.once('SIGTERM', () => void server.stop().then(() => pool.end()).then(() => process.exit(0)));
