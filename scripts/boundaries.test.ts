import { ESLint } from 'eslint';
import t from 'tap';

/** The module boundaries (ARCHITECTURE.md, layout) are lint rules; these cases prove the rules bite. */
const eslint = new ESLint();

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

t.test('the command module cannot import the read side', async (t) => {
  const found = await problems('src/modules/command/x.ts', "import { listGroupChats } from '../query/group-chats/group-chats.queries.ts';\nvoid listGroupChats;\n");
  t.match(found, [/never imports the query, projection or projector module/]);
  t.match(await problems('src/modules/command/x.ts', "import { queryModule } from '../query/index.ts';\nvoid queryModule;\n"), [/never imports/]);
  t.match(await problems('src/modules/command/x.ts', "import { Projector } from '../projection/index.ts';\nvoid Projector;\n"), [/never imports/]);
});

t.test('the read side cannot import the command module', async (t) => {
  t.match(await problems('src/modules/query/x.ts', "import { decideGroupChat } from '../command/group-chat/group-chat.decider.ts';\nvoid decideGroupChat;\n"), [
    /never imports the command module/,
  ]);
  t.match(await problems('src/modules/projection/x.ts', "import { commandModule } from '../command/index.ts';\nvoid commandModule;\n"), [/never imports the modules that use it/]);
});

t.test('the query and projector modules reach the projections through their index.ts only, and never each other', async (t) => {
  for (const module of ['query', 'projector']) {
    t.same(await problems(`src/modules/${module}/x.ts`, "import { Projector } from '../projection/index.ts';\nvoid Projector;\n"), [], `${module}: the index`);
    t.match(await problems(`src/modules/${module}/x.ts`, "import { Projector } from '../projection/projector.ts';\nvoid Projector;\n"), [/through its index\.ts only/], `${module}: not a file inside`);
  }
  t.match(await problems('src/modules/query/x.ts', "import { projectorModule } from '../projector/index.ts';\nvoid projectorModule;\n"), [/never import each other/]);
  t.match(await problems('src/modules/projector/x.ts', "import { queryModule } from '../query/index.ts';\nvoid queryModule;\n"), [/never import each other/]);
  t.match(await problems('src/modules/projection/x.ts', "import { queryModule } from '../query/index.ts';\nvoid queryModule;\n"), [/never imports the modules that use it/]);
});

t.test('shared code cannot import a module', async (t) => {
  t.match(await problems('src/eventstore/x.ts', "import { commandModule } from '../modules/command/index.ts';\nvoid commandModule;\n"), [/never imports a module/]);
  t.match(await problems('src/shared/x.ts', "import { queryModule } from '../modules/query/index.ts';\nvoid queryModule;\n"), [/never imports a module/]);
});

t.test('entries reach a module only through its index.ts', async (t) => {
  t.match(await problems('src/entry/x.ts', "import { Projector } from '../modules/projection/projector.ts';\nvoid Projector;\n"), [/index\.ts only/]);
  t.same(await problems('src/entry/x.ts', "import { Projector } from '../modules/projection/index.ts';\nvoid Projector;\n"), []);
  t.same(await problems('src/entry/x.ts', "import { projectorModule } from '../modules/projector/index.ts';\nvoid projectorModule;\n"), []);
  t.match(await problems('src/entry/x.ts', "import { queryRoutes } from '../modules/query/query.routes.ts';\nvoid queryRoutes;\n"), [/index\.ts only/]);
  t.match(await problems('src/entry/x.ts', "import { streamEventsRoute } from '../modules/projector/stream-events.ts';\nvoid streamEventsRoute;\n"), [/index\.ts only/]);
});

t.test('a module may use shared code', async (t) => {
  t.same(await problems('src/modules/command/x.ts', "import { VersionConflictError } from '../../eventstore/index.ts';\nvoid VersionConflictError;\n"), []);
});
