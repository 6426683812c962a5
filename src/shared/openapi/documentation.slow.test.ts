import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import t from 'tap';
import { issueToken } from '../auth.ts';
import { testSecret } from '../../testing/command-server.ts';
import { refusedDatabase } from '../../testing/databases.ts';
import { documentedServer } from '../../testing/served-document.ts';
import { closeTestDynamoDb, freshEventStore } from '../../testing/stores.ts';

/**
 * `/documentation` in a real browser (Debian's chromium, headless): the page needs nothing from
 * outside this process, logs no error, lists every operation, and a create tried from the page
 * with a token entered under "Authorize" answers 201.
 */

const executablePath = '/usr/bin/chromium';
const flags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

t.teardown(closeTestDynamoDb);

t.test('the documentation page in headless chromium', { skip: existsSync(executablePath) ? false : `no browser: ${executablePath} is missing (apt-get install chromium)` }, async (t) => {
  const { store } = await freshEventStore();
  // The page and a create need no projection.
  const { server, document } = await documentedServer(store, await refusedDatabase(t), { listen: true, deliver: false });
  t.teardown(() => server.stop());
  const origin = server.info.uri.replace('0.0.0.0', '127.0.0.1');
  const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));

  const browser = await chromium.launch({ executablePath, headless: true, args: flags });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const outside: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(`${origin}/`) && !request.url().startsWith('data:')) outside.push(request.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));

  await page.goto(`${origin}/documentation`, { waitUntil: 'load' });
  await page.locator('.opblock').first().waitFor();
  t.equal(await page.locator('.opblock').count(), operations.length, 'every operation is listed');
  for (const { operationId } of operations) t.equal(await page.locator(`[id$="-${operationId}"]`).count(), 1, operationId);

  await page.locator('.auth-wrapper .authorize').click();
  await page.locator('.auth-container input').first().fill(issueToken('alice', testSecret));
  await page.locator('.auth-btn-wrapper .authorize').click();
  await page.locator('.auth-btn-wrapper .btn-done').click();

  const create = page.locator('[id$="-postCommandV1Groupchats"]');
  await create.locator('.opblock-summary').click();
  await create.locator('.try-out__btn').click();
  await create.locator('.execute').click();
  const status = create.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor();
  t.equal((await status.innerText()).trim(), '201', 'the create answers 201');
  t.match(await create.locator('.live-responses-table .microlight').first().innerText(), /"groupChatId":\s*"[0-9a-f-]{36}"/);

  t.same(outside, [], 'no request leaves the service');
  t.same(errors, [], 'no console error');
});
