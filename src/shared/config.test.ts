import Validate from '@hapi/validate';
import t from 'tap';
import { httpUrl, readConfig } from './config.ts';

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
