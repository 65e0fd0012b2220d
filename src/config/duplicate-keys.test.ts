import { duplicateKeys, loadConfig } from './load';

const load = (text: string) => loadConfig({ argv: ['--config', 'bot.json'], env: {}, readFile: () => text });
const minimal = `"zulip": { "site": "https://chat.example.org", "email": "bot@x.org", "apiKey": "k" }, "alerts": { "senders": ["zabbix@x.org"] }`;

describe('a key set twice in the config file', () => {
  test('is an error naming its key path (JSON.parse alone keeps the last silently)', () => {
    const r = load(`{ ${minimal}, "sla": { "critical": { "remindEvery": "1h", "resolveWithin": "16h", "remindEvery": "5m" } } }`);
    expect(r).toEqual({ ok: false, errors: ['sla.critical.remindEvery: duplicate key (the file sets it more than once; remove all but one)'] });
  });

  test('at the root, in list items, and written with escapes; each path once; validation errors follow', () => {
    const text = `{
      ${minimal},
      "store": { "path": "a.db" },
      "runbook": { "rules": [ { "name": "a", "hint": "x" }, { "name": "b", "hint": "y", "na\\u006de": "c" } ] },
      "store": { "path": "b.db" },
      "timezone": 5, "timezone": 6, "timezone": 7
    }`;
    const r = load(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.slice(0, 3)).toEqual([
      'runbook.rules.1.name: duplicate key (the file sets it more than once; remove all but one)',
      'store: duplicate key (the file sets it more than once; remove all but one)',
      'timezone: duplicate key (the file sets it more than once; remove all but one)',
    ]);
    expect(!r.ok && r.errors.length).toBeGreaterThan(3); // timezone 7 is not a time zone
  });

  test('equal keys in different objects, keys that only look alike, and strings holding braces and quotes are fine', () => {
    expect(duplicateKeys('{"a": {"x": 1}, "b": {"x": [1, {"x": 2}, "}\\"x\\": {"]}, "A": null, "a ": true, "c": -1.5e3, "d": [], "e": {}}')).toEqual([]);
    expect(load(`{ ${minimal} }`).ok).toBe(true);
  });
});
