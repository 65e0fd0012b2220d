import type { ZabbixAlert } from '../domain/alert';
import type { IncidentClass, Severity } from '../domain/classes';
import { MAX_ALERT_POST_LENGTH, parseAlert } from './parse-alert';

const BASE = 'https://zabbix.example.com';
const LINK = `${BASE}/tr_events.php?triggerid=14062&eventid=9384716`;

/** The canonical post Zulip's Zabbix integration makes. */
function post(opts: { first?: string; trigger?: string; item?: string | null; nl?: string } = {}): string {
  const nl = opts.nl ?? '\n';
  const first = opts.first ?? `PROBLEM (High) alert on [db-01.example.com](${LINK}):`;
  const lines = [first, `* ${opts.trigger ?? 'Free disk space is less than 10% on volume /var'}`];
  if (opts.item !== null) lines.push(`* ${opts.item ?? 'Free disk space on /var is 4.2 %'}`);
  return lines.join(nl);
}

function expectAlert(content: string): ZabbixAlert {
  const result = parseAlert(content);
  if (!result.ok) throw new Error(`expected an alert, got reason: ${result.reason}`);
  return result.alert;
}

function expectReason(content: string): string {
  const result = parseAlert(content);
  if (result.ok) throw new Error(`expected a rejection, got alert: ${JSON.stringify(result.alert)}`);
  expect(typeof result.reason).toBe('string');
  expect(result.reason.length).toBeGreaterThan(0);
  return result.reason;
}

describe('parseAlert — canonical post', () => {
  test('parses every field', () => {
    expect(parseAlert(post())).toEqual({
      ok: true,
      alert: {
        status: 'PROBLEM',
        severity: 'High',
        incidentClass: 'critical',
        host: 'db-01.example.com',
        zabbixUrl: BASE,
        link: LINK,
        triggerId: '14062',
        eventId: '9384716',
        triggerName: 'Free disk space is less than 10% on volume /var',
        itemText: 'Free disk space on /var is 4.2 %',
      },
    });
  });

  test('no emoji → no emoji field at all', () => {
    expect('emoji' in expectAlert(post())).toBe(false);
  });

  test('is pure: same input, same (deep-equal) output, input not needed afterwards', () => {
    const p = post();
    expect(parseAlert(p)).toEqual(parseAlert(p));
  });
});

describe('parseAlert — emoji prefix', () => {
  test.each([
    [':fire:'],
    [':red_circle:'],
    [':check:'],
    [':warning:'],
    [':+1:'],
    [':heavy-check-mark:'],
    ['🔥'],
    ['✅'],
    ['🚨'],
    ['⚠️'], // U+26A0 U+FE0F
    ['⚠'], // text presentation, no VS16
    ['👨‍🚒'], // ZWJ sequence
    ['👩🏽‍💻'], // skin tone + ZWJ
    ['🏳️‍🌈'], // VS16 + ZWJ
    ['🇩🇪'], // flag: two regional indicators
    ['1️⃣'], // keycap
    ['🏴󠁧󠁢󠁳󠁣󠁴󠁿'], // tag sequence (Scotland)
  ])('%s', (emoji) => {
    const a = expectAlert(post({ first: `${emoji} PROBLEM (High) alert on [db-01.example.com](${LINK}):` }));
    expect(a.emoji).toBe(emoji);
    expect(a.status).toBe('PROBLEM');
    expect(a.host).toBe('db-01.example.com');
  });

  test.each([
    [`🔥PROBLEM (High) alert on [h](${LINK}):`, '🔥'],
    [`:fire:PROBLEM (High) alert on [h](${LINK}):`, ':fire:'],
    [`🔥   PROBLEM (High) alert on [h](${LINK}):`, '🔥'],
    [`:fire:\tPROBLEM (High) alert on [h](${LINK}):`, ':fire:'],
  ])('emoji with unusual spacing: %s', (first, emoji) => {
    expect(expectAlert(post({ first })).emoji).toBe(emoji);
  });

  test.each([
    [`:: PROBLEM (High) alert on [h](${LINK}):`],
    [`:fire PROBLEM (High) alert on [h](${LINK}):`],
    [`🔥🔥 PROBLEM (High) alert on [h](${LINK}):`],
    [`x PROBLEM (High) alert on [h](${LINK}):`],
    [`★ PROBLEM (High) alert on [h](${LINK}):`], // U+2605 is not an emoji
  ])('not-an-emoji prefix is rejected: %s', (first) => {
    expect(expectReason(post({ first }))).toMatch(/first line/);
  });
});

describe('parseAlert — status', () => {
  test.each([
    ['PROBLEM', 'PROBLEM'],
    ['problem', 'PROBLEM'],
    ['Problem', 'PROBLEM'],
    ['OK', 'OK'],
    ['ok', 'OK'],
    ['Ok', 'OK'],
    ['RESOLVED', 'OK'],
    ['Resolved', 'OK'],
    ['resolved', 'OK'],
  ])('%s → %s', (word, status) => {
    expect(expectAlert(post({ first: `${word} (High) alert on [h](${LINK}):` })).status).toBe(status);
  });
});

describe('parseAlert — severity', () => {
  const cases: Array<[string, Severity, IncidentClass]> = [
    ['Not classified', 'Not classified', 'informational'],
    ['not classified', 'Not classified', 'informational'],
    ['NOT CLASSIFIED', 'Not classified', 'informational'],
    ['not_classified', 'Not classified', 'informational'],
    ['Not-classified', 'Not classified', 'informational'],
    ['Not  classified', 'Not classified', 'informational'],
    [' Not classified ', 'Not classified', 'informational'],
    ['NOT__CLASSIFIED', 'Not classified', 'informational'],
    ['Information', 'Information', 'informational'],
    ['information', 'Information', 'informational'],
    ['INFORMATION', 'Information', 'informational'],
    ['Warning', 'Warning', 'non-critical'],
    ['warning', 'Warning', 'non-critical'],
    ['WARNING', 'Warning', 'non-critical'],
    ['Average', 'Average', 'non-critical'],
    ['average', 'Average', 'non-critical'],
    ['AVERAGE', 'Average', 'non-critical'],
    ['High', 'High', 'critical'],
    ['high', 'High', 'critical'],
    ['HIGH', 'High', 'critical'],
    ['Disaster', 'Disaster', 'critical'],
    ['disaster', 'Disaster', 'critical'],
    ['DISASTER', 'Disaster', 'critical'],
  ];
  test.each(cases)('"%s" → %s (%s)', (spelling, severity, incidentClass) => {
    const a = expectAlert(post({ first: `PROBLEM (${spelling}) alert on [h](${LINK}):` }));
    expect(a.severity).toBe(severity);
    expect(a.incidentClass).toBe(incidentClass);
  });

  test.each([
    ['Disaster', 'critical'],
    ['High', 'critical'],
    ['Average', 'non-critical'],
    ['Warning', 'non-critical'],
    ['Information', 'informational'],
    ['Not classified', 'informational'],
  ])('class mapping also holds for OK posts: %s → %s', (severity, incidentClass) => {
    const a = expectAlert(post({ first: `OK (${severity}) alert on [h](${LINK}):` }));
    expect(a.status).toBe('OK');
    expect(a.incidentClass).toBe(incidentClass);
  });
});

describe('parseAlert — host', () => {
  test.each([
    ['db-01.example.com', 'db-01.example.com'],
    ['web server 3', 'web server 3'],
    ['app_server_01', 'app_server_01'],
    ['app\\_server\\_01', 'app_server_01'],
    ['host\\*star\\*', 'host*star*'],
    ['rack\\[3\\]', 'rack[3]'],
    ['weird\\]host', 'weird]host'],
    ['\\[bracketed\\]', '[bracketed]'],
    ['rack[3]', 'rack[3]'], // balanced unescaped brackets are valid Markdown link text
    ['back\\\\slash', 'back\\slash'],
    ['keep\\nbackslash', 'keep\\nbackslash'], // backslash before a non-punctuation char is literal
    ['  padded  ', 'padded'],
    ['Zabbix server', 'Zabbix server'],
    ['сервер-01', 'сервер-01'],
  ])('[%s] → %j', (raw, host) => {
    expect(expectAlert(post({ first: `PROBLEM (High) alert on [${raw}](${LINK}):` })).host).toBe(host);
  });
});

describe('parseAlert — link', () => {
  test.each([
    ['https://zabbix.example.com/tr_events.php?triggerid=1&eventid=2', 'https://zabbix.example.com', '1', '2'],
    ['http://zabbix.example.com/tr_events.php?triggerid=1&eventid=2', 'http://zabbix.example.com', '1', '2'],
    ['https://zabbix.example.com/tr_events.php?eventid=2&triggerid=1', 'https://zabbix.example.com', '1', '2'],
    ['https://mon.example.org/zabbix/tr_events.php?triggerid=10&eventid=20', 'https://mon.example.org/zabbix', '10', '20'],
    ['https://mon.example.org/a/b/zabbix/tr_events.php?triggerid=10&eventid=20', 'https://mon.example.org/a/b/zabbix', '10', '20'],
    ['https://10.0.0.5:8080/tr_events.php?triggerid=3&eventid=4', 'https://10.0.0.5:8080', '3', '4'],
    ['HTTPS://ZABBIX.EXAMPLE.COM/tr_events.php?triggerid=1&eventid=2', 'HTTPS://ZABBIX.EXAMPLE.COM', '1', '2'],
    ['https://z.example/tr_events.php?sid=abc&triggerid=1&foo=bar&eventid=2&x', 'https://z.example', '1', '2'],
    ['https://z.example/tr_events.php?triggerid=1&eventid=2#details', 'https://z.example', '1', '2'],
    ['https://z.example/tr_events.php?triggerid=00123&eventid=18446744073709551615', 'https://z.example', '00123', '18446744073709551615'],
  ])('%s', (link, zabbixUrl, triggerId, eventId) => {
    const a = expectAlert(post({ first: `PROBLEM (High) alert on [h](${link}):` }));
    expect(a).toMatchObject({ zabbixUrl, triggerId, eventId, link });
  });

  test.each([
    ['https://z.example/tr_events.php?triggerid=1&amp;eventid=2', 'https://z.example/tr_events.php?triggerid=1&eventid=2'],
    ['https://z.example/tr_events.php?eventid=2&amp;triggerid=1', 'https://z.example/tr_events.php?eventid=2&triggerid=1'],
    ['https://z.example/tr_events.php?eventid=2&AMP;triggerid=1', 'https://z.example/tr_events.php?eventid=2&triggerid=1'],
  ])('&amp; is unescaped: %s', (raw, link) => {
    const a = expectAlert(post({ first: `PROBLEM (High) alert on [h](${raw}):` }));
    expect(a).toMatchObject({ link, triggerId: '1', eventId: '2', zabbixUrl: 'https://z.example' });
  });

  test('link in angle brackets', () => {
    const a = expectAlert(post({ first: `PROBLEM (High) alert on [h](<${LINK}>):` }));
    expect(a.link).toBe(LINK);
  });

  test('trailing colon is optional', () => {
    const a = expectAlert(post({ first: `PROBLEM (High) alert on [h](${LINK})` }));
    expect(a.eventId).toBe('9384716');
    expect(expectAlert(post({ first: `PROBLEM (High) alert on [h](${LINK}) :  ` })).eventId).toBe('9384716');
  });
});

describe('parseAlert — trigger and item lines', () => {
  test('long trigger name (300+ chars) kept whole', () => {
    const long = `Very long trigger ${'lorem ipsum dolor sit amet '.repeat(15)}end`;
    expect(long.length).toBeGreaterThan(300);
    expect(expectAlert(post({ trigger: long })).triggerName).toBe(long.trim());
  });

  test.each([
    ['**CPU** load is too high', '**CPU** load is too high'],
    ['Disk `/var` is full', 'Disk `/var` is full'],
    ['See [runbook](http://wiki.example/rb) now', 'See [runbook](http://wiki.example/rb) now'],
    ['Load * 2 > threshold: critical', 'Load * 2 > threshold: critical'],
    ['* nested bullet lookalike', '* nested bullet lookalike'],
    ['_italic_ and ~~strike~~', '_italic_ and ~~strike~~'],
    ['Escaped \\*stars\\* and \\_under\\_', 'Escaped *stars* and _under_'],
    ['Path C:\\Windows is full', 'Path C:\\Windows is full'],
    ['Literal \\\\ backslash', 'Literal \\ backslash'],
    ['  padded trigger  ', 'padded trigger'],
    ['Zabbix agent on {HOST.NAME} is unreachable for 5 minutes', 'Zabbix agent on {HOST.NAME} is unreachable for 5 minutes'],
    ['Ошибка: диск заполнен 🔥', 'Ошибка: диск заполнен 🔥'],
  ])('trigger %j → %j', (trigger, triggerName) => {
    expect(expectAlert(post({ trigger })).triggerName).toBe(triggerName);
  });

  test('item line is kept as posted (trimmed, no unescaping)', () => {
    expect(expectAlert(post({ item: 'CPU \\_user\\_ time is 97 %  ' })).itemText).toBe('CPU \\_user\\_ time is 97 %');
  });

  test('missing item line → itemText ""', () => {
    expect(expectAlert(post({ item: null })).itemText).toBe('');
  });

  test('non-bullet third line is not an item → itemText ""', () => {
    expect(expectAlert(`${post({ item: null })}\nsome trailing remark`).itemText).toBe('');
  });

  test('lines after the item line are ignored', () => {
    const a = expectAlert(`${post()}\n\nAcknowledged by ops`);
    expect(a.itemText).toBe('Free disk space on /var is 4.2 %');
  });
});

describe('parseAlert — whitespace and layout tolerance', () => {
  const canonical = expectAlert(post());
  test.each([
    ['CRLF', post({ nl: '\r\n' })],
    ['CR only', post({ nl: '\r' })],
    ['CRLF with trailing CRLF', `${post({ nl: '\r\n' })}\r\n`],
    ['leading/trailing whitespace', `\n\n   ${post()}   \n\n`],
    ['blank lines between', post({ nl: '\n\n\n' })],
    ['blank lines with spaces between', post({ nl: '\n   \t\n' })],
    ['dash bullets', post().replace(/\n\* /g, '\n- ')],
    ['plus bullets', post().replace(/\n\* /g, '\n+ ')],
    ['tab after bullet', post().replace(/\n\* /g, '\n*\t')],
    ['indented bullets', post().replace(/\n\* /g, '\n  * ')],
    ['extra spaces in first line', post({ first: `PROBLEM  (High)   alert  on  [db-01.example.com](${LINK}):` })],
    ['no space before severity', post({ first: `PROBLEM(High) alert on [db-01.example.com](${LINK}):` })],
    ['BOM at start', `\uFEFF${post()}`],
  ])('%s', (_name, content) => {
    expect(expectAlert(content)).toEqual(canonical);
  });

  test('missing item line with CRLF', () => {
    expect(expectAlert(post({ nl: '\r\n', item: null })).itemText).toBe('');
  });
});

describe('parseAlert — rejections', () => {
  const good = post();
  const huge = `${good}\n${'x'.repeat(MAX_ALERT_POST_LENGTH)}`;
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /^empty post$/],
    ['whitespace only', ' \n\t\r\n  ', /^empty post$/],
    ['plain chat text', 'is anyone looking at db-01? it seems slow', /first line/],
    ['"PROBLEM" alone', 'PROBLEM', /first line/],
    ['status and severity only', 'PROBLEM (High)', /first line/],
    ['unknown severity', post({ first: `PROBLEM (Critical) alert on [h](${LINK}):` }), /^unknown severity "Critical"$/],
    ['unknown severity (prototype key)', post({ first: `PROBLEM (constructor) alert on [h](${LINK}):` }), /^unknown severity "constructor"$/],
    ['unknown status', post({ first: `FOO (High) alert on [h](${LINK}):` }), /^unknown status "FOO"$/],
    ['unknown status (prototype key)', post({ first: `toString (High) alert on [h](${LINK}):` }), /^unknown status "toString"$/],
    ['missing link (bare host)', post({ first: 'PROBLEM (High) alert on db-01.example.com:' }), /missing link/],
    ['missing link (host in brackets, no link)', post({ first: 'PROBLEM (High) alert on [db-01.example.com]:' }), /missing link/],
    ['empty link', post({ first: 'PROBLEM (High) alert on [h]():' }), /missing link/],
    ['unclosed host brackets', post({ first: `PROBLEM (High) alert on [h\\](${LINK}):` }), /not closed/],
    ['unclosed link parens', post({ first: `PROBLEM (High) alert on [h](${LINK}` }), /not closed/],
    ['text after the link', post({ first: `PROBLEM (High) alert on [h](${LINK}): see above` }), /^unexpected text after the link$/],
    ['empty host', post({ first: `PROBLEM (High) alert on [  ](${LINK}):` }), /^empty host$/],
    ['link without eventid', post({ first: 'PROBLEM (High) alert on [h](https://z.example/tr_events.php?triggerid=1):' }), /^link has no eventid$/],
    ['link without triggerid', post({ first: 'PROBLEM (High) alert on [h](https://z.example/tr_events.php?eventid=2):' }), /^link has no triggerid$/],
    ['link without query', post({ first: 'PROBLEM (High) alert on [h](https://z.example/tr_events.php):' }), /^link has no eventid$/],
    ['non-numeric eventid', post({ first: 'PROBLEM (High) alert on [h](https://z.example/tr_events.php?triggerid=1&eventid=abc):' }), /non-numeric eventid "abc"/],
    ['empty eventid', post({ first: 'PROBLEM (High) alert on [h](https://z.example/tr_events.php?triggerid=1&eventid=):' }), /non-numeric eventid ""/],
    ['negative triggerid', post({ first: 'PROBLEM (High) alert on [h](https://z.example/tr_events.php?triggerid=-1&eventid=2):' }), /non-numeric triggerid/],
    ['eventid with 21 digits', post({ first: `PROBLEM (High) alert on [h](https://z.example/tr_events.php?triggerid=1&eventid=${'9'.repeat(21)}):` }), /eventid is too long/],
    ['conflicting eventids', post({ first: 'PROBLEM (High) alert on [h](https://z.example/tr_events.php?triggerid=1&eventid=2&eventid=3):' }), /conflicting eventid/],
    ['non-http link', post({ first: 'PROBLEM (High) alert on [h](ftp://z.example/tr_events.php?triggerid=1&eventid=2):' }), /not an http\(s\) URL/],
    ['javascript: link', post({ first: 'PROBLEM (High) alert on [h](javascript:alert(1)):' }), /not an http\(s\) URL/],
    ['relative link', post({ first: 'PROBLEM (High) alert on [h](/tr_events.php?triggerid=1&eventid=2):' }), /not an http\(s\) URL/],
    ['link with empty authority', post({ first: 'PROBLEM (High) alert on [h](https:///tr_events.php?triggerid=1&eventid=2):' }), /not an http\(s\) URL/],
    ['not a tr_events.php link', post({ first: 'PROBLEM (High) alert on [h](https://z.example/zabbix.php?action=problem.view&triggerid=1&eventid=2):' }), /^link is not a Zabbix tr_events.php URL$/],
    ['tr_events.php only in the query', post({ first: 'PROBLEM (High) alert on [h](https://z.example/x?next=/tr_events.php&triggerid=1&eventid=2):' }), /^link is not a Zabbix tr_events.php URL$/],
    ['tr_events.phpx', post({ first: 'PROBLEM (High) alert on [h](https://z.example/tr_events.phpx?triggerid=1&eventid=2):' }), /^link is not a Zabbix tr_events.php URL$/],
    ['link with a space', post({ first: 'PROBLEM (High) alert on [h](https://z.example/tr_events.php?triggerid=1 &eventid=2):' }), /whitespace/],
    ['no trigger line', post({ item: null }).split('\n')[0] ?? '', /^missing trigger name line$/],
    ['trigger line not a bullet', `${post({ item: null }).split('\n')[0] ?? ''}\nFree disk space is low`, /not a bullet/],
    ['bullet without space', `${post({ item: null }).split('\n')[0] ?? ''}\n*Free disk space is low`, /not a bullet/],
    ['empty trigger bullet', `${post({ item: null }).split('\n')[0] ?? ''}\n*   `, /^empty trigger name$/],
    ['huge post', huge, new RegExp(`^post too long \\(${huge.length} chars, max 20000\\)$`)],
    ['binary garbage', '\u0000\u0001\u00ff\ufffd\ud800PK\u0003\u0004\u001b[31m\u0007', /first line/],
    ['command !ongoing', '!ongoing', /first line/],
    ['command with args', '!ack 9384716 looking into it', /first line/],
    ['Zulip quote of an alert', `\`\`\`quote\n${good}\n\`\`\``, /first line/],
    ['Markdown blockquote of an alert', good.split('\n').map((l) => `> ${l}`).join('\n'), /first line/],
    ['alert line not first', `FYI:\n${good}`, /first line/],
    ['Zabbix native email format', 'Problem started at 10:00:01 on 2024.01.01\nProblem name: Disk full\nHost: db-01', /first line/],
    ['severity too long', post({ first: `PROBLEM (${'High '.repeat(20)}) alert on [h](${LINK}):` }), /first line/],
    ['"alert for" instead of "alert on"', post({ first: `PROBLEM (High) alert for [h](${LINK}):` }), /first line/],
  ];

  test('there are at least 15 malformed posts', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  test.each(cases)('%s', (_name, content, reason) => {
    expect(expectReason(content)).toMatch(reason);
  });

  test('non-string input is rejected, not thrown', () => {
    for (const v of [undefined, null, 42, {}, ['PROBLEM']]) {
      const r = parseAlert(v as unknown as string);
      expect(r.ok).toBe(false);
    }
  });

  test('exactly MAX_ALERT_POST_LENGTH chars is still parsed', () => {
    const p = `${good}\n${' '.repeat(MAX_ALERT_POST_LENGTH - good.length - 1)}`;
    expect(p.length).toBe(MAX_ALERT_POST_LENGTH);
    expect(parseAlert(p).ok).toBe(true);
  });

  test('reasons are short', () => {
    for (const [, content] of cases) {
      const r = parseAlert(content);
      if (!r.ok) expect(r.reason.length).toBeLessThanOrEqual(120);
    }
  });
});

describe('parseAlert — bounded work on adversarial input', () => {
  const n = MAX_ALERT_POST_LENGTH - 200;
  test.each([
    ['many spaces', `PROBLEM${' '.repeat(n)}`],
    ['many open parens', `PROBLEM (${'('.repeat(n)}`],
    ['many brackets', `PROBLEM (High) alert on ${'['.repeat(n)}`],
    ['many escapes', `PROBLEM (High) alert on [${'\\'.repeat(n)}`],
    ['long host', `PROBLEM (High) alert on [${'a'.repeat(n)}](${LINK})`],
    ['long link', `PROBLEM (High) alert on [h](https://z.example/${'/tr_events.php'.repeat(n / 14)}`],
    ['many params', `PROBLEM (High) alert on [h](https://z.example/tr_events.php?${'&'.repeat(n)})\n* t`],
    ['many emoji', `${'🔥\u200D'.repeat(n / 3)} PROBLEM`],
    ['many lines', `${post({ item: null }).split('\n')[0] ?? ''}${'\n'.repeat(n)}* t`],
    ['many colons', `:${'a'.repeat(n)}`],
  ])('%s', (_name, content) => {
    // Catastrophic backtracking would hang here; the figure for speed lives in `npm run bench`.
    const r = parseAlert(content);
    expect(typeof r.ok).toBe('boolean');
  });
});
