/** The `gitlab` config section: off by default, validated at start, GITLAB_TOKEN overrides. */
import { validateConfig } from './load';

const base = { zulip: { site: 'https://chat.example.org', email: 'b@example.org', apiKey: 'k' }, alerts: { senders: ['z@example.org'] } };

test('off by default, with the documented defaults', () => {
  const r = validateConfig(base);
  expect(r.ok && r.config.gitlab).toEqual({ classes: ['critical', 'non-critical'], labels: ['incident'], syncEvery: 60_000, closeResolves: false });
});

test('GITLAB_TOKEN overrides the file; a token alone does not turn GitLab on', () => {
  const on = validateConfig({ ...base, gitlab: { url: 'https://git.example.org/', token: 'file', project: 42 } }, { GITLAB_TOKEN: 'env' });
  expect(on.ok && on.config.gitlab).toMatchObject({ url: 'https://git.example.org', token: 'env', project: 42 });
  const tokenOnly = validateConfig(base, { GITLAB_TOKEN: 'env' });
  expect(tokenOnly.ok && tokenOnly.config.gitlab.url).toBeUndefined();
});

test('each problem names its key', () => {
  const r = validateConfig({ ...base, gitlab: { url: 'git.example.org', classes: ['urgent'], syncEvery: 'often', closeResolves: 'yes', colour: 'red' } });
  expect(r.ok).toBe(false);
  const errors = r.ok ? [] : r.errors;
  expect(errors).toEqual(
    expect.arrayContaining([
      'gitlab.url: expected an http(s) URL like "https://chat.example.org"',
      'gitlab.classes.0: expected "critical", "non-critical" or "informational"',
      expect.stringMatching(/^gitlab\.syncEvery: expected a duration like "1h"/),
      'gitlab.closeResolves: expected true or false',
      'gitlab.colour: unknown key',
    ]),
  );
  const missing = validateConfig({ ...base, gitlab: { url: 'https://git.example.org' } });
  expect(missing.ok ? [] : missing.errors).toEqual([
    'gitlab.token: required when gitlab is configured (or set GITLAB_TOKEN)',
    'gitlab.project: required when gitlab is configured (a project id or path like "sre/incidents")',
  ]);
});
