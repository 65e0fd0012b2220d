/**
 * The two-party handover (issue 19), in process: whoever starts it, the other side confirms
 * (`!handover accept` / `confirm`, or a ✅ on the bot's request — the module's onReaction hook,
 * called directly until Zulip's reaction events reach the pipeline); the acting FR names the
 * incidents handed over; a request expires; `force` completes at once, announced as forced; the
 * Zabbix side moves the FR's Zabbix user (a scripted Zabbix here; the real one in
 * test/integration/handover-zabbix.test.ts).
 */
import { inProcessBot, type InProcessBot } from '../../../test/support/harness';
import { ZabbixError, type ZabbixApi, type ZabbixUser } from '../../zabbix/client';
import type { BotModule } from '../../pipeline/module';

const GENERAL = { stream: 'SRE - General', topic: 'fr' };
const EVE = { id: 4, email: 'eve@example.org', fullName: 'Eve Adams' };

let bot: InProcessBot;

const answer = () => bot.replies().filter((r) => r.stream !== 'Organisational').map((r) => r.content);
const announced = () => bot.all().filter((r) => r.stream === 'Organisational').map((r) => r.content);
const fr = async () => {
  await bot.dm('!fr', 'ann');
  return bot.replies()[0]!.content;
};

async function start(config: Record<string, unknown> = {}, zabbix?: ZabbixApi): Promise<void> {
  bot = await inProcessBot({ config: { sla: { critical: { remindEvery: '1h', resolveWithin: '16h' } }, ...config }, ...(zabbix ? { zabbix } : {}) });
  bot.api.users_.push({ ...EVE, isBot: false });
  bot.api.groups = { sre: [2, 3, 4] };
  await bot.say('!fr @**Ann Smith**', { ...GENERAL, as: 'ann' });
  bot.replies();
}

describe('two parties', () => {
  test('the acting FR starts, the upcoming FR accepts: completed, announced with both', async () => {
    await start();
    await bot.say('!handover @**Bob Jones**', { ...GENERAL, as: 'ann' });
    const request = answer()[0]!;
    expect(request).toBe(
      '🤝 **Handover requested** (request #1) by Ann Smith: @_**Ann Smith|2** → @_**Bob Jones|3** as first responder.\n' +
        '@**Bob Jones|3**, confirm with `!handover accept` (or ✅ on this message) within 30m; `!handover cancel` withdraws it.',
    );
    expect(await fr()).toMatch(/^👤 The first responder is @_\*\*Ann Smith\|2\*\*/);
    expect(announced()).toEqual([]);
    await bot.say('!handover accept', { ...GENERAL, as: 'ann' });
    expect(answer()[0]).toMatch(/^You started handover request #1: it waits for @_\*\*Bob Jones\|3\*\* to confirm/);
    await bot.say('!handover accept', { ...GENERAL, as: EVE });
    expect(answer()[0]).toBe('Only @_**Bob Jones|3** can confirm handover request #1 (@_**Ann Smith|2** → @_**Bob Jones|3**).');
    await bot.say('!handover accept', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toMatch(/^✅ Handover to @_\*\*Bob Jones\|3\*\* recorded and announced/);
    expect(announced()[0]).toContain('🔄 **First responder handover**: @_**Ann Smith|2** → @**Bob Jones|3** is now the acting first responder (started by Ann Smith, confirmed by Bob Jones).');
    expect(await fr()).toMatch(/^👤 The first responder is @_\*\*Bob Jones\|3\*\*/);
  });

  test('the upcoming FR starts, the acting FR confirms naming the incidents handed over: they are the new FR\'s now', async () => {
    await start({ sla: { critical: { remindEvery: '1h', resolveWithin: '4h' } } });
    await bot.alert({ host: 'web-01.example.org', eventId: '7001', trigger: 'HTTPS is down' });
    await bot.alert({ host: 'db-02.example.org', eventId: '7002', trigger: 'PostgreSQL is down' });
    await bot.alert({ host: 'mail-01.example.org', eventId: '7003', trigger: 'SMTP is down' });
    for (const topic of ['web-01.example.org', 'db-02.example.org', 'mail-01.example.org']) await bot.say('!ack', { topic, as: 'ann' });
    bot.replies();
    await bot.say('!handover @**Bob Jones** web-01', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toMatch(/^Only the acting first responder \(@_\*\*Ann Smith\|2\*\*\) names the incidents to hand over/);
    await bot.say('!handover @**Bob Jones**', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toContain('@**Ann Smith|2**, confirm with `!handover confirm` (or ✅ on this message) within 30m, naming the incidents Bob Jones takes over');
    await bot.say('!handover confirm web-03', { ...GENERAL, as: 'ann' });
    expect(answer()[0]).toMatch(/^No open incident matches \*\*web-03\*\*/);
    await bot.say('!handover confirm web-01 7002', { ...GENERAL, as: 'ann' });
    expect(answer()[0]).toMatch(/^✅ Handover to @_\*\*Bob Jones\|3\*\*/);
    const a = announced()[0]!;
    expect(a).toContain('(started by Bob Jones, confirmed by Ann Smith)');
    expect(a).toMatch(/\*\*Handed over by Ann Smith\*\* to Bob Jones \(reminders and warnings go to them now\):\n- Critical: \*\*HTTPS is down\*\* on web-01\.example\.org .*\n- Critical: \*\*PostgreSQL is down\*\* on db-02\.example\.org/);
    expect(a).toMatch(/\*\*Still with Ann Smith\*\* \(acknowledged or handled by them\):\n- Critical: \*\*SMTP is down\*\* on mail-01\.example\.org/);
    expect(bot.store.getIncident('7001')).toMatchObject({ acknowledgedBy: 'Bob Jones', acknowledgedById: 3 });
    expect(bot.store.getIncident('7003')).toMatchObject({ acknowledgedBy: 'Ann Smith', acknowledgedById: 2 });
    // The 75% resolve warnings: the handed-over incidents mention Bob, the kept one Ann.
    await bot.advance('3h');
    const round = bot.replies().filter((r) => !r.card); // the topics' status cards come with the first tick
    expect(round.find((r) => r.topic === 'web-01.example.org')!.content).toContain('@**Bob Jones|3** (acknowledged it)');
    expect(round.find((r) => r.topic === 'mail-01.example.org')!.content).toContain('@**Ann Smith|2** (acknowledged it)');
  });

  test('a request nobody confirms expires after firstResponder.handoverExpiry, and says so', async () => {
    await start({ firstResponder: { handoverExpiry: '10m' } });
    await bot.say('!handover @**Bob Jones**', { ...GENERAL, as: 'ann' });
    expect(answer()[0]).toContain('within 10m');
    await bot.advance('9m');
    expect(bot.replies()).toEqual([]);
    await bot.advance('1m');
    expect(bot.replies()).toEqual([
      {
        ...GENERAL,
        content: '⌛ Handover request #1 (@_**Ann Smith|2** → @_**Bob Jones|3**) expired: @_**Bob Jones|3** did not confirm within 10m. @**Ann Smith|2**, start it again with `!handover @**Bob Jones**` when you can both talk.',
      },
    ]);
    await bot.say('!handover accept', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toBe('No handover is waiting for confirmation. Start one with `!handover @**Name**`.');
    expect(await fr()).toMatch(/^👤 The first responder is @_\*\*Ann Smith\|2\*\*/);
  });

  test('unacknowledged incidents still block the request, and its confirmation', async () => {
    await start();
    await bot.say('!handover @**Bob Jones**', { ...GENERAL, as: 'ann' });
    await bot.alert({ eventId: '1', trigger: 'HTTPS is down' });
    bot.replies();
    await bot.say('!handover accept', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toMatch(/^⏸️ Handover request #1 to @_\*\*Bob Jones\|3\*\* waits: every active incident must be acknowledged first/);
    await bot.say('!ack', { as: 'ann' });
    await bot.say('!handover accept', { ...GENERAL, as: 'bob' });
    expect(answer().at(-1)).toMatch(/^✅ Handover to @_\*\*Bob Jones\|3\*\*/);
  });

  test('`!handover cancel` withdraws the request', async () => {
    await start();
    await bot.say('!handover @**Bob Jones**', { ...GENERAL, as: 'ann' });
    await bot.say('!handover cancel', { ...GENERAL, as: 'bob' });
    expect(answer()[1]).toBe('Handover request #1 (@_**Ann Smith|2** → @_**Bob Jones|3**) withdrawn by Bob Jones.');
  });
});

describe('✅ on the request', () => {
  const responders = (): BotModule => bot.app.modules.find((m) => m.name === 'responders')!;
  /** The bot's request as Zulip has it (the harness delivers no ids; the job reads the message back). */
  const inZulip = (id: number, content: string, senderId = 1) =>
    bot.api.history.push({ id, streamId: 4, stream: GENERAL.stream, topic: GENERAL.topic, content, senderId, senderEmail: 'sre-bot@example.org', senderName: 'SRE Bot', client: 'internal', timestamp: 0 });

  test('the confirmer\'s ✅ on the bot\'s request completes it; other people\'s, other emoji and other messages do not', async () => {
    await start();
    await bot.say('!handover @**Bob Jones**', { ...GENERAL, as: 'bob' });
    const request = answer()[0]!;
    inZulip(9001, request);
    inZulip(9002, 'a look-alike (request #1)', 3);
    const react = async (e: { messageId: number; emojiName: string; userId: number; op?: 'add' | 'remove' }) => {
      await responders().onReaction!({ op: 'add', ...e });
      await bot.runJobs();
    };
    await react({ messageId: 9001, emojiName: 'white_check_mark', userId: 3 }); // Bob started it: not his to confirm
    await react({ messageId: 9001, emojiName: 'tada', userId: 2 });
    await react({ messageId: 9002, emojiName: 'white_check_mark', userId: 2 }); // not the bot's message
    await react({ messageId: 9001, emojiName: 'white_check_mark', userId: 2, op: 'remove' });
    expect(bot.replies()).toEqual([]);
    expect(await fr()).toMatch(/^👤 The first responder is @_\*\*Ann Smith\|2\*\*/);
    await react({ messageId: 9001, emojiName: 'white_check_mark', userId: 2 });
    const out = bot.replies();
    expect(out.find((r) => r.topic === GENERAL.topic)!.content).toMatch(/^\(Ann Smith confirmed with ✅\)\n✅ Handover to @_\*\*Bob Jones\|3\*\* recorded/);
    expect(out.find((r) => r.stream === 'Organisational')!.content).toContain('(started by Bob Jones, confirmed by Ann Smith)');
  });
});

describe('force', () => {
  test('the acting FR forces: completes at once, announced as forced; the upcoming FR may not force', async () => {
    await start();
    await bot.alert({ eventId: '1' });
    bot.replies();
    await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toMatch(/^Only the acting first responder \(@_\*\*Ann Smith\|2\*\*\) may force a handover/);
    await bot.say('!handover @**Bob Jones** web-01 force', { ...GENERAL, as: 'ann' });
    expect(answer()[0]).toMatch(/^✅ Handover to @_\*\*Bob Jones\|3\*\*/);
    const a = announced()[0]!;
    expect(a).toContain('⚠️ Forced: 1 incident(s) were still unacknowledged at handover.');
    expect(a).toContain('⚠️ Forced by Ann Smith: completed without confirmation by Bob Jones.');
    expect(a).toContain('**Handed over by Ann Smith** to Bob Jones');
  });

  test('a member of firstResponder.group forces over both heads', async () => {
    await start({ firstResponder: { group: 'sre' } });
    await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: EVE });
    expect(answer()[0]).toMatch(/^✅ Handover to @_\*\*Bob Jones\|3\*\*/);
    expect(announced()[0]).toContain('⚠️ Forced by Eve Adams: completed without confirmation by Ann Smith or Bob Jones.');
  });
});

/** A Zabbix with users and user groups, scripted. */
class ZabbixUsers {
  groups = new Map<string, { groupId: string; name: string; userIds: string[] }>([['13', { groupId: '13', name: 'SRE on call', userIds: ['1', '21'] }]]);
  users: ZabbixUser[] = [
    { userId: '1', username: 'Admin', fullName: 'Zabbix Administrator', emails: [] },
    { userId: '21', username: 'ann', fullName: 'Ann Smith', emails: ['Ann@Example.org'] },
    { userId: '22', username: 'bjones', fullName: 'Bob Jones', emails: [] },
  ];
  refuseRemoval = false;
  transientFailures = 0;
  readonly updates: string[][] = [];
  api(): ZabbixApi {
    return {
      events: async () => [],
      problems: async () => [],
      userGroup: async (name: string) => [...this.groups.values()].find((g) => g.name === name),
      userDirectory: async () => this.users,
      setUserGroupMembers: async (id: string, userIds: readonly string[]) => {
        if (this.transientFailures-- > 0) throw new ZabbixError('usergroup.update', 'no answer within 10000 ms', undefined, true);
        const g = this.groups.get(id)!;
        if (this.refuseRemoval && g.userIds.some((u) => !userIds.includes(u))) throw new ZabbixError('usergroup.update', 'Invalid params. User "ann" cannot be without user group.', -32602);
        g.userIds = [...userIds];
        this.updates.push([...userIds]);
      },
    } as unknown as ZabbixApi;
  }
}

describe('the Zabbix side (zabbix.firstResponder)', () => {
  const config = { zabbix: { url: 'https://zabbix.example.org', token: 't', firstResponder: 'SRE on call', users: { 'bob@example.org': 'bjones' } } };

  test('the completed handover moves the new FR in (by zabbix.users) and the old one out (by e-mail media), and says so', async () => {
    const z = new ZabbixUsers();
    await start(config, z.api());
    await bot.say('!handover @**Bob Jones**', { ...GENERAL, as: 'ann' });
    await bot.say('!handover accept', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).not.toContain('Enable Zabbix calling');
    expect(z.groups.get('13')!.userIds.sort()).toEqual(['1', '22']);
    const org = announced();
    expect(org[0]).toContain('📞 Zabbix: moving Bob Jones into the user group **SRE on call** and Ann Smith out; what changed follows in this topic.');
    expect(org[1]).toBe('📞 Zabbix: added Bob Jones (Zabbix user `bjones`) to **SRE on call**; took Ann Smith (Zabbix user `ann`) out. Zabbix calls Bob Jones from now on.');
  });

  test('no Zabbix user for the new FR: nothing changes, and why', async () => {
    const z = new ZabbixUsers();
    await start({ zabbix: { ...config.zabbix, users: {} } }, z.api());
    await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: 'ann' });
    expect(z.updates).toEqual([]);
    expect(announced()[1]).toBe('⚠️ Zabbix: could not put Bob Jones into **SRE on call**: no Zabbix user has an e-mail media with bob@example.org; add one, or map the person in zabbix.users. Nothing changed in Zabbix: it still calls Ann Smith.');
  });

  test('Zabbix refuses taking the old FR out: the new one is added, the old one named for removal by hand', async () => {
    const z = new ZabbixUsers();
    z.refuseRemoval = true;
    await start(config, z.api());
    await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: 'ann' });
    expect(z.groups.get('13')!.userIds.sort()).toEqual(['1', '21', '22']);
    expect(announced()[1]).toMatch(/^📞 Zabbix: added Bob Jones \(Zabbix user `bjones`\) to \*\*SRE on call\*\*; could not take Ann Smith \(Zabbix user `ann`\) out \(Zabbix usergroup\.update: Invalid params\. User "ann" cannot be without user group\.\) — remove them by hand\.$/);
  });

  test('a missing group and a Zabbix that does not answer: said once, retried until it does', async () => {
    const z = new ZabbixUsers();
    await start({ zabbix: { ...config.zabbix, firstResponder: 'No such group' } }, z.api());
    await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: 'ann' });
    expect(announced()[1]).toBe('⚠️ Zabbix: there is no user group **No such group** (zabbix.firstResponder), so nothing changed there: make Zabbix call Bob Jones by hand.');

    const y = new ZabbixUsers();
    y.transientFailures = 2;
    await start(config, y.api());
    await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: 'ann' });
    expect(announced()[1]).toMatch(/^⚠️ Zabbix: could not move the first responder's Zabbix user yet \(Zabbix usergroup\.update: no answer within 10000 ms\); I keep trying until Zabbix answers\.$/);
    for (let i = 0; i < 10 && y.updates.length === 0; i++) await bot.advance('1m');
    expect(y.groups.get('13')!.userIds.sort()).toEqual(['1', '22']);
    expect(announced().at(-1)).toMatch(/^📞 Zabbix: added Bob Jones/);
  });

  test('the first FR set with `!fr @**Name**` is put into the group too', async () => {
    const z = new ZabbixUsers();
    z.groups.get('13')!.userIds = ['1'];
    await start(config, z.api());
    expect(z.groups.get('13')!.userIds.sort()).toEqual(['1', '21']);
    expect(bot.all().find((r) => r.content.startsWith('📞'))!.content).toBe('📞 Zabbix: added Ann Smith (Zabbix user `ann`) to **SRE on call**. Zabbix calls Ann Smith from now on.');
  });
});
