/**
 * A jest reporter that says, at the start and at the end of a run, which suites the config left
 * out and why (jest.config.js: the real-Zabbix suites without root, on another OS, or with
 * SKIP_E2E=1).
 */
class LeftOutReporter {
  constructor(_globalConfig, options) {
    this.leftOut = options.leftOut || [];
    this.reason = options.reason || '';
    this.onlyE2e = options.onlyE2e === true;
    /** Other groups left out, each with its own reason: [{ leftOut, reason, how }] (the PostgreSQL suites). */
    this.also = options.also || [];
  }

  line() {
    if (this.leftOut.length === 0) return undefined;
    const how = this.onlyE2e ? 'scripts/e2e.sh refuses to run them so' : 'run them with `npm run test:e2e` (as root, on Debian 12)';
    return `left out: ${this.leftOut.join(', ')}, because ${this.reason}; ${how}`;
  }

  lines() {
    const also = this.also.filter((g) => g.leftOut && g.leftOut.length > 0).map((g) => `left out: ${g.leftOut.join(', ')}, because ${g.reason}; ${g.how}`);
    return [this.line(), ...also].filter(Boolean);
  }

  onRunStart() {
    for (const l of this.lines()) process.stderr.write(`${l}\n`);
  }

  onRunComplete() {
    for (const l of this.lines()) process.stderr.write(`${l}\n`);
  }
}

module.exports = LeftOutReporter;
