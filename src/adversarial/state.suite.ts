// `npm test` runs these test files one after another in this one process (README.md, Tests).
// The probes on state, tokens and the stores. tracing-shutdown starts and stops tracing: last.
import './commit-trace-attribute.test.ts';
import './idempotency.test.ts';
import './jwks-keys.test.ts';
import './read-side.test.ts';
import './remembered-tokens.test.ts';
import './store-timeouts.test.ts';
import './tampered.test.ts';
import './tracing-shutdown.test.ts';
