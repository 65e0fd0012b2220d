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
  }

  line() {
    if (this.leftOut.length === 0) return undefined;
    const how = this.onlyE2e ? 'scripts/e2e.sh refuses to run them so' : 'run them with `npm run test:e2e` (as root, on Debian 12)';
    return `left out: ${this.leftOut.join(', ')}, because ${this.reason}; ${how}`;
  }

  onRunStart() {
    const l = this.line();
    if (l) process.stderr.write(`${l}\n`);
  }

  onRunComplete() {
    const l = this.line();
    if (l) process.stderr.write(`${l}\n`);
  }
}

module.exports = LeftOutReporter;
