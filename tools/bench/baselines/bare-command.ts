/**
 * The baseline of a command's cold first request (docs/budgets.md): bare hapi plus a DynamoDB
 * client that makes, on the first POST, the raw calls that creating a chat makes: a consistent
 * Query of the new stream, then a conditional PutItem of its first commit. No auth, no validation,
 * no domain code.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import Hapi from '@hapi/hapi';

const tableName = process.env.EVENTS_TABLE!;
const client = new DynamoDBClient({ region: process.env.AWS_REGION, ...(process.env.DYNAMODB_ENDPOINT ? { endpoint: process.env.DYNAMODB_ENDPOINT } : {}) });

const server = Hapi.server({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
server.route({ method: 'GET', path: '/health', handler: () => 'ok' });
server.route({
  method: 'POST',
  path: '/chats',
  handler: async (request, h) => {
    const { name } = request.payload as { name: string };
    const chatId = randomUUID();
    const streamId = `GroupChat-${chatId}`;
    await client.send(
      new QueryCommand({ TableName: tableName, KeyConditionExpression: 'streamId = :s AND version >= :v', ExpressionAttributeValues: { ':s': { S: streamId }, ':v': { N: '1' } }, ConsistentRead: true }),
    );
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          streamId: { S: streamId },
          version: { N: '1' },
          commandId: { S: randomUUID() },
          actorId: { S: 'bench' },
          occurredAt: { S: new Date().toISOString() },
          events: {
            L: [
              { M: { type: { S: 'GroupChatCreated' }, data: { M: { name: { S: name }, ownerId: { S: 'bench' } } } } },
              { M: { type: { S: 'MemberAdded' }, data: { M: { userId: { S: 'bench' }, role: { S: 'admin' } } } } },
            ],
          },
        },
        ConditionExpression: 'attribute_not_exists(#v)',
        ExpressionAttributeNames: { '#v': 'version' },
      }),
    );
    return h.response({ groupChatId: chatId }).code(201);
  },
});
await server.start();
process.once('SIGTERM', () => void server.stop().then(() => process.exit(0)));
