/**
 * `npm test`: every suite this machine can run. The real-Zabbix suites (zabbix-e2e,
 * recheck-zabbix, handover-zabbix) install and start Zabbix 6.0, PostgreSQL and PHP from Debian's packages: they
 * run only as root on Debian and not with SKIP_E2E=1; otherwise they are left out (not skipped
 * one by one) and the run says so at its start and end. `npm run test:e2e` (scripts/e2e.sh) runs
 * them alone (E2E_ONLY=1). A run that includes them gets its own Zabbix (test/support/e2e-setup.js),
 * shared by its e2e suites and stopped and removed at its end unless E2E_KEEP=1.
 */
const { existsSync } = require('node:fs');

const E2E_SUITES = ['test/integration/zabbix-e2e.test.ts', 'test/integration/recheck-zabbix.test.ts', 'test/integration/handover-zabbix.test.ts'];
const e2ePatterns = E2E_SUITES.map((s) => `<rootDir>/${s.replace(/\./g, '\\.')}$`);

function whyNoE2e() {
  if (process.env.SKIP_E2E === '1') return 'SKIP_E2E=1';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root: they install and start Zabbix 6.0, PostgreSQL and PHP (apt-get, pg_ctlcluster, /etc/zabbix)';
  if (!existsSync('/usr/bin/apt-get') || !existsSync('/etc/debian_version')) return 'not Debian: they install Zabbix 6.0 from Debian 12 packages';
  return undefined;
}

// The PostgreSQL suites (issue 22): the PostgreSQL store's contract, leader election, the failover
// chaos test. They need a database: TEST_DATABASE_URL (scripts/postgres-up.sh starts one;
// `npm run test:e2e` does, and runs them with the real-Zabbix suites).
const PG_SUITES = ['src/store/postgres-store.test.ts', 'src/store/lease.test.ts', 'test/chaos/failover.test.ts'];
const pgPatterns = PG_SUITES.map((s) => `<rootDir>/${s.replace(/\./g, '\\.')}$`);
const pgLeftOutReason = process.env.TEST_DATABASE_URL ? undefined : 'TEST_DATABASE_URL is not set (no PostgreSQL to run them on)';
const withPg = pgLeftOutReason === undefined;

const onlyE2e = process.env.E2E_ONLY === '1';
const leftOutReason = whyNoE2e();
const withE2e = leftOutReason === undefined;

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  ...(onlyE2e ? { testMatch: [...E2E_SUITES, ...PG_SUITES].map((s) => `<rootDir>/${s}`) } : {}),
  testPathIgnorePatterns: ['/node_modules/', ...(withE2e ? [] : e2ePatterns), ...(withPg ? [] : pgPatterns)],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
  ...(withE2e ? { globalSetup: '<rootDir>/test/support/e2e-setup.js', globalTeardown: '<rootDir>/test/support/e2e-teardown.js' } : {}),
  reporters: ['default', ['<rootDir>/test/support/left-out-reporter.js', { leftOut: withE2e ? [] : E2E_SUITES, reason: leftOutReason ?? '', onlyE2e, also: withPg ? [] : [{ leftOut: PG_SUITES, reason: pgLeftOutReason, how: 'run them with `npm run test:e2e` (it starts a PostgreSQL: scripts/postgres-up.sh), or set TEST_DATABASE_URL' }] }]],
};
