/**
 * Temp dirs for tests that open their own store: each is removed after the test file's tests
 * (an afterAll registered once per test file that imports this module).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

if (typeof afterAll === 'function') {
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
}

/** A new dir under the OS temp dir, removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A path for a SQLite store in a new temp dir (removed after the file's tests). */
export function tempDbPath(prefix: string): string {
  return join(tempDir(prefix), 'bot.db');
}
