import { readFile } from 'node:fs/promises';
import t from 'tap';

/**
 * scripts/readme.slow.test.ts runs the ```sh blocks of "## Try it with curl" against npm start. A curl
 * example anywhere else would drift unnoticed, so each one is either in that section or in a
 * section whose scenario a named test runs; and every example sends the walkthrough's `$ALICE`/
 * `$BOB` the way the walkthrough defines them (a whole `Authorization: Bearer …` header).
 */
const walked = 'Try it with curl';
const runElsewhere: Record<string, string> = { Traces: 'src/entry/local-tracing.slow.test.ts' };

interface Block {
  readonly language: string;
  readonly body: string;
  readonly section: string;
  readonly line: number;
}

function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (.*)$/.exec(lines[i]!);
    if (heading) section = heading[1]!;
    const open = /^( *)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !new RegExp(`^${open[1]}\`\`\`\\s*$`).test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ language: open[2]!, body: body.join('\n'), section, line: start + 1 });
  }
  return blocks;
}

t.test('every README curl example is run by a test, and uses the walkthrough\'s headers as defined', async (t) => {
  const readme = await readFile('README.md', 'utf8');
  const calling = fencedBlocks(readme).filter((block) => /\bcurl\b/.test(block.body));
  t.ok(calling.length > 0, 'the README has curl examples');
  for (const block of calling) {
    const where = `README.md:${block.line}`;
    if (block.section === walked) t.equal(block.language, 'sh', `${where} is fenced \`\`\`sh, which scripts/readme.slow.test.ts picks up`);
    else t.ok(Object.hasOwn(runElsewhere, block.section), `${where} (${block.section}) is in "${walked}" or in a section a named test runs`);
    const misused = [...block.body.matchAll(/(-H\s+)?"([^"]*\$(?:ALICE|BOB)\b[^"]*)"/g)].filter(([, flag, quoted]) => !flag || !/^\$(ALICE|BOB)$/.test(quoted!));
    t.same(misused.map(([text]) => text), [], `${where} sends $ALICE/$BOB only as -H "$ALICE"`);
  }
  for (const [section, test] of Object.entries(runElsewhere)) {
    t.ok(readme.includes(`\n## ${section}\n`), `README has "## ${section}"`);
    t.ok((await readFile(test, 'utf8')).length > 0, `${test} exists`);
  }
});
