import { X509Certificate } from 'node:crypto';
import Validate from '@hapi/validate';
import { settings } from '../shared/config.ts';
import { DatabaseUrlError, connectionFromUrl, defaultConnectTimeoutMs, rdsTls } from '../shared/postgres.ts';
import type { PostgresConnectionSettings, PostgresSource } from '../shared/postgres.ts';
import { awsHttpTimeouts } from '../shared/aws-http.ts';

/** How a deployed read-side function (query API, projector) reaches Postgres. */
export interface DatabaseConfig {
  /** postgres://user:password@host:port/db (user and password percent-encoded). */
  readonly DATABASE_URL?: string;
  /** Or: the ARN of a Secrets Manager secret in the RDS JSON format, read at run time. */
  readonly DATABASE_SECRET_ARN?: string;
  readonly DATABASE_SCHEMA: string;
  readonly DATABASE_POOL_SIZE: number;
  /**
   * How long opening a connection may take. The default (3 s) fails fast on a laptop or a server
   * that is down; a deployment whose database pauses (Aurora Serverless v2 at 0 ACU resumes in
   * about 15 s) sets it above the resume time and below the function timeout.
   */
  readonly DATABASE_CONNECT_TIMEOUT_MS: number;
  /** Extra PEM certificates to trust for the database (a region newer than the bundled RDS CAs). */
  readonly DATABASE_CA_CERTS?: string;
}

/** A DATABASE_URL that `connectionFromUrl` can read; the message never repeats the value (it holds a password). */
export const databaseUrl = Validate.string().custom((value: string, helpers) => {
  try {
    connectionFromUrl(value);
  } catch (error) {
    if (error instanceof DatabaseUrlError) return helpers.message({ custom: `{{#label}} ${error.message}` });
    throw error;
  }
  return value;
});

const pemCertificates = Validate.string().custom((value: string, helpers) => {
  const certificates = splitPem(value);
  try {
    if (certificates.length === 0) throw new Error('no certificate');
    for (const pem of certificates) new X509Certificate(pem);
  } catch {
    return helpers.message({ custom: '{{#label}} must hold PEM certificates (-----BEGIN CERTIFICATE----- …)' });
  }
  return value;
});

export const databaseSchema = Validate.object<DatabaseConfig>({
  DATABASE_URL: databaseUrl,
  DATABASE_SECRET_ARN: Validate.string().pattern(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, 'a Secrets Manager secret ARN'),
  DATABASE_SCHEMA: settings.databaseSchema,
  // One request at a time reaches a Lambda instance; two connections cover a query plus catch-up.
  DATABASE_POOL_SIZE: Validate.number().integer().min(1).max(20).default(2),
  DATABASE_CONNECT_TIMEOUT_MS: Validate.number().integer().min(100).max(300_000).default(defaultConnectTimeoutMs),
  DATABASE_CA_CERTS: pemCertificates,
})
  .xor('DATABASE_URL', 'DATABASE_SECRET_ARN')
  .messages({
    'object.missing': 'set DATABASE_SECRET_ARN (or DATABASE_URL outside AWS)',
    'object.xor': 'set either DATABASE_SECRET_ARN or DATABASE_URL, not both',
  });

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** The fields of an RDS secret (what `DatabaseCluster` with `Credentials.fromGeneratedSecret` attaches). */
const rdsSecretSchema = Validate.object({
  username: Validate.string().required(),
  password: Validate.string().required(),
  host: Validate.string().hostname().required(),
  port: Validate.number().integer().min(1).max(65535).default(5432),
  dbname: Validate.string().default('postgres'),
}).unknown(true);

/** Reads an RDS-format secret into connection settings (TLS verified against the RDS CAs). */
export function settingsFromSecret(secretString: string, extraCa: readonly string[] = []): PostgresConnectionSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new Error('the database secret is not JSON');
  }
  // Joi's message names the field, never the value: nothing of the secret reaches a log.
  const { error, value } = rdsSecretSchema.validate(parsed, { errors: { wrap: { label: '"' } } });
  if (error) throw new Error(`the database secret is not in the RDS format: ${error.details[0]?.message ?? 'invalid'}`);
  const secret = value as { username: string; password: string; host: string; port: number; dbname: string };
  return { host: secret.host, port: secret.port, user: secret.username, password: secret.password, database: secret.dbname, ssl: rdsTls(secret.host, extraCa) };
}

/**
 * Where the read side's connection settings come from: DATABASE_URL as it is, or the secret
 * named by DATABASE_SECRET_ARN, fetched from Secrets Manager when the first connection is
 * needed (never at start, never baked into the environment) and again when the server refuses
 * the credentials (rotation). The SDK client is loaded only then, so a DATABASE_URL deployment
 * never evaluates it. Either way the settings carry DATABASE_CONNECT_TIMEOUT_MS.
 */
export function databaseSource(config: DatabaseConfig): { readonly postgres: PostgresSource } {
  const extraCa = config.DATABASE_CA_CERTS ? splitPem(config.DATABASE_CA_CERTS) : [];
  const connectTimeoutMs = config.DATABASE_CONNECT_TIMEOUT_MS;
  if (config.DATABASE_URL) {
    const connection = { ...connectionFromUrl(config.DATABASE_URL), connectTimeoutMs };
    return { postgres: async () => connection };
  }
  const secretId = config.DATABASE_SECRET_ARN!;
  let client: Promise<{ read: () => Promise<string> }> | undefined;
  const postgres: PostgresSource = async () => {
    client ??= secretReader(secretId).catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return { ...settingsFromSecret(await (await client).read(), extraCa), connectTimeoutMs };
  };
  return { postgres };
}

async function secretReader(secretId: string): Promise<{ read: () => Promise<string> }> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new SecretsManagerClient({
    region: process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: 3,
    requestHandler: awsHttpTimeouts,
  });
  return {
    read: async () => {
      const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (typeof SecretString !== 'string') throw new Error('the database secret has no SecretString');
      return SecretString;
    },
  };
}
