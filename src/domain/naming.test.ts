import { findProjectIds, hostLetters, incidentNames, parseProjectId, problemTitle } from './naming';

describe('Lynx project ID detection', () => {
  test.each([
    ['Tracking in SRE2611WEB', ['SRE2611WEB']],
    ['lynx: sre2611dbx, see https://lynx.example.org/projects/SRE2611DBX', ['SRE2611DBX']],
    ['(SRE2512ABC) and [SRE2601XYZ](https://lynx/p/SRE2601XYZ).', ['SRE2512ABC', 'SRE2601XYZ']],
    ['**SRE2611Web**', ['SRE2611WEB']],
    ['`SRE2611ABC`', ['SRE2611ABC']],
    ['ID:SRE2611ABC', ['SRE2611ABC']],
  ])('%j', (text, ids) => expect(findProjectIds(text)).toEqual(ids));

  test.each(['XSRE2611ABC', 'SRE2611ABCD', 'SRE261ABC', 'SRE2611AB', 'SRE2611AB1', 'SRE2611ABC_x', 'nothing here', 'SRE 2611 ABC'])('%j has none', (text) =>
    expect(findProjectIds(text)).toEqual([]),
  );

  test('one ID as a command argument', () => {
    expect(parseProjectId(' sre2611abc ')).toBe('SRE2611ABC');
    expect(parseProjectId('SRE2611ABC SRE2611DEF')).toBeUndefined();
    expect(parseProjectId('foo')).toBeUndefined();
  });
});

describe('names', () => {
  const base = { triggerName: 'Free disk space is less than 20% on /var', host: 'db-02.example.org', timeZone: 'Europe/Amsterdam', organisation: 'Delft Solutions Hosting' };

  test('follow the team patterns', () => {
    expect(incidentNames({ ...base, at: Date.UTC(2026, 10, 21, 12) })).toEqual({
      kimaiActivity: '2026-11 Free disk space is less than 20% on /var on db-02.example.org',
      milestone: 'Delft Solutions Hosting Incident response work 2026-11 Free disk space is less than 20% on /var on db-02.example.org',
      lynxProject: 'Delft Solutions Hosting Incident response work 2026-11 Free disk space is less than 20% on /var on db-02.example.org',
      lynxId: 'SRE2611DBE',
      startDate: '2026-11-21',
    });
  });

  test('the month is the one in the configured time zone', () => {
    const lateOct = Date.UTC(2026, 9, 31, 23, 30); // 00:30 on 1 November in Amsterdam
    expect(incidentNames({ ...base, at: lateOct }).kimaiActivity.slice(0, 7)).toBe('2026-11');
    expect(incidentNames({ ...base, at: lateOct, timeZone: 'UTC' }).kimaiActivity.slice(0, 7)).toBe('2026-10');
    expect(incidentNames({ ...base, at: lateOct }).lynxId).toBe('SRE2611DBE');
    const newYear = Date.UTC(2026, 11, 31, 23, 5);
    expect(incidentNames({ ...base, at: newYear }).lynxId).toBe('SRE2701DBE');
    expect(incidentNames({ ...base, at: newYear, timeZone: 'America/New_York' }).lynxId).toBe('SRE2612DBE');
  });

  test('the organisation and the letters can be given', () => {
    const n = incidentNames({ ...base, at: Date.UTC(2026, 0, 5), organisation: 'ACME Ops', letters: 'dsk' });
    expect(n.lynxProject.startsWith('ACME Ops Incident response work 2026-01 ')).toBe(true);
    expect(n.lynxId).toBe('SRE2601DSK');
  });

  test('the host is not repeated when the trigger names it', () => {
    expect(problemTitle('HTTPS is down on web-01.example.org', 'web-01.example.org')).toBe('HTTPS is down on web-01.example.org');
  });

  test('long trigger names are cut at a word, keeping the host', () => {
    const t = problemTitle('Very long trigger name '.repeat(20), 'db-02');
    expect(t.length).toBeLessThanOrEqual(120);
    expect(t.endsWith('… on db-02')).toBe(true);
  });

  test.each([
    ['web-01.example.org', 'WEB'],
    ['db-02.example.org', 'DBE'],
    ['x1.y2.z3', 'XYZ'],
    ['10.0.0.1', 'XXX'],
    ['git.example.org', 'GIT'],
  ])('host letters of %s are %s', (host, letters) => expect(hostLetters(host)).toBe(letters));
});
