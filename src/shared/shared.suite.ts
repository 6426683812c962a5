// `npm test` runs these test files one after another in this one process (README.md, Tests).
// tracing-sdk starts and stops tracing: last.
import './auth.test.ts';
import './config.test.ts';
import './health.test.ts';
import './http-errors.test.ts';
import './lazy-schema.test.ts';
import './logging.test.ts';
import './postgres.test.ts';
import './openapi/contract.test.ts';
import './tracing-sdk.test.ts';
