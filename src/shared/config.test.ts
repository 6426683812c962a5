import Validate from '@hapi/validate';
import t from 'tap';
import { httpUrl, originList, readConfig } from './config.ts';

t.test('an http(s) URL setting: accepted as given, anything else named and refused', async (t) => {
  const schema = Validate.object({ URL_SETTING: httpUrl() });
  const read = (value: string) => {
    const messages: string[] = [];
    const config = readConfig<{ URL_SETTING?: string }>(schema, { URL_SETTING: value }, (message) => {
      messages.push(message);
      throw new Error(message);
    });
    return { config, messages };
  };
  t.equal(read('https://idp.example/.well-known/jwks.json').config.URL_SETTING, 'https://idp.example/.well-known/jwks.json');
  t.equal(read('http://127.0.0.1:8000').config.URL_SETTING, 'http://127.0.0.1:8000', 'unchanged, not normalised');
  t.throws(() => read('not a url'), /^configuration error: "URL_SETTING" must be a valid uri$/);
  t.throws(() => read('/relative/path'), /must be a valid uri/);
  t.throws(() => read('ftp://idp.example/jwks.json'), /^configuration error: "URL_SETTING" must be a valid uri with a scheme matching the https\|http pattern$/);
  t.throws(() => read('javascript:alert(1)'), /scheme matching the https\|http pattern/);
});

t.test('a list of origins: exact lowercase origins, deduplicated; none when unset or empty; anything else refused without echoing credentials', async (t) => {
  const read = (env: NodeJS.ProcessEnv) =>
    readConfig<{ ORIGINS: readonly string[] }>({ ORIGINS: originList() }, env, (message) => {
      throw new Error(message);
    }).ORIGINS;
  t.same(read({}), []);
  t.same(read({ ORIGINS: '' }), []);
  t.same(read({ ORIGINS: ' https://app.example.com , http://localhost:5173,https://app.example.com' }), ['https://app.example.com', 'http://localhost:5173']);
  for (const bad of ['*', 'https://*.example.com', 'https://app.example.com/', 'https://App.example.com', 'ftp://x.example', 'app.example.com', 'null']) {
    t.throws(() => read({ ORIGINS: `https://ok.example,${bad}` }), /^configuration error: "ORIGINS": .* is not an origin: write it as scheme:\/\/host\[:port\]/, bad);
  }
  t.throws(() => read({ ORIGINS: 'https://user:secret@app.example.com' }), { message: /"ORIGINS": entry 1 is not an origin/ });
  t.throws(() => read({ ORIGINS: 'https://user:secret@app.example.com' }), { message: /^(?!.*secret)/ });
});
