/**
 * Architecture rules for src/. Every non-test .ts file's imports are checked: `import … from`,
 * `import type`, `export … from`, `import x = require()`, `import()` and `require()`.
 * Test files (*.test.ts) are exempt from every rule and are not read.
 *
 * 1. Layers: a file may import only its own layer or lower ones.
 *      0 core/   1 domain/   2 adapters: config/ store/ zulip/ zabbix/ gitlab/ ops/ types/
 *      3 pipeline/   4 features/<name>/   5 app/ and main.ts
 *    Relative imports are resolved to a path to find the target's layer. A file (or import
 *    target) under src/ that is in no layer fails: add its folder to LAYER_OF_DIR.
 * 2. domain/ is pure: it may import only domain/ and core/ (but not core/log.ts), and no Node
 *    built-in module (`node:*`, `fs`, `http`, …) and no npm package.
 * 3. Each npm library has exactly one owner (LIBRARY_OWNERS below); importing it anywhere else
 *    fails. A package missing from the table fails as an "unowned library": add it there.
 * 4. No import cycles between feature folders (features/a -> features/b -> … -> features/a).
 *    Other imports between feature folders are allowed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, posix, sep } from 'node:path';
import { preProcessFile } from 'typescript';

const LAYER_NAMES = ['core', 'domain', 'adapters', 'pipeline', 'features', 'app'];
const layerLabel = (layer: number): string => `${layer} (${LAYER_NAMES[layer] ?? '?'})`;
const LAYER_OF_DIR = new Map<string, number>([
  ['core', 0], ['domain', 1],
  ['config', 2], ['store', 2], ['zulip', 2], ['zabbix', 2], ['gitlab', 2], ['ops', 2], ['types', 2],
  ['pipeline', 3], ['features', 4], ['app', 5],
]);

/** npm package -> the files (or folders, ending in '/') under src/ allowed to import it. */
const LIBRARY_OWNERS = new Map<string, readonly string[]>([
  ['zulip-js', ['zulip/zulip-js-api.ts']],
  ['axios', ['zabbix/client.ts']],
  ['@gitbeaker/rest', ['gitlab/client.ts']],
  ['better-sqlite3', ['store/sqlite-store.ts']],
  ['pg-native', ['store/postgres-store.ts']],
  ['node-cron', ['ops/cron.ts']],
  ['pino', ['core/log.ts']], ['pino-pretty', ['core/log.ts']],
  ['prom-client', ['ops/metrics.ts']],
  // The config's schema, and the adapters that check what Zulip and Zabbix answer.
  ['zod', ['config/', 'zabbix/client.ts', 'zulip/zulip-js-api.ts']],
]);

/** Paths are relative to src/, '/'-separated; import targets may lack their extension. */
function layerOf(path: string): number | undefined {
  if (/^main(\.ts)?$/.test(path)) return 5;
  const slash = path.indexOf('/');
  return slash < 0 ? undefined : LAYER_OF_DIR.get(path.slice(0, slash));
}

function featureOf(path: string): string | undefined {
  return /^features\/([^/]+)\//.exec(path)?.[1];
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return (spec.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** Breadth-first path start -> … -> goal in the feature graph, if there is one. */
function findPath(graph: Map<string, Set<string>>, start: string, goal: string): string[] | undefined {
  const previous = new Map<string, string>([[start, start]]);
  const queue = [start];
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
    if (node === goal) {
      const path = [node];
      for (let at = node; at !== start; path.unshift(at)) at = previous.get(at) ?? start;
      return path;
    }
    for (const next of graph.get(node) ?? []) {
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/** Takes src/-relative path -> source text; returns one "src/file -> import: reason" line per violation. */
function checkImports(files: Map<string, string>): string[] {
  const violations: string[] = [];
  const report = (file: string, spec: string, reason: string): number =>
    violations.push(`src/${file} -> ${spec}: ${reason}`);
  const featureImports: Array<{ file: string; spec: string; from: string; to: string }> = [];
  const featureGraph = new Map<string, Set<string>>();

  for (const [file, source] of files) {
    const layer = layerOf(file);
    if (layer === undefined) violations.push(`src/${file}: not in any layer (add its folder to LAYER_OF_DIR)`);
    const inDomain = file.startsWith('domain/');
    for (const { fileName: spec } of preProcessFile(source, true, true).importedFiles) {
      if (!spec.startsWith('.')) {
        const library = packageName(spec);
        const owner = LIBRARY_OWNERS.get(library);
        if (inDomain) report(file, spec, `domain/ is pure: no ${isBuiltin(spec) ? 'Node built-in' : 'npm package'}`);
        else if (isBuiltin(spec)) continue;
        else if (owner === undefined) report(file, spec, `unowned library "${library}" (add it to LIBRARY_OWNERS)`);
        else if (!owner.some((o) => (o.endsWith('/') ? file.startsWith(o) : file === o))) {
          report(file, spec, `library "${library}" may only be imported by ${owner.map((o) => `src/${o}`).join(', ')}`);
        }
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/(\.d)?\.ts$|\.js$/, '');
      const targetLayer = layerOf(target);
      if (target.startsWith('../') || targetLayer === undefined) {
        report(file, spec, 'target is outside the layered src/ tree');
      } else if (inDomain) {
        const pure = target.startsWith('domain/') || (target.startsWith('core/') && target !== 'core/log');
        if (!pure) report(file, spec, 'domain/ is pure: only domain/ and core/ (not core/log.ts)');
      } else if (layer !== undefined && targetLayer > layer) {
        report(file, spec, `upward import from layer ${layerLabel(layer)} to layer ${layerLabel(targetLayer)}`);
      }
      const [from, to] = [featureOf(file), featureOf(`${target}/`)];
      if (from !== undefined && to !== undefined && from !== to) {
        featureImports.push({ file, spec, from, to });
        featureGraph.set(from, (featureGraph.get(from) ?? new Set<string>()).add(to));
      }
    }
  }
  for (const { file, spec, from, to } of featureImports) {
    const back = findPath(featureGraph, to, from);
    if (back !== undefined) report(file, spec, `feature import cycle ${[from, ...back].join(' -> ')}`);
  }
  return violations.sort();
}

/** Every non-test .ts file under root, keyed by its '/'-separated path relative to root. */
function readSourceTree(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const paths = readdirSync(root, { recursive: true }).map(String).sort();
  for (const path of paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.test.ts'))) {
    files.set(path.split(sep).join('/'), readFileSync(join(root, path), 'utf8'));
  }
  return files;
}

describe('checkImports (the checker itself)', () => {
  const check = (files: Record<string, string>): string[] => checkImports(new Map(Object.entries(files)));

  it('reports nothing for a clean set', () => {
    const clean = {
      'main.ts': "import { createApp } from './app/app';\nimport { readFileSync } from 'node:fs';",
      'app/app.ts': "import { run } from '../features/a/run';\nimport type { Store } from '../store/store';",
      'features/a/run.ts': "import { helper } from '../b/helper';\nimport { x } from '../../domain/x';",
      'features/b/helper.ts': "import { z } from '../../pipeline/commands';",
      'pipeline/commands.ts': "import { log } from '../core/log';",
      'store/sqlite-store.ts': "import Database from 'better-sqlite3';\nimport type { X } from '../domain/x';",
      'config/schema.ts': "import { z } from 'zod';",
      'core/log.ts': "import pino from 'pino';",
      'core/text.ts': "// import { x } from '../app/app';\nconst s = \"require('axios')\";",
      'domain/x.ts': "import type { Y } from './y';\nimport { clock } from '../core/clock';",
    };
    expect(check(clean)).toEqual([]);
  });

  it('reports an upward import, whatever the import form', () => {
    expect(check({
      'core/text.ts': "import type { Alert } from '../domain/alert';",
      'zulip/api.ts': "export { run } from '../pipeline/pipeline';",
      'pipeline/p.ts': "const m = require('../app/app') as typeof import('../features/a/x');",
    })).toEqual([
      'src/core/text.ts -> ../domain/alert: upward import from layer 0 (core) to layer 1 (domain)',
      'src/pipeline/p.ts -> ../app/app: upward import from layer 3 (pipeline) to layer 5 (app)',
      'src/pipeline/p.ts -> ../features/a/x: upward import from layer 3 (pipeline) to layer 4 (features)',
      'src/zulip/api.ts -> ../pipeline/pipeline: upward import from layer 2 (adapters) to layer 3 (pipeline)',
    ]);
  });

  it('reports a library imported outside its owner, and an unowned library', () => {
    expect(check({
      'features/runbook/config.ts': "import { z } from 'zod';",
      'zabbix/client.ts': "import axios from 'axios';\nimport { chunk } from 'lodash/chunk';",
      'ops/http.ts': "import zulipInit = require('zulip-js');",
    })).toEqual([
      'src/features/runbook/config.ts -> zod: library "zod" may only be imported by src/config/, src/zabbix/client.ts, src/zulip/zulip-js-api.ts',
      'src/ops/http.ts -> zulip-js: library "zulip-js" may only be imported by src/zulip/zulip-js-api.ts',
      'src/zabbix/client.ts -> lodash/chunk: unowned library "lodash" (add it to LIBRARY_OWNERS)',
    ]);
  });

  it('reports domain/ importing a Node built-in, a package, core/log.ts or an adapter', () => {
    expect(check({
      'domain/a.ts': "import { readFileSync } from 'node:fs';\nimport http from 'http';\nimport { z } from 'zod';",
      'domain/b.ts': "import type { Logger } from '../core/log';\nimport type { SlaConfig } from '../config/schema';",
    })).toEqual([
      'src/domain/a.ts -> http: domain/ is pure: no Node built-in',
      'src/domain/a.ts -> node:fs: domain/ is pure: no Node built-in',
      'src/domain/a.ts -> zod: domain/ is pure: no npm package',
      'src/domain/b.ts -> ../config/schema: domain/ is pure: only domain/ and core/ (not core/log.ts)',
      'src/domain/b.ts -> ../core/log: domain/ is pure: only domain/ and core/ (not core/log.ts)',
    ]);
  });

  it('reports every import on a feature cycle, also a transitive one', () => {
    expect(check({
      'features/a/x.ts': "import { y } from '../b/y';",
      'features/b/y.ts': "import { z } from '../c/z';",
      'features/c/z.ts': "import { x } from '../a/x';\nimport { d } from '../d/d';",
      'features/d/d.ts': '',
    })).toEqual([
      'src/features/a/x.ts -> ../b/y: feature import cycle a -> b -> c -> a',
      'src/features/b/y.ts -> ../c/z: feature import cycle b -> c -> a -> b',
      'src/features/c/z.ts -> ../a/x: feature import cycle c -> a -> b -> c',
    ]);
  });

  it('reports a file in no layer and an import leaving src/', () => {
    expect(check({ 'util/x.ts': '', 'core/y.ts': "import p from '../../package.json';" })).toEqual([
      'src/core/y.ts -> ../../package.json: target is outside the layered src/ tree',
      'src/util/x.ts: not in any layer (add its folder to LAYER_OF_DIR)',
    ]);
  });
});

describe('architecture of src/', () => {
  it('has no import violations', () => {
    const violations = checkImports(readSourceTree(__dirname));
    if (violations.length > 0) {
      throw new Error(
        `${violations.length} architecture violation(s); the rules are at the top of src/architecture.test.ts:\n` +
          violations.map((v) => `  ${v}`).join('\n'),
      );
    }
  });
});
