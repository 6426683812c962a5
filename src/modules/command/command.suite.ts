// `npm test` runs these test files one after another in this one process (README.md, Tests).
import './command.routes.test.ts';
import './group-chat/group-chat.decider.test.ts';
import './message/message.decider.test.ts';
import './command.probes.test.ts';
