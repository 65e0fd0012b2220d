/**
 * Which runbook hints apply to an alert, whether its critical incident needs the client
 * prompt, and how both read in chat. Pure: the alert's time comes in.
 */
import { dateFormat } from '../../core/time-format';
import { outside } from '../../core/text';
import type { IncidentClass } from '../../domain/classes';
import type { ClientException, RunbookRule } from '../../config/runbook-schema';
import type { Weekday } from '../../domain/runbook';

/** What a rule looks at. */
export interface AlertFacts {
  triggerName: string;
  host: string;
  incidentClass: IncidentClass;
  /** When the problem opened (milliseconds since the epoch), for rules limited to weekdays. */
  at: number;
  /** IANA time zone the weekdays are counted in. */
  timeZone: string;
}

/** The weekday of `at` in the time zone ("sun"). */
export function weekdayOf(at: number, timeZone: string): Weekday {
  return dateFormat('en-US', { timeZone, weekday: 'short' }).format(at).toLowerCase() as Weekday;
}

/**
 * How much of a trigger or host name the patterns see. Trigger names come from Zabbix and can
 * carry item values of any length; a pattern's cost grows with the text (polynomially for some
 * that the start-up check lets through, such as `a.*b.*c`), so it is bounded here.
 */
export const MATCH_CHARS = 1000;

function matches(m: { trigger?: RegExp; host?: RegExp }, facts: Pick<AlertFacts, 'triggerName' | 'host'>): boolean {
  if (!m.trigger && !m.host) return false;
  if (m.trigger && !m.trigger.test(facts.triggerName.slice(0, MATCH_CHARS))) return false;
  if (m.host && !m.host.test(facts.host.slice(0, MATCH_CHARS))) return false;
  return true;
}

/** The rules whose every condition holds for the alert, in config order. */
export function matchRules(rules: readonly RunbookRule[], facts: AlertFacts): RunbookRule[] {
  return rules.filter((r) => {
    if (!matches(r, facts)) return false;
    if (r.classes && !r.classes.includes(facts.incidentClass)) return false;
    if (r.days && !r.days.includes(weekdayOf(facts.at, facts.timeZone))) return false;
    return true;
  });
}

/** The exception that spares this incident the client message, if any. */
export function clientException(exceptions: readonly ClientException[], facts: Pick<AlertFacts, 'triggerName' | 'host'>): ClientException | undefined {
  return exceptions.find((e) => matches(e, facts));
}

/** Whether the client prompt belongs to this alert: critical, prompt enabled, no exception. */
export function needsClientPrompt(config: { enabled: boolean; exceptions: readonly ClientException[] }, facts: Pick<AlertFacts, 'triggerName' | 'host' | 'incidentClass'>): boolean {
  return config.enabled && facts.incidentClass === 'critical' && clientException(config.exceptions, facts) === undefined;
}

/** One line per hint. Rule texts come from the config; they are still kept from pinging anyone. */
export function renderHints(rules: readonly RunbookRule[]): string {
  return rules
    .map((r) => {
      const hint = outside(r.hint, { max: 1500 });
      // The link goes before a final full stop: "… our custom SSH configuration ([link](…))."
      const text = r.link ? `${hint.replace(/\.$/, '')} ([link](${r.link}))${hint.endsWith('.') ? '.' : ''}` : hint;
      return `💡 **Runbook — ${outside(r.name, { max: 100 })}:** ${text}`;
    })
    .join('\n');
}

/** The process's "Communicate to affected clients", asked once per topic. */
export const CLIENT_PROMPT = [
  '📣 **Clients affected?** A critical incident usually means a client service is down or degraded.',
  "- If it is **still ongoing**: find the affected clients (the host's DNS in the trigger, the VM's client tags in Proxmox; include clients hit by related critical triggers) and tell them on Slack that we know and are investigating. Say here whom you told.",
  '- If it **resolved itself** and the problem is no longer observable: tell clients nothing; note that here.',
].join('\n');

/** The message for a newly opened alert: hints and the client prompt together (one message, less noise). */
export function renderAdvice(hints: readonly RunbookRule[], clientPrompt: boolean): string | undefined {
  const parts = [hints.length > 0 ? renderHints(hints) : undefined, clientPrompt ? CLIENT_PROMPT : undefined].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}
