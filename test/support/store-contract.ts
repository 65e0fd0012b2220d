/**
 * The store contract (issue 22): what every Store must do, run against each implementation —
 * SQLite always (src/store/sqlite-store.test.ts), PostgreSQL when a test database is available
 * (src/store/postgres-store.test.ts, in the e2e set: jest.config.js).
 *
 * `newPlace()` gives a fresh, empty place for a store (a SQLite file, a PostgreSQL schema); its
 * `open()` may be called again after `close()` to see what survived.
 */
import { incident, T0 } from './factories';
import { StoreUnavailableError } from '../../src/store/errors';
import { manualFault, type StoreFault } from '../../src/store/fault';
import type { OutgoingItem, Store } from '../../src/store/store';
import type { Incident } from '../../src/domain/incident';

export interface StorePlace {
  open(opts?: { fault?: StoreFault }): Store;
}

const message = (content: string, topic = 't', stream = 'S'): OutgoingItem => ({ kind: 'message', stream, topic, content });

export function describeStore(name: string, newPlace: () => StorePlace): void {
  describe(`store contract: ${name}`, () => {
    test('incidents survive closing and reopening, with their history', () => {
      const place = newPlace();
      const s1 = place.open();
      s1.putIncident(incident({ eventId: '1', acknowledgedBy: 'Ann', acknowledgedById: 1002, acknowledgedAt: T0 + 1, status: 'acknowledged', ackNote: 'on it' }), { eventId: '1', at: T0, kind: 'opened', actor: 'Zabbix' });
      s1.putIncident(incident({ eventId: '2', status: 'resolved', resolvedAt: T0 + 5, resolvedBy: 'Zabbix', resolution: 'ok-alert' }));
      s1.setState('cursor', '123');
      s1.close();
      const s2 = place.open();
      expect(s2.getIncident('1')).toEqual({
        ...incident({ eventId: '1', acknowledgedBy: 'Ann', acknowledgedById: 1002, acknowledgedAt: T0 + 1, status: 'acknowledged', ackNote: 'on it' }),
        timers: { remindersSent: 0, warningsSent: [] },
      });
      expect(s2.openIncidents().map((i) => i.eventId)).toEqual(['1']);
      expect(s2.history('1')).toEqual([{ eventId: '1', at: T0, kind: 'opened', actor: 'Zabbix' }]);
      expect(s2.getState('cursor')).toBe('123');
      expect(s2.getIncident('nope')).toBeUndefined();
      s2.close();
    });

    test('an incident put again replaces the stored one', () => {
      const s = newPlace().open();
      s.putIncident(incident({ eventId: '1', alertCount: 1 }));
      s.putIncident(incident({ eventId: '1', alertCount: 3, status: 'acknowledged', acknowledgedBy: 'Bob', acknowledgedAt: T0 + 9 }));
      expect(s.getIncident('1')).toMatchObject({ alertCount: 3, status: 'acknowledged', acknowledgedBy: 'Bob' });
      expect(s.openIncidents()).toHaveLength(1);
      // Put with the incident as read before (a store may write only what changed): the same result.
      const before = s.getIncident('1') as Incident;
      const after = { ...before, alertCount: 4, lastAlertAt: T0 + 20, lastAlertMessageId: 99, status: 'resolved' as const, resolvedAt: T0 + 20, resolvedBy: 'Zabbix', resolution: 'ok-alert' as const };
      s.putIncident(after, undefined, before);
      expect(s.getIncident('1')).toMatchObject({ alertCount: 4, lastAlertMessageId: 99, status: 'resolved', resolvedBy: 'Zabbix', acknowledgedBy: 'Bob' });
      expect(s.openIncidents()).toHaveLength(0);
      s.close();
    });

    test('raiseState moves a number up only', () => {
      const s = newPlace().open();
      s.raiseState('pos', 10);
      s.raiseState('pos', 7);
      expect(s.getState('pos')).toBe('10');
      s.raiseState('pos', 100);
      s.raiseState('pos', 99);
      expect(s.getState('pos')).toBe('100');
      s.close();
    });

    test('timers round-trip; due incidents are found by their next due time', () => {
      const s = newPlace().open();
      const timers = { remindersSent: 2, warningsSent: ['resolve-75' as const], nextReminderAt: T0 + 100, lastReminderAt: T0 + 50, snoozedUntil: T0 + 80, nextDueAt: T0 + 80 };
      s.putIncident(incident({ eventId: '1', timers }));
      s.putIncident(incident({ eventId: '2', timers: { remindersSent: 0, warningsSent: [], nextDueAt: T0 + 500 } }));
      s.putIncident(incident({ eventId: '3', status: 'resolved', timers: { remindersSent: 0, warningsSent: [], nextDueAt: T0 } }));
      expect(s.getIncident('1')?.timers).toEqual(timers);
      expect(s.nextDueAt()).toBe(T0 + 80);
      expect(s.dueIncidents(T0 + 100).map((i) => i.eventId)).toEqual(['1']);
      expect(s.dueIncidents(T0 + 1000).map((i) => i.eventId)).toEqual(['1', '2']);
      s.close();
    });

    test('queries: summaries, by host, by time, critical opens, logs of a kind', () => {
      const s = newPlace().open();
      s.putIncident(incident({ eventId: '1', host: 'a', openedAt: T0, stream: 'A', topic: 'a' }), { eventId: '1', at: T0, kind: 'opened' });
      s.putIncident(incident({ eventId: '2', host: 'a', openedAt: T0 + 10, stream: 'A', topic: 'a2', acknowledgedBy: 'Ann', status: 'acknowledged' }), { eventId: '2', at: T0 + 10, kind: 'opened' });
      s.putIncident(incident({ eventId: '3', host: 'b', openedAt: T0 + 20, incidentClass: 'informational', severity: 'Information' }), { eventId: '3', at: T0 + 20, kind: 'opened' });
      s.addLog({ eventId: '2', at: T0 + 30, kind: 'acknowledged', actor: 'Ann', detail: 'on it' });
      expect(s.openSummaries().map((x) => x.eventId).sort()).toEqual(['1', '2', '3']);
      expect(s.openSummaries().find((x) => x.eventId === '2')).toMatchObject({ host: 'a', acknowledgedBy: 'Ann', status: 'acknowledged', openedAt: T0 + 10 });
      expect(s.openSummaries().find((x) => x.eventId === '1')).not.toHaveProperty('acknowledgedBy');
      expect(s.incidentsOfHost('a', 10).map((i) => i.eventId)).toEqual(['2', '1']);
      expect(s.incidentsOfHost('a', 1).map((i) => i.eventId)).toEqual(['2']);
      expect(s.incidentsOpenedBetween(T0, T0 + 20).map((i) => i.eventId)).toEqual(['1', '2']);
      expect(s.latestElsewhereForHost('a', { stream: 'A', topic: 'a2' })?.eventId).toBe('1');
      expect(s.criticalOpensSince(T0 + 5).map((x) => x.eventId)).toEqual(['2']);
      expect(s.criticalOpensSince(T0)[0]).toEqual({ eventId: '1', at: T0, host: 'a', triggerName: expect.any(String), stream: 'A', topic: 'a' });
      expect(s.logsOfKind('acknowledged', T0)).toEqual([{ eventId: '2', at: T0 + 30, kind: 'acknowledged', actor: 'Ann', detail: 'on it' }]);
      expect(s.incidentsInTopic({ stream: 'A', topic: 'a' }, { openOnly: true }).map((i) => i.eventId)).toEqual(['1']);
      s.close();
    });

    test('topics are followed through renames, with what is kept per topic and the queued messages', () => {
      const s = newPlace().open();
      s.putIncident(incident({ eventId: '1', stream: 'A', topic: 'host' }));
      s.putIncident(incident({ eventId: '2', stream: 'A', topic: 'other' }));
      s.recordProjectId({ stream: 'A', topic: 'host', triggerId: '100', projectId: 'SRE2611ABC', by: 'Ann', at: T0 });
      s.markChecklistPosted({ stream: 'A', topic: 'host' }, '100', T0);
      s.setHandler({ stream: 'A', topic: 'host', person: { id: 7, name: 'Ann' }, since: T0, until: T0 + 1000 });
      s.enqueue(message('queued', 'host', 'A'), T0);
      expect(s.moveTopic({ stream: 'A', topic: 'host' }, { stream: 'B', topic: '✔ host' })).toBe(1);
      expect(s.incidentsInTopic({ stream: 'B', topic: '✔ host' }).map((i) => i.eventId)).toEqual(['1']);
      expect(s.incidentsInTopic({ stream: 'A', topic: 'host' })).toEqual([]);
      expect(s.projectIdsIn({ stream: 'B', topic: 'host' }).map((p) => p.projectId)).toEqual(['SRE2611ABC']);
      expect(s.markChecklistPosted({ stream: 'B', topic: '✔ host' }, '100', T0)).toBe(false);
      expect(s.handlerFor({ stream: 'B', topic: 'host' })?.person.name).toBe('Ann');
      expect(s.pendingTopics()).toEqual([{ stream: 'B', topic: '✔ host' }]);
      expect(s.pendingFor('B', '✔ host')).toBe(1);
      expect(s.peek()?.item).toEqual(message('queued', '✔ host', 'B'));
      s.close();
    });

    test('a rename onto a topic that already has the same records keeps both sides (nothing lost, no error)', () => {
      const s = newPlace().open();
      s.recordProjectId({ stream: 'A', topic: 'h', triggerId: '1', projectId: 'P', by: 'Ann', at: T0 });
      s.recordProjectId({ stream: 'B', topic: 'h', triggerId: '1', projectId: 'P', by: 'Bob', at: T0 });
      s.setHandler({ stream: 'A', topic: 'h', person: { id: 1, name: 'Ann' }, since: T0, until: T0 + 1 });
      s.setHandler({ stream: 'B', topic: 'h', person: { id: 2, name: 'Bob' }, since: T0, until: T0 + 1 });
      s.moveTopic({ stream: 'A', topic: 'h' }, { stream: 'B', topic: 'h' });
      expect(s.projectIdsIn({ stream: 'B', topic: 'h' }).map((p) => p.by)).toEqual(['Bob']);
      expect(s.handlerFor({ stream: 'B', topic: 'h' })?.person.name).toBe('Bob');
      s.close();
    });

    test('a transaction that throws writes nothing; a nested one that throws is undone alone', () => {
      const s = newPlace().open();
      expect(() =>
        s.transaction(() => {
          s.putIncident(incident({ eventId: '1' }));
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(s.getIncident('1')).toBeUndefined();
      const r = s.transaction(() => {
        s.setState('outer', '1');
        expect(() =>
          s.transaction(() => {
            s.setState('inner', '1');
            throw new Error('inner boom');
          }),
        ).toThrow('inner boom');
        s.transaction(() => s.setState('inner2', '1'));
        return 42;
      });
      expect(r).toBe(42);
      expect([s.getState('outer'), s.getState('inner'), s.getState('inner2')]).toEqual(['1', undefined, '1']);
      s.close();
    });

    test('the outbox keeps order and survives restarts; replies go before notices and bulk', () => {
      const place = newPlace();
      const s = place.open();
      s.enqueue(message('one'), T0);
      s.enqueue({ kind: 'reaction', messageId: 9, emojiName: 'repeat' }, T0);
      s.close();
      const s2 = place.open();
      expect(s2.size()).toBe(2);
      const first = s2.peek()!;
      expect(first.item).toEqual(message('one'));
      s2.reschedule(first.id, T0 + 1000, 1);
      expect(s2.peek()).toMatchObject({ id: first.id, attempts: 1, notBefore: T0 + 1000, createdAt: T0 });
      s2.remove(first.id);
      expect(s2.peek()!.item).toEqual({ kind: 'reaction', messageId: 9, emojiName: 'repeat' });
      s2.enqueue(message('bulk'), T0, 'bulk');
      s2.enqueue(message('reply'), T0, 'reply');
      expect(s2.pending(10).map((r) => (r.item.kind === 'message' ? r.item.content : r.item.kind))).toEqual(['reply', 'reaction', 'bulk']);
      expect(s2.pending(1)).toHaveLength(1);
      s2.enqueue({ kind: 'direct', to: ['ann@example.org'], content: 'hi' }, T0);
      expect(s2.pendingTopics()).toEqual([{ stream: 'S', topic: 't' }]);
      expect(s2.size()).toBe(4);
      s2.close();
    });

    test('cards: stored, replaced, and queued updates dropped', () => {
      const s = newPlace().open();
      expect(s.getCard('storm')).toBeUndefined();
      s.putCard({ key: 'storm', messageId: 5, stream: 'S', topic: 't', content: 'v1', postedAt: T0 });
      s.putCard({ key: 'storm', messageId: 6, stream: 'S', topic: 't', content: 'v2', postedAt: T0 + 1 });
      expect(s.getCard('storm')).toEqual({ key: 'storm', messageId: 6, stream: 'S', topic: 't', content: 'v2', postedAt: T0 + 1 });
      s.enqueue({ kind: 'card', key: 'storm', stream: 'S', topic: 't', content: 'v3' }, T0);
      s.enqueue({ kind: 'card', key: 'other', stream: 'S', topic: 't', content: 'x' }, T0);
      expect(s.pendingTopics()).toEqual([{ stream: 'S', topic: 't' }]);
      expect(s.dropQueuedCard('storm')).toBe(1);
      expect(s.size()).toBe(1);
      s.close();
    });

    test('jobs: due in order, retried, finished, hurried by prefix', () => {
      const s = newPlace().open();
      const a = s.enqueueJob('gitlab.issue', { eventId: '1' }, T0);
      const b = s.enqueueJob('zabbix.ack', { n: 2 }, T0 + 10);
      expect(s.jobCount()).toBe(2);
      expect(s.nextJobAt()).toBe(T0);
      expect(s.dueJobs(T0, 10)).toEqual([{ id: a, kind: 'gitlab.issue', payload: { eventId: '1' }, runAt: T0, attempts: 0, reported: false, createdAt: T0 }]);
      s.retryJob(a, T0 + 5000, 1, 'GitLab down', true);
      expect(s.dueJobs(T0 + 10, 10).map((j) => j.id)).toEqual([b]);
      expect(s.hurryJobs('gitlab.', T0 + 20)).toBe(1);
      expect(s.dueJobs(T0 + 20, 10)[0]).toMatchObject({ id: b });
      expect(s.dueJobs(T0 + 20, 10).find((j) => j.id === a)).toMatchObject({ attempts: 1, lastError: 'GitLab down', reported: true, runAt: T0 + 20 });
      s.finishJob(a);
      s.finishJob(b);
      expect(s.jobCount()).toBe(0);
      expect(s.nextJobAt()).toBeUndefined();
      s.close();
    });

    test('responders: handovers newest first, handlers, scoped handlers', () => {
      const s = newPlace().open();
      s.recordHandover({ to: { id: 1, name: 'Ann' }, by: 'Ann', at: T0, forced: false });
      s.recordHandover({ from: { id: 1, name: 'Ann' }, to: { id: 2, name: 'Bob' }, by: 'Bob', at: T0 + 1, forced: true });
      expect(s.handovers(10)).toEqual([
        { from: { id: 1, name: 'Ann' }, to: { id: 2, name: 'Bob' }, by: 'Bob', at: T0 + 1, forced: true },
        { to: { id: 1, name: 'Ann' }, by: 'Ann', at: T0, forced: false },
      ]);
      s.setHandler({ stream: 'S', topic: '✔ web', person: { id: 1, name: 'Ann' }, since: T0, until: T0 + 100 });
      s.setHandler({ stream: 'S', topic: 'web', person: { id: 2, name: 'Bob' }, since: T0, until: T0 + 200 });
      expect(s.handlerFor({ stream: 'S', topic: 'web' })).toEqual({ stream: 'S', topic: 'web', person: { id: 2, name: 'Bob' }, since: T0, until: T0 + 200 });
      expect(s.handlersEndingBy(T0 + 150)).toEqual([]);
      expect(s.handlersOf(2)).toHaveLength(1);
      expect(s.removeHandler({ stream: 'S', topic: 'web' })).toBe(true);
      expect(s.removeHandler({ stream: 'S', topic: 'web' })).toBe(false);
      s.setScopedHandler({ scope: 'area', key: 'web', person: { id: 1, name: 'Ann' }, since: T0, until: T0 + 5, where: { stream: 'S', topic: 'web' } });
      s.setScopedHandler({ scope: 'host', key: 'db-.*', person: { id: 2, name: 'Bob' }, since: T0 + 1, until: T0 + 5 });
      expect(s.scopedHandlers()).toEqual([
        { scope: 'area', key: 'web', person: { id: 1, name: 'Ann' }, since: T0, until: T0 + 5, where: { stream: 'S', topic: 'web' } },
        { scope: 'host', key: 'db-.*', person: { id: 2, name: 'Bob' }, since: T0 + 1, until: T0 + 5 },
      ]);
      expect(s.removeScopedHandler('area', 'web')).toBe(true);
      expect(s.scopedHandlers()).toHaveLength(1);
      s.close();
    });

    test('tracking and advice: recorded once per topic (the ✔ prefix is the same topic)', () => {
      const s = newPlace().open();
      expect(s.recordProjectId({ stream: 'S', topic: 'h', triggerId: '1', projectId: 'P1', by: 'Ann', at: T0, messageId: 77 })).toBe(true);
      expect(s.recordProjectId({ stream: 'S', topic: '✔ h', triggerId: '1', projectId: 'P1', by: 'Ann', at: T0 })).toBe(false);
      expect(s.projectIdsIn({ stream: 'S', topic: 'h' })).toEqual([{ stream: 'S', topic: 'h', triggerId: '1', projectId: 'P1', by: 'Ann', at: T0, messageId: 77 }]);
      expect(s.markChecklistPosted({ stream: 'S', topic: 'h' }, '1', T0)).toBe(true);
      expect(s.markChecklistPosted({ stream: 'S', topic: 'h' }, '1', T0)).toBe(false);
      expect(s.markAdvicePosted({ stream: 'S', topic: 'h' }, '1', 'hint', T0)).toBe(true);
      expect(s.markAdvicePosted({ stream: 'S', topic: '✔ h' }, '1', 'hint', T0)).toBe(false);
      expect(s.clearAdvice({ stream: 'S', topic: 'h' })).toBe(1);
      expect(s.markAdvicePosted({ stream: 'S', topic: 'h' }, '1', 'hint', T0)).toBe(true);
      s.close();
    });

    test('GitLab: issues linked, states, notes synced once, queued notes in order, forgotten', () => {
      const s = newPlace().open();
      s.linkGitlabIssue('1', { iid: 12, webUrl: 'https://gl/12', title: 'T', state: 'opened' }, T0);
      s.linkGitlabIssue('2', { iid: 12, webUrl: 'https://gl/12', title: 'T', state: 'opened' }, T0 + 1);
      expect(s.gitlabIssueOf('2')).toEqual({ iid: 12, webUrl: 'https://gl/12', title: 'T', state: 'opened', stateAt: T0, createdAt: T0, eventIds: ['1', '2'] });
      s.setGitlabIssueState(12, 'closed', T0 + 5);
      expect(s.gitlabIssues('closed').map((i) => [i.iid, i.stateAt])).toEqual([[12, T0 + 5]]);
      expect(s.gitlabIssues('opened')).toEqual([]);
      expect(s.markGitlabNote(12, 500, 'bot', T0, 9001)).toBe(true);
      expect(s.markGitlabNote(12, 500, 'bot', T0)).toBe(false);
      expect(s.gitlabNoteSeen(12, 500)).toBe(true);
      expect(s.gitlabNoteOfMessage(9001)).toBe(500);
      expect(s.queueGitlabNote(9003, '1', { text: 'b' }, T0)).toBe(true);
      expect(s.queueGitlabNote(9002, '1', { text: 'a' }, T0)).toBe(true);
      expect(s.queueGitlabNote(9002, '1', { text: 'a' }, T0)).toBe(false);
      expect(s.pendingGitlabNotes().map((n) => n.payload)).toEqual([{ text: 'a' }, { text: 'b' }]);
      s.dropGitlabNote(9002);
      expect(s.pendingGitlabNotes()).toHaveLength(1);
      s.forgetGitlabIssue(12);
      expect(s.gitlabIssue(12)).toBeUndefined();
      expect(s.gitlabIssueOf('1')).toBeUndefined();
      expect(s.gitlabNoteSeen(12, 500)).toBe(false);
      s.close();
    });

    test('text round-trips exactly: unicode, quotes, newlines, JSON-looking content', () => {
      const s = newPlace().open();
      const content = 'ü ✔ 🔴 "quoted" \'single\' \\ back\nline\t{"kind":"x"} $1 ?';
      s.enqueue(message(content, 'tópic "x"'), T0);
      expect(s.peek()?.item).toEqual(message(content, 'tópic "x"'));
      s.setState('k', content);
      expect(s.getState('k')).toBe(content);
      s.close();
    });

    test('a store that cannot write (injected fault): writes throw StoreUnavailableError, nothing lands, the condition is remembered until a write succeeds', () => {
      const fault = manualFault();
      const s = newPlace().open({ fault });
      s.putIncident(incident({ eventId: '1' }));
      expect(s.condition()).toEqual({ failures: 0 });
      fault.set('full');
      expect(() => s.putIncident(incident({ eventId: '2' }))).toThrow(StoreUnavailableError);
      expect(() => s.transaction(() => s.enqueue(message('hello'), T0))).toThrow(StoreUnavailableError);
      expect(s.getIncident('1')?.eventId).toBe('1');
      expect(s.condition().failing).toEqual({ code: 'SQLITE_FULL', reason: 'cannot write: database or disk is full' });
      expect(s.peek()).toBeUndefined();
      fault.set(undefined);
      expect(s.getIncident('2')).toBeUndefined();
      expect(s.size()).toBe(0);
      s.transaction(() => s.getState('k'));
      expect(s.condition().failing).toBeDefined();
      s.setState('k', 'v');
      expect(s.condition().failing).toBeUndefined();
      s.close();
    });

    test('outbox removals and job ends made while the store cannot write are held and written once it can', () => {
      const fault = manualFault();
      const s = newPlace().open({ fault });
      const id = s.enqueue(message('one'), T0);
      s.enqueue(message('two'), T0);
      const job = s.enqueueJob('k', {}, T0);
      fault.set('ioerr');
      s.remove(id);
      s.finishJob(job);
      expect(s.size()).toBe(1);
      expect(s.jobCount()).toBe(0);
      expect(s.pending(10)).toEqual([]);
      expect(s.dueJobs(T0, 10)).toEqual([]);
      fault.set(undefined);
      s.setState('probe', '1');
      expect(s.pending(10).map((r) => (r.item.kind === 'message' ? r.item.content : ''))).toEqual(['two']);
      expect(s.dueJobs(T0, 10)).toEqual([]);
      expect(s.jobCount()).toBe(0);
      s.close();
    });
  });
}
