/**
 * The team's classes and Zabbix's severities, written once: which severity is which class, the
 * order and labels classes are shown in, the stream each class is discussed in, and the words
 * people type for a class.
 */

export type Severity = 'Not classified' | 'Information' | 'Warning' | 'Average' | 'High' | 'Disaster';
export type IncidentClass = 'critical' | 'non-critical' | 'informational';

/** The team's classes: Disaster and High are critical, Average and Warning non-critical, the rest informational. */
export const SEVERITY_CLASS: Readonly<Record<Severity, IncidentClass>> = {
  Disaster: 'critical',
  High: 'critical',
  Average: 'non-critical',
  Warning: 'non-critical',
  Information: 'informational',
  'Not classified': 'informational',
};

/** Most urgent first. */
export const CLASS_ORDER = ['critical', 'non-critical', 'informational'] as const satisfies readonly IncidentClass[];

export const CLASS_LABEL: Record<IncidentClass, string> = {
  critical: 'Critical',
  'non-critical': 'Non-critical',
  informational: 'Informational',
};

/** Zabbix severities from most to least severe. */
export const SEVERITY_RANK: Record<Severity, number> = {
  Disaster: 5,
  High: 4,
  Average: 3,
  Warning: 2,
  Information: 1,
  'Not classified': 0,
};

/** The severity an incident reported by hand gets for its class. */
export const CLASS_SEVERITY: Readonly<Record<IncidentClass, Severity>> = {
  critical: 'High',
  'non-critical': 'Average',
  informational: 'Information',
};

/** The SRE streams where incidents of each class are discussed. */
export interface ClassStreams {
  critical: string;
  nonCritical: string;
  informational: string;
}

/** The SRE stream where incidents of a class are discussed. */
export function streamForClass(streams: ClassStreams, c: IncidentClass): string {
  return c === 'critical' ? streams.critical : c === 'non-critical' ? streams.nonCritical : streams.informational;
}

const CLASS_WORDS: Readonly<Record<string, IncidentClass>> = {
  critical: 'critical',
  'non-critical': 'non-critical',
  noncritical: 'non-critical',
  informational: 'informational',
  info: 'informational',
};

/** The class a person typed (`critical`, `non-critical`, `info`…), any case; undefined when none. */
export function classFromWord(word: string): IncidentClass | undefined {
  return CLASS_WORDS[word.trim().toLowerCase()];
}
