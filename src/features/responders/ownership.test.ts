/**
 * Ownership (issue 19), in process: areas (`!handling` covers the topic's area, `area <name>`,
 * `host <pattern>`, host groups from Zabbix), who an incident's reminders and warnings go to
 * (the acknowledger, the handler, the first responder), the end of the working day (working
 * days, the handback mentioning the FR for real), and `!handling` listing who handles what.
 */
import { inProcessBot, type InProcessBot, type Reply } from '../../../test/support/harness';
import type { ZabbixApi } from '../../zabbix/client';
import { testConfig } from '../../../test/support/factories';

const GENERAL = { stream: 'SRE - General', topic: 'fr' };
const AREAS = { web: { hosts: ['^web-\\d+\\.'] }, db: { hosts: ['^db-'], hostGroups: ['Databases'] } };

let bot: InProcessBot;

const said = (topic?: string): Reply[] => bot.replies().filter((r) => topic === undefined || r.topic === topic);
const reminderIn = (rs: Reply[], topic: string) => rs.find((r) => r.topic === topic && r.content.includes('⏰'))?.content;

async function start(config: Record<string, unknown> = {}, at?: string): Promise<void> {
  bot = await inProcessBot({ config: { areas: AREAS, sla: { critical: { remindEvery: '1h', resolveWithin: '16h' } }, ...config }, ...(at ? { at } : {}) });
  bot.api.groups = { sre: [2, 3] };
  await bot.say('!fr @**Ann Smith**', { ...GENERAL, as: 'ann' });
  bot.replies();
}

describe('areas', () => {
  test('`!handling` in a topic covers its area: reminders for another host of the area go to the handler; other areas to the FR', async () => {
    await start({ firstResponder: { group: 'sre' } });
    await bot.alert({ host: 'web-01.example.org', eventId: '1', trigger: 'HTTPS is down on web-01' });
    await bot.alert({ host: 'web-02.example.org', eventId: '2', trigger: 'HTTPS is down on web-02' });
    await bot.alert({ host: 'db-01.example.org', eventId: '3', trigger: 'PostgreSQL is down' });
    bot.replies();
    await bot.say('!handling', { topic: 'web-01.example.org', as: 'bob' });
    expect(said()[0]!.content).toMatch(/^🛠️ Bob Jones handles area \*\*web\*\* \(every incident there\); reminders and warnings there mention them until 2026-11-23 17:00 CET \(the end of their working day\) or `!release`\.$/);
    await bot.advance('1h');
    const round = said();
    expect(reminderIn(round, 'web-02.example.org')).toContain('@**Bob Jones|3** (handling area web)');
    expect(reminderIn(round, 'web-01.example.org')).toContain('@**Bob Jones|3** (handling area web)');
    expect(reminderIn(round, 'db-01.example.org')).toContain('@**Ann Smith|2** (first responder)');
  });

  test('`!handling area <name>` and `!handling host <pattern>`; bad names and unsafe patterns are refused', async () => {
    await start();
    await bot.alert({ host: 'db-02.example.org', eventId: '1', trigger: 'PostgreSQL is down' });
    await bot.alert({ host: 'mail-01.example.org', eventId: '2', trigger: 'SMTP is down' });
    bot.replies();
    await bot.say('!handling area DB', { ...GENERAL, as: 'ann' });
    expect(said()[0]!.content).toMatch(/^🛠️ Ann Smith handles area \*\*db\*\*/);
    await bot.say('!handling host ^mail-0[12]\\.', { ...GENERAL, as: 'ann' });
    expect(said()[0]!.content).toMatch(/^🛠️ Ann Smith handles the hosts matching `\^mail-0\[12\]\\\.`;/);
    await bot.say('!handling area nope', { ...GENERAL, as: 'ann' });
    expect(said()[0]!.content).toMatch(/^No area is called nope\. Areas: `web`, `db`\./);
    await bot.say('!handling host (a+)+$', { ...GENERAL, as: 'ann' });
    expect(said()[0]!.content).toMatch(/^That host pattern cannot be used: regular expression .* exponential/);
    await bot.advance('1h');
    const round = said();
    expect(reminderIn(round, 'db-02.example.org')).toContain('@**Ann Smith|2** (handling area db)');
    expect(reminderIn(round, 'mail-01.example.org')).toContain('@**Ann Smith|2** (handling hosts matching `^mail-0[12]\\.`)');
  });

  test('`!handling` with nothing to cover, or `!handling list` (also in a DM, for anyone): who handles what', async () => {
    await start();
    await bot.alert({ host: 'web-01.example.org', eventId: '1' });
    await bot.say('!handling', { topic: 'web-01.example.org', as: 'ann' });
    bot.replies();
    await bot.say('!handling', { ...GENERAL, as: 'bob' });
    const list = said()[0]!.content;
    expect(list).toContain('**Who handles what**:');
    expect(list).toMatch(/- area \*\*web\*\*: @_\*\*Ann Smith\|2\*\* until 2026-11-23 17:00 CET/);
    expect(list).toContain('- everything else: the first responder @_**Ann Smith|2**; acknowledged incidents: whoever acknowledged them');
    expect(list).toContain('`db` (free) — /^db-/, group Databases');
    await bot.dm('!handling list', 'bob');
    expect(bot.replies()[0]!.content).toContain('**Who handles what**:');
  });

  test('`!release` in a topic of the area releases the area', async () => {
    await start();
    await bot.alert({ host: 'web-01.example.org', eventId: '1' });
    await bot.say('!handling', { topic: 'web-01.example.org', as: 'ann' });
    bot.replies();
    await bot.say('!release', { topic: 'web-01.example.org', as: 'bob' });
    expect(said()[0]!.content).toBe('Ann Smith no longer handles area **web**; reminders go to the first responder again.');
  });

  test('host groups from Zabbix (cached by the tick, off the message path) put a host in an area', async () => {
    const asked: string[][] = [];
    const zabbix = {
      hostGroups: async (hosts: readonly string[]) => {
        asked.push([...hosts]);
        return new Map(hosts.filter((h) => h.startsWith('pg')).map((h) => [h, ['Databases', 'Linux servers']]));
      },
      events: async () => [],
      problems: async () => [],
    } as unknown as ZabbixApi;
    bot = await inProcessBot({ zabbix, config: { areas: AREAS, sla: { critical: { remindEvery: '1h', resolveWithin: '16h' } } } });
    await bot.say('!fr @**Bob Jones**', { ...GENERAL, as: 'bob' });
    await bot.alert({ host: 'pg-main', eventId: '1', trigger: 'PostgreSQL is down' });
    await bot.advance('2s');
    expect(asked).toEqual([['pg-main']]);
    await bot.say('!handling area db', { ...GENERAL, as: 'bob' });
    bot.replies();
    await bot.advance('1h');
    expect(reminderIn(said(), 'pg-main')).toContain('@**Bob Jones|3** (handling area db)');
  });

  test('an area pattern that can backtrack catastrophically stops the start, naming the key', () => {
    expect(() => testConfig({ areas: { web: { hosts: ['(a+)+$'] } } })).toThrow(/areas\.web\.hosts\.0: regular expression .*exponential.* \(area "web"\)/);
    expect(() => testConfig({ areas: { web: {} } })).toThrow(/areas\.web: give hosts and\/or hostGroups/);
  });
});

describe('the right person', () => {
  test('reminders of an unacknowledged incident go to the FR; SLA warnings of an acknowledged one to whoever acknowledged it, with a real mention', async () => {
    await start({ sla: { critical: { remindEvery: '1h', resolveWithin: '4h' } } });
    await bot.alert({ host: 'db-01.example.org', eventId: '1', trigger: 'PostgreSQL is down' });
    await bot.advance('1h');
    expect(reminderIn(said(), 'db-01.example.org')).toContain('@**Ann Smith|2** (first responder)');
    await bot.say('!ack restoring the replica', { topic: 'db-01.example.org', as: 'bob' });
    expect(bot.store.getIncident('1')).toMatchObject({ acknowledgedBy: 'Bob Jones', acknowledgedById: 3 });
    bot.replies();
    await bot.advance('2h');
    const warning = said('db-01.example.org')[0]!.content;
    expect(warning).toMatch(/^⚠️ \*\*SLA warning\*\*: 75% of the time to get \*\*PostgreSQL is down\*\*/);
    expect(warning).toContain('\n@**Bob Jones|3** (acknowledged it)');
    expect(warning).not.toContain('Ann Smith');
  });

  test('the acknowledger beats a handler; the id survives a restart', async () => {
    await start({ sla: { critical: { remindEvery: '1h', resolveWithin: '4h' } } });
    await bot.alert({ host: 'web-03.example.org', eventId: '1' });
    await bot.say('!handling', { topic: 'web-03.example.org', as: 'ann' });
    await bot.say('!ack', { topic: 'web-03.example.org', as: 'bob' });
    await bot.restart();
    bot.replies();
    await bot.advance('3h');
    expect(said('web-03.example.org')[0]!.content).toContain('@**Bob Jones|3** (acknowledged it)');
  });

  test('acknowledged in Zabbix by a mapped user (zabbix.users): warnings mention that person', async () => {
    const zabbix = { events: async () => [], problems: async () => [] } as unknown as ZabbixApi;
    bot = await inProcessBot({ zabbix, config: { zabbix: { url: 'https://zabbix.example.org', token: 't', users: { 'bob@example.org': 'bjones' } }, sla: { critical: { remindEvery: '1h', resolveWithin: '4h' } } } });
    await bot.say('!fr @**Ann Smith**', { ...GENERAL, as: 'ann' });
    await bot.alert({ host: 'db-01.example.org', eventId: '1' });
    const i = bot.store.getIncident('1')!;
    bot.store.putIncident({ ...i, status: 'acknowledged', acknowledgedAt: bot.clock.now(), acknowledgedBy: 'bjones (Zabbix)' });
    await bot.advance('1s'); // the tick reads the Zulip users (the cache mentions come from)
    bot.replies();
    await bot.advance('3h');
    expect(said('db-01.example.org')[0]!.content).toContain('@**Bob Jones|3** (acknowledged it)');
  });
});

describe('working days and the end of the day', () => {
  test('Friday 18:30: `!handling` lasts until the end of Monday; then the FR is told for real', async () => {
    // 2026-11-27 is a Friday; 17:30 UTC is 18:30 in Amsterdam.
    await start({ firstResponder: { group: 'sre' } }, '2026-11-27T17:30:00Z');
    await bot.alert({ host: 'web-01.example.org', eventId: '1' });
    bot.replies();
    await bot.say('!handling', { topic: 'web-01.example.org', as: 'bob' });
    expect(said()[0]!.content).toContain('until 2026-11-30 17:00 CET (the end of their working day)');
    await bot.say('!ack', { topic: 'web-01.example.org', as: 'bob' });
    await bot.alert({ host: 'web-02.example.org', eventId: '2' });
    bot.replies();
    bot.clock.set(Date.parse('2026-11-30T15:59:00Z'));
    await bot.advance('2m');
    const back = said('web-01.example.org').find((r) => r.content.startsWith('🕔'));
    expect(back!.content).toBe("🕔 Bob Jones's working day has ended: reminders for area **web** go to the first responder @**Ann Smith|2** again. Open there: 2 incidents (#**SRE # Critical>web-01.example.org**, #**SRE # Critical>web-02.example.org**).");
  });

  test('a handler who is the FR: only that their handling ended', async () => {
    await start();
    await bot.alert({ host: 'db-09', eventId: '1' });
    await bot.say('!handling', { topic: 'db-09', as: 'ann' });
    bot.replies();
    await bot.advance('8h');
    expect(said('db-09').find((r) => r.content.startsWith('🕔'))!.content).toBe("🕔 Ann Smith's working day has ended: their handling of area **db** ended. Open there: 1 incident (#**SRE # Critical>db-09**).");
  });
});
