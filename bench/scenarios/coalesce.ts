/**
 * Figure 7, one message per topic per round (issue 17): on each of H hosts, three non-critical
 * problems open `gapS` seconds apart (the issue's "three problems on one host produced 7 messages
 * in 15 s"), with non-critical SLAs scaled down so that their 75 % warnings, breaches and
 * reminders all fall due within the run: remindEvery = ackWithin = R (75 % at 0.75 R). What the
 * bot says in the hosts' topics is read at the fake; a round is the coalescing window
 * W = min(60 s, R / 4): the figure is the most SLA messages (reminders, warnings, breaches) one
 * topic got within any W, with how many SLA items (each warning, breach and reminder line) were due.
 */
import { BotRunner, sleep } from '../lib/bot-runner';
import { Recorder } from '../lib/recorder';
import { maxInWindow } from '../lib/stats';
import { postAlert, startWorld } from '../lib/world';

export interface CoalesceParams {
  hosts: number;
  /** remindEvery and ackWithin, seconds. */
  slaS: number;
  /** Seconds between a host's three problems. */
  gapS: number;
  keep?: boolean;
}

export interface CoalesceRun {
  topics: number;
  /** SLA items said (warning, breach and reminder lines) per topic, median. */
  itemsPerTopic: number;
  /** SLA messages per topic, median. */
  messagesPerTopic: number;
  /** The most SLA messages one topic got within one window W. */
  maxPerWindow: number;
  windowS: number;
}

const SLA_MESSAGE = /⏰ \*\*Reminder\*\*|SLA warning|SLA breach/;

function items(content: string): number {
  const warnings = content.match(/⚠️ \*\*SLA warning\*\*|🚨 \*\*SLA breach/g)?.length ?? 0;
  const reminded = /⏰ \*\*Reminder\*\*/.test(content) ? content.split('\n').filter((l) => /^- \w[^:]*: \*\*/.test(l)).length : 0;
  return warnings + reminded;
}

export async function coalesceRun(p: CoalesceParams, progress: (s: string) => void): Promise<CoalesceRun> {
  const every = `${p.slaS}s`;
  const w = await startWorld({ config: { sla: { nonCritical: { remindEvery: every, ackWithin: every, resolveWithin: '7d' } } }, keep: p.keep });
  const rec = new Recorder(w.fake, w.bot.email);
  const bot = BotRunner.startBot(w.configPath, w.logPath);
  try {
    await bot.live();
    const topics = Array.from({ length: p.hosts }, (_, h) => `app-${String(h + 1).padStart(2, '0')}.example.org`);
    progress(`${p.hosts} hosts × 3 non-critical problems, ${p.gapS} s apart; SLA ${p.slaS} s`);
    const triggers = ['Free disk space is less than 20% on /var', 'Load average is too high (per CPU load over 1.5 for 5m)', 'High memory utilization (>90% for 5m)'];
    for (const [k, trigger] of triggers.entries()) {
      for (const [h, host] of topics.entries()) postAlert(w, { severity: 'Warning', host, eventId: String(800_000 + h * 10 + k), triggerId: String(90_000 + h * 10 + k), trigger, item: 'value' });
      if (k < triggers.length - 1) await sleep(p.gapS * 1000);
    }
    // Past the breaches of the last problems, and a little more.
    await sleep((p.slaS + 3) * 1000);
    const windowMs = Math.min(60_000, (p.slaS * 1000) / 4);
    const perTopic = topics.map((t) => rec.postsInTopic(t).filter((r) => SLA_MESSAGE.test(r.content ?? '')));
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    return {
      topics: topics.length,
      itemsPerTopic: med(perTopic.map((ms) => ms.reduce((a, m) => a + items(m.content ?? ''), 0))),
      messagesPerTopic: med(perTopic.map((ms) => ms.length)),
      // Within any window a little shorter than W (a tick's rounding).
      maxPerWindow: Math.max(0, ...perTopic.map((ms) => maxInWindow(ms.map((m) => m.at), windowMs - 1_000))),
      windowS: windowMs / 1000,
    };
  } finally {
    await bot.stop();
    await w.close();
  }
}
