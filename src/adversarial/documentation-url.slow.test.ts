import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import t from 'tap';
import { openTestDatabase } from '../testing/databases.ts';
import { documentedServer } from '../testing/served-document.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * `/documentation` needs nothing from outside the process (README, "The API description"), but
 * hapi-swagger's page reads `?url=` from its own address and would load whatever description
 * that names (the plugin now redirects any query away): a link such as `http://127.0.0.1:3001/documentation?url=https://evil.example/api.json`
 * makes the page fetch a description from another origin and present it as this service's, its
 * `servers` included, so "Authorize" + "Try it out" sends the token typed into the page there.
 * (Swagger UI itself turned `?url=` off by default in 4.1.3 for this reason, as `queryConfigEnabled`;
 * hapi-swagger's template re-implements it.)
 *
 * By hand: npm start, then open /documentation?url=http://127.0.0.1:9/x.json in a browser and
 * watch the network tab.
 */

const executablePath = '/usr/bin/chromium';
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

t.teardown(closeTestDynamoDb);

t.test('/documentation?url=<elsewhere> loads nothing from elsewhere', { skip: existsSync(executablePath) ? false : `no browser: ${executablePath} is missing` }, async (t) => {
  const requested: string[] = [];
  const elsewhere = createServer((request, response) => {
    requested.push(request.url ?? '');
    response
      .writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' })
      .end(JSON.stringify({ openapi: '3.0.0', info: { title: 'Not this service', version: '1' }, servers: [{ url: 'http://attacker.invalid' }], paths: {} }));
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  t.teardown(() => elsewhere.close());
  const elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/api.json`;

  const { store } = await freshEventStore();
  const { server } = await documentedServer(store, await openTestDatabase(t, null), { listen: true });
  t.teardown(() => server.stop());
  const origin = server.info.uri.replace('0.0.0.0', '127.0.0.1');

  const browser = await chromium.launch({ executablePath, headless: true, args: flags });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const outside: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(`${origin}/`) && !request.url().startsWith('data:')) outside.push(request.url());
  });
  await page.goto(`${origin}/documentation?url=${encodeURIComponent(elsewhereUrl)}`, { waitUntil: 'load' });
  // Once a description is rendered, its title is on the page: this service's, or the other one's.
  await page.locator('.info .title').first().waitFor();
  t.same(outside, [], 'the page requests nothing outside the service');
  t.same(requested, [], 'the other origin was never asked');
  t.notMatch(await page.locator('body').innerText(), /Not this service/, "another origin's description is not shown as this service's");
});
