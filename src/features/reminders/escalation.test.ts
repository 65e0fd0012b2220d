/**
 * Escalation (issue 19): the steps per class, and in process how reminders state them and fire
 * them once each (a group mention, then people's real mentions).
 */
import { testConfig } from '../../../test/support/factories';
import { inProcessBot, type InProcessBot } from '../../../test/support/harness';
import { escalationSteps, renderTarget } from './escalation';

describe('steps', () => {
  test('defaults: critical and non-critical after 3 reminders, informational off; nothing without a group or people', () => {
    const on = testConfig({ escalation: { group: 'sre-leads' } }).escalation;
    expect(escalationSteps(on, 'critical')).toEqual([{ n: 1, atReminder: 3, target: { group: 'sre-leads' } }]);
    expect(escalationSteps(on, 'non-critical')).toEqual([{ n: 1, atReminder: 3, target: { group: 'sre-leads' } }]);
    expect(escalationSteps(on, 'informational')).toEqual([]);
    expect(escalationSteps(testConfig().escalation, 'critical')).toEqual([]);
  });

  test('a second step after M more, to other people or the same again; after 0 turns a class off', () => {
    const c = testConfig({ escalation: { people: ['ann@example.org'], critical: { after: 2, then: { after: 3, group: 'cto' } }, nonCritical: { after: 0 }, informational: { after: 5, then: { after: 1 } } } }).escalation;
    expect(escalationSteps(c, 'critical')).toEqual([
      { n: 1, atReminder: 2, target: { people: ['ann@example.org'] } },
      { n: 2, atReminder: 5, target: { group: 'cto' } },
    ]);
    expect(escalationSteps(c, 'non-critical')).toEqual([]);
    expect(escalationSteps(c, 'informational').map((s) => [s.atReminder, s.target])).toEqual([
      [5, { people: ['ann@example.org'] }],
      [6, { people: ['ann@example.org'] }],
    ]);
  });

  test('targets: group and people mentions, silent for a forecast; unknown people by email, not mentioned', () => {
    const mentionOf = (email: string, silent: boolean) => (email === 'ann@example.org' ? `@${silent ? '_' : ''}**Ann Smith|2**` : undefined);
    expect(renderTarget({ group: 'sre-leads', people: ['ann@example.org', 'x@example.org'] }, mentionOf, false)).toBe('@*sre-leads*, @**Ann Smith|2**, **x@example.org**');
    expect(renderTarget({ group: 'sre-leads', people: ['ann@example.org'] }, mentionOf, true)).toBe('@_*sre-leads*, @_**Ann Smith|2**');
  });

  test('config errors name the key', () => {
    expect(() => testConfig({ escalation: { critical: { after: -1 } } })).toThrow(/escalation\.critical\.after/);
    expect(() => testConfig({ escalation: { people: ['not an email'] } })).toThrow(/escalation\.people\.0: expected an email address/);
  });
});

describe('in the reminders', () => {
  let bot: InProcessBot;
  const reminders = () => bot.replies().filter((r) => r.content.includes('⏰')).map((r) => r.content);

  test('stated in each reminder, fired once per step: the group after 2, Eve after 1 more; then nothing more', async () => {
    bot = await inProcessBot({
      config: {
        sla: { critical: { remindEvery: '1h', resolveWithin: '16h' } },
        escalation: { group: 'sre-leads', critical: { after: 2, then: { after: 1, people: ['eve@example.org'] } } },
      },
    });
    bot.api.users_.push({ id: 4, email: 'eve@example.org', fullName: 'Eve Adams', isBot: false });
    await bot.say('!fr @**Ann Smith**', { stream: 'SRE - General', topic: 'fr' });
    await bot.alert({ eventId: '7001', trigger: 'HTTPS is down on web-01' });
    bot.replies();
    await bot.advance('1h');
    const [first] = reminders();
    expect(first).toContain('@**Ann Smith|2** (first responder)');
    expect(first).toMatch(/\nUnacknowledged, this escalates to @_\*sre-leads\* after 1 more reminder \(1h 00m\)\.$/);
    await bot.advance('1h');
    const [second] = reminders();
    expect(second).toMatch(/\n📣 \*\*Escalated\*\* to @\*sre-leads\*: \*\*HTTPS is down on web-01\*\* \(event 7001\) still unacknowledged after 2 reminders\. Please help, or acknowledge with `!ack`\.\nUnacknowledged, this escalates to @_\*\*Eve Adams\|4\*\* after 1 more reminder \(1h 00m\)\.$/);
    await bot.advance('1h');
    const [third] = reminders();
    expect(third).toContain('📣 **Escalated (step 2)** to @**Eve Adams|4**: **HTTPS is down on web-01** (event 7001) still unacknowledged after 3 reminders.');
    await bot.advance('1h');
    const [fourth] = reminders();
    expect(fourth).not.toMatch(/escalat/i);
    expect(fourth).not.toContain('sre-leads');
  });

  test('informational incidents do not escalate by default; acknowledged ones never', async () => {
    bot = await inProcessBot({ config: { sla: { informational: { remindEvery: '1h', ackWithin: '72h' }, critical: { remindEvery: '1h', resolveWithin: '16h' } }, escalation: { group: 'sre-leads', critical: { after: 1 } } } });
    await bot.alert({ host: 'info-01', eventId: '1', severity: 'Information', trigger: 'Agent restarted' });
    await bot.alert({ host: 'web-02', eventId: '2' });
    await bot.say('!ack', { topic: 'web-02' });
    bot.replies();
    for (let h = 0; h < 5; h++) await bot.advance('1h');
    const all = bot.all().map((r) => r.content).join('\n');
    expect(all).toContain('⏰');
    expect(all).not.toContain('sre-leads');
  });
});
