/**
 * `npm run rehearse`: the AWS topology on this machine (see tools/rehearsal/topology.ts):
 * DynamoDB Local with Streams, the three functions as separate processes started as their
 * images start them, the stream poller in place of the event source mapping, and a router in
 * place of API Gateway. Needs Java 17+ and a Postgres in DATABASE_URL. Stop with Ctrl-C.
 */
import { buildBundle } from '../../scripts/build.ts';
import { javaMissing } from './dynamodb-local.ts';
import { startRehearsal } from './topology.ts';

async function main() {
  const missing = javaMissing();
  if (missing) throw new Error(`cannot rehearse: ${missing}`);
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('cannot rehearse: set DATABASE_URL to a Postgres (e.g. postgres://postgres@127.0.0.1:5432/test); a schema of its own is made and dropped');
  console.log('building the bundles into dist/ …');
  await Promise.all((['command', 'query', 'projector'] as const).map((bundle) => buildBundle(bundle, 'dist')));
  console.log('starting DynamoDB Local, the command, query and projector functions, the stream poller and the router …');
  const rehearsal = await startRehearsal({ bundlesDir: 'dist', databaseUrl, ...(process.env.PORT ? { routerPort: Number(process.env.PORT) } : {}) });
  console.log(`
DynamoDB Local ${rehearsal.dynamoDbLocal.version} at ${rehearsal.dynamoDbLocal.endpoint} (Streams on)
functions: ${rehearsal.functions.map((fn) => `${fn.name} :${fn.port}`).join(', ')} — logs in ${rehearsal.logDir}

API (as API Gateway, stage included): ${rehearsal.url}
  ALICE="Authorization: Bearer $(curl -s ${rehearsal.idp}/token/alice)"
  API=${rehearsal.url}/command/v1
  Q=${rehearsal.url}/query/v1
and then the README's curl examples. Ctrl-C stops everything.`);
  const report = setInterval(() => {
    const { invocations, records, failedRecords, failedInvocations, discarded } = rehearsal.poller.stats;
    if (invocations > 0) console.log(`stream: ${records} records in ${invocations} invocations, ${failedRecords} failed records, ${failedInvocations} failed invocations, ${discarded.length} discarded`);
  }, 30_000);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(report);
    console.log('stopping …');
    await rehearsal.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
