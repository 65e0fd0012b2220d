/** Topic names by the team's convention: one topic per host; `✔ ` in front marks it resolved. */

export const RESOLVED_PREFIX = '✔ ';

export function isResolvedTopic(topic: string): boolean {
  return topic.startsWith(RESOLVED_PREFIX);
}

/** The host topic without the resolved mark. */
export function hostTopic(topic: string): string {
  return isResolvedTopic(topic) ? topic.slice(RESOLVED_PREFIX.length) : topic;
}

/** The topic's name once marked resolved. */
export function resolvedTopic(topic: string): string {
  return RESOLVED_PREFIX + hostTopic(topic);
}
