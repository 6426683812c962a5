import { SpanKind, context } from '@opentelemetry/api';
import type { LogEvent } from 'kysely';
import { failed, tracer, tracingEnabled } from './tracing.ts';

/** SQL keywords a statement may start with; the span is named after it (`SELECT`, `INSERT` …). */
const operation = /^\s*(select|insert|update|delete|with|begin|commit|rollback|create|alter|drop|set|lock|savepoint|release|truncate)\b/i;

/**
 * Kysely's `log` hook as one span per query, for both dialects (pg and PGlite): Kysely
 * calls it where the query was awaited, so the span joins the active trace, with the start time
 * and duration Kysely measured. The span carries the SQL text, whose values are `$n` parameters
 * (never the values themselves). With tracing off it returns at once.
 *
 * @example
 * new Kysely<Database>({ dialect, log: querySpans });
 */
export function querySpans(event: LogEvent): void {
  if (!tracingEnabled()) return;
  const sql = event.query.sql;
  const name = operation.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
  const end = Date.now();
  const span = tracer().startSpan(
    `postgres ${name}`,
    {
      kind: SpanKind.CLIENT,
      startTime: end - event.queryDurationMillis,
      attributes: { 'db.system.name': 'postgresql', 'db.operation.name': name, 'db.query.text': sql.slice(0, 2_048) },
    },
    context.active(),
  );
  if (event.level === 'error') failed(span, event.error);
  span.end(end);
}
