/**
 * The baseline of a query's cold first request (docs/budgets.md): bare hapi plus a `pg` pool that runs,
 * on the first GET, the SELECTs a page of messages takes: the membership check, then the page.
 * No auth, no validation, no query builder, no migrations.
 */
import Hapi from '@hapi/hapi';
import pg from 'pg';

const schema = process.env.DATABASE_SCHEMA ?? 'projections';
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema ${schema}`);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });

const server = Hapi.server({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
server.route({ method: 'GET', path: '/health', handler: () => 'ok' });
server.route({
  method: 'GET',
  path: '/chats/{id}/messages',
  handler: async (request, h) => {
    const chatId = request.params.id as string;
    const userId = String(request.query.user);
    const member = await pool.query(
      `select "m"."user_id" from "${schema}"."members" as "m" inner join "${schema}"."group_chats" as "g" on "g"."group_chat_id" = "m"."group_chat_id" where "m"."group_chat_id" = $1 and "m"."user_id" = $2 and "g"."deleted" = $3`,
      [chatId, userId, false],
    );
    if (member.rows.length === 0) return h.response({ message: 'not found' }).code(404);
    const page = await pool.query(`select * from "${schema}"."messages" where "group_chat_id" = $1 order by "posted_at" desc, "message_id" desc limit $2`, [chatId, 51]);
    return { items: page.rows.slice(0, 50) };
  },
});
await server.start();
process.once('SIGTERM', () => void server.stop().then(() => pool.end()).then(() => process.exit(0)));
