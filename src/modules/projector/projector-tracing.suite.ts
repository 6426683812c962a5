// `npm test` runs these test files one after another in this one process (README.md, Tests).
// Alone: the file starts tracing for its whole process.
import './projector.tracing.test.ts';
