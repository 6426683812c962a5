import Hapi from '@hapi/hapi';
import Validate from '@hapi/validate';
import Joi from 'joi';
import t from 'tap';
import { isLazySchema, lazySchema, lazySchemas, resolveLazySchemas } from './lazy-schema.ts';

t.test('a lazy schema loads its joi schema once, on first use, and validates as it would', async (t) => {
  let loads = 0;
  const schema = lazySchemas(async () => {
    loads++;
    return { body: Joi.object({ name: Joi.string().trim().required() }) };
  });
  const body = schema((s) => s.body);
  t.equal(loads, 0, 'nothing loaded when the route is made');
  t.same(await body({ name: '  x ' }), { name: 'x' }, 'the value as joi shapes it');
  const error = (await body({}).catch((e: unknown) => e)) as Joi.ValidationError;
  t.equal(error.message, '"name" is required');
  t.same(error.details.map((d) => d.path), [['name']], 'the details hapi reads the field from');
  t.equal(loads, 1, 'loaded once');
});

t.test('a schema that failed to load is loaded again next time', async (t) => {
  let attempt = 0;
  const schema = lazySchema(async () => {
    if (++attempt === 1) throw new Error('chunk missing');
    return Joi.string();
  });
  await t.rejects(schema('x'), /chunk missing/);
  t.equal(await schema('x'), 'x');
});

t.test('with `now`, validation never loads the joi schema', async (t) => {
  let loads = 0;
  const schema = lazySchema(
    async () => {
      loads++;
      return Joi.boolean();
    },
    { now: Validate.boolean() },
  );
  t.equal(await schema('true'), true);
  t.equal(loads, 0);
});

t.test('through hapi: a 400 names the field; the description sees the joi schemas', async (t) => {
  const server = Hapi.server();
  const payload = lazySchema(async () => Joi.object({ name: Joi.string().required() }).label('Named'));
  server.route({
    method: 'POST',
    path: '/x',
    options: { validate: { payload, failAction: (_r, _h, error) => { throw error ?? new Error('no error'); } }, handler: () => 'ok' },
  });
  const refused = await server.inject({ method: 'POST', url: '/x', payload: {} });
  t.equal(refused.statusCode, 400);
  t.match(JSON.parse(refused.payload), { message: '"name" is required', validation: { source: 'payload', keys: ['name'] } });
  t.equal((await server.inject({ method: 'POST', url: '/x', payload: { name: 'a' } })).statusCode, 200);
  await resolveLazySchemas(server);
  const resolved = server.table()[0]!.settings.validate!.payload;
  t.notOk(isLazySchema(resolved), 'replaced');
  t.ok(Joi.isSchema(resolved), 'by the joi schema itself');
});
