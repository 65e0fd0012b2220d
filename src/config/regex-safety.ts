/**
 * A start-up check that a configured regular expression cannot make the bot hang: JavaScript's
 * engine backtracks, and some patterns try exponentially many ways to fail on a long text
 * (`(a+)+$`, `(\w|\d)*$`), or polynomially many (`a.*b.*c.*d`). Pure and static: the pattern is
 * parsed (JavaScript syntax, case-insensitive, without the `u` flag) and three shapes are refused:
 *
 * 1. a repeated part (at least 3 times, or without limit) containing a part that itself repeats
 *    a variable number of times over characters that can also start and end the repeated part —
 *    `(a+)+`, `(\w+\s?)*`, `(.*a){5,}`; `(\d+\.)+` is fine, as a `.` separates the iterations;
 * 2. a repeated alternation whose alternatives can match the same text — `(a|a)*`, `(\w|\d)+`,
 *    `(.|\s)*` (alternatives that begin and end with a common character);
 * 3. three or more unbounded repetitions in a row that can trade characters — `a.*b.*c.*d`:
 *    with the search's own start that is n⁴ steps. Two (`a.*b.*c`) pass: matching sees at most
 *    the first 1,000 characters of a name (src/features/runbook/rules.ts, MATCH_CHARS).
 *
 * A heuristic, erring on the careful side (it refuses some harmless patterns rather than let a
 * catastrophic one through); lookarounds are atomic in JavaScript and are checked on their own.
 */

/** Which characters one character-matching item can match: a flag per code unit of the universe. */
type CharSet = Uint8Array;

type Node =
  | { kind: 'chars'; set: CharSet }
  /** Zero-width: `^`, `$`, `\b`, `\B`. */
  | { kind: 'empty' }
  /** A lookaround: zero-width, its body checked on its own. */
  | { kind: 'look'; body: Node }
  /** A back-reference: any text, possibly empty. */
  | { kind: 'backref' }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[]; start: number; end: number }
  | { kind: 'repeat'; body: Node; min: number; max: number; start: number; end: number };

/** Code units that stand for all the others in set intersections: ASCII, some letters and spaces of other scripts. */
const BASE_UNIVERSE = [
  ...Array.from({ length: 128 }, (_, c) => c),
  0xa0, 0xaa, 0xb5, 0xba, 0xc0, 0xc5, 0xdf, 0xe5, 0xe9, 0xff, 0x100, 0x130, 0x131, 0x17f, 0x391, 0x3b1, 0x3c3,
  0x410, 0x430, 0x5d0, 0x627, 0x1e9e, 0x2028, 0x2029, 0x2126, 0x212a, 0x212b, 0x3000, 0x4e00, 0xd83d, 0xde00, 0xfeff, 0xfffd,
];

class Analysis {
  private readonly universe: number[];
  private readonly pos = { at: 0 };
  private readonly info = new WeakMap<Node, { nullable: boolean; first: CharSet; last: CharSet; all: CharSet }>();
  readonly any: CharSet;
  private readonly none: CharSet;

  constructor(private readonly src: string) {
    const extra = new Set<number>();
    for (let k = 0; k < src.length; k++) extra.add(src.charCodeAt(k));
    for (const m of src.matchAll(/\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4}))/g)) extra.add(parseInt(m[1] ?? m[2] ?? '0', 16));
    const around = [...extra].flatMap((c) => [c - 1, c, c + 1]).filter((c) => c >= 0 && c <= 0xffff);
    this.universe = [...new Set([...BASE_UNIVERSE, ...around])];
    this.any = new Uint8Array(this.universe.length).fill(1);
    this.none = new Uint8Array(this.universe.length);
  }

  // --- parsing ---------------------------------------------------------------------------

  parse(): Node {
    const node = this.alternation();
    if (this.pos.at < this.src.length) throw new Error(`unexpected ${this.src[this.pos.at]}`);
    return node;
  }

  private peek(ahead = 0): string | undefined {
    return this.src[this.pos.at + ahead];
  }

  private alternation(): Node {
    const start = this.pos.at;
    const options = [this.sequence()];
    while (this.peek() === '|') {
      this.pos.at++;
      options.push(this.sequence());
    }
    return options.length === 1 ? (options[0] as Node) : { kind: 'alt', options, start, end: this.pos.at };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.pos.at < this.src.length && this.peek() !== '|' && this.peek() !== ')') items.push(this.quantified());
    return { kind: 'seq', items };
  }

  private quantified(): Node {
    const start = this.pos.at;
    const atom = this.atom();
    const q = this.quantifier();
    if (!q) return atom;
    if (this.peek() === '?') this.pos.at++; // lazy: the same paths, another order
    return { kind: 'repeat', body: atom, min: q.min, max: q.max, start, end: this.pos.at };
  }

  private quantifier(): { min: number; max: number } | undefined {
    const c = this.peek();
    if (c === '*' || c === '+' || c === '?') {
      this.pos.at++;
      return { min: c === '+' ? 1 : 0, max: c === '?' ? 1 : Number.POSITIVE_INFINITY };
    }
    const m = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos.at)) : null;
    if (!m) return undefined;
    this.pos.at += m[0].length;
    const min = Number(m[1]);
    return { min, max: m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]) };
  }

  private atom(): Node {
    const start = this.pos.at;
    const c = this.src[this.pos.at++] as string;
    if (c === '^' || c === '$') return { kind: 'empty' };
    if (c === '(') {
      let look = false;
      if (this.src.startsWith('?:', this.pos.at)) this.pos.at += 2;
      else if (/^\?<?[=!]/.test(this.src.slice(this.pos.at, this.pos.at + 3))) {
        look = true;
        this.pos.at += this.peek(1) === '<' ? 3 : 2;
      } else if (this.src.startsWith('?<', this.pos.at)) this.pos.at = this.src.indexOf('>', this.pos.at) + 1;
      const body = this.alternation();
      this.pos.at++; // ')'
      return look ? { kind: 'look', body } : body;
    }
    if (c === '[') {
      if (this.peek() === '^') this.pos.at++;
      if (this.peek() === ']') this.pos.at++; // `[]` or `[^]`: the `]` closes it
      else {
        while (this.pos.at < this.src.length && this.peek() !== ']') this.pos.at += this.peek() === '\\' ? 2 : 1;
        this.pos.at++;
      }
      return this.charsOf(start);
    }
    if (c === '\\') {
      const e = this.src[this.pos.at++] ?? '';
      if (e === 'b' || e === 'B') return { kind: 'empty' };
      if (/[1-9]/.test(e)) {
        while (/\d/.test(this.peek() ?? '')) this.pos.at++;
        return { kind: 'backref' };
      }
      if (e === 'k' && this.peek() === '<') {
        this.pos.at = this.src.indexOf('>', this.pos.at) + 1;
        return { kind: 'backref' };
      }
      const fixed = e === 'x' ? /^[0-9a-fA-F]{2}/ : e === 'u' ? /^[0-9a-fA-F]{4}/ : e === 'c' ? /^[A-Za-z]/ : undefined;
      const m = fixed?.exec(this.src.slice(this.pos.at));
      if (m) this.pos.at += m[0].length;
      return this.charsOf(start);
    }
    return this.charsOf(start);
  }

  /** The set of the one-character item src[start, pos): asked of the engine itself, so escapes, classes and case folding are exact. */
  private charsOf(start: number): Node {
    const re = new RegExp(`^(?:${this.src.slice(start, this.pos.at)})$`, 'i');
    return { kind: 'chars', set: Uint8Array.from(this.universe, (c) => (re.test(String.fromCharCode(c)) ? 1 : 0)) };
  }

  // --- what an item can match ------------------------------------------------------------

  private union(...sets: CharSet[]): CharSet {
    const out = new Uint8Array(this.universe.length);
    for (const s of sets) for (let k = 0; k < s.length; k++) out[k] = out[k]! | s[k]!;
    return out;
  }

  meet(a: CharSet, b: CharSet): boolean {
    for (let k = 0; k < a.length; k++) if (a[k] && b[k]) return true;
    return false;
  }

  facts(n: Node): { nullable: boolean; first: CharSet; last: CharSet; all: CharSet } {
    const known = this.info.get(n);
    if (known) return known;
    let f: { nullable: boolean; first: CharSet; last: CharSet; all: CharSet };
    switch (n.kind) {
      case 'chars':
        f = { nullable: false, first: n.set, last: n.set, all: n.set };
        break;
      case 'empty':
      case 'look':
        f = { nullable: true, first: this.none, last: this.none, all: this.none };
        break;
      case 'backref':
        f = { nullable: true, first: this.any, last: this.any, all: this.any };
        break;
      case 'seq': {
        const items = n.items.map((i) => this.facts(i));
        const firsts: CharSet[] = [];
        for (const i of items) {
          firsts.push(i.first);
          if (!i.nullable) break;
        }
        const lasts: CharSet[] = [];
        for (const i of [...items].reverse()) {
          lasts.push(i.last);
          if (!i.nullable) break;
        }
        f = { nullable: items.every((i) => i.nullable), first: this.union(...firsts), last: this.union(...lasts), all: this.union(...items.map((i) => i.all)) };
        break;
      }
      case 'alt': {
        const options = n.options.map((o) => this.facts(o));
        f = {
          nullable: options.some((o) => o.nullable),
          first: this.union(...options.map((o) => o.first)),
          last: this.union(...options.map((o) => o.last)),
          all: this.union(...options.map((o) => o.all)),
        };
        break;
      }
      case 'repeat': {
        const b = this.facts(n.body);
        f = n.max === 0 ? { nullable: true, first: this.none, last: this.none, all: this.none } : { nullable: n.min === 0 || b.nullable, first: b.first, last: b.last, all: b.all };
        break;
      }
    }
    this.info.set(n, f);
    return f;
  }
}

/** Repeats without a useful bound, for the chain rule (`.{0,5000}` counts as unbounded). */
const UNBOUNDED = 100;

/** Every node under `n` (itself included) outside lookarounds, which are atomic and checked on their own. */
function* nodes(n: Node): Generator<Node> {
  yield n;
  if (n.kind === 'seq') for (const i of n.items) yield* nodes(i);
  else if (n.kind === 'alt') for (const o of n.options) yield* nodes(o);
  else if (n.kind === 'repeat') yield* nodes(n.body);
}

/** The items of a sequence with nested plain sequences (groups) flattened in. */
function flat(items: readonly Node[]): Node[] {
  return items.flatMap((i) => (i.kind === 'seq' ? flat(i.items) : [i]));
}

function hasUnbounded(n: Node): boolean {
  for (const x of nodes(n)) if (x.kind === 'repeat' && x.max > UNBOUNDED && !(x.body.kind === 'empty')) return true;
  return false;
}

/** Why the pattern can take exponential or high-polynomial time; undefined when it cannot (by this check's rules). */
export function catastrophicPattern(pattern: string): string | undefined {
  const a = new Analysis(pattern);
  let root: Node;
  try {
    root = a.parse();
  } catch {
    return undefined; // not ours to judge: `new RegExp` reports syntax errors
  }
  const snippet = (n: { start: number; end: number }) => `\`${pattern.slice(n.start, n.end)}\``;

  const check = (top: Node): string | undefined => {
    // What ends the whole pattern (or a lookaround) never backtracks: nothing after it can fail.
    const finals = new Set<Node>(top.kind === 'alt' ? top.options : [top]);
    for (const n of nodes(top)) {
      if (n.kind === 'look') {
        const inner = check(n.body);
        if (inner) return inner;
        continue;
      }
      if (n.kind === 'repeat' && n.max >= 3) {
        const body = a.facts(n.body);
        for (const inner of nodes(n.body)) {
          if (inner.kind === 'repeat' && inner.min < inner.max && inner !== n) {
            const can = a.facts(inner.body).all;
            if (a.meet(can, body.first) && a.meet(can, body.last)) return `nested repetition: ${snippet(n)} repeats a part that itself repeats over the same characters, like \`(a+)+\``;
          }
          if (inner.kind === 'alt') {
            const o = inner.options.map((x) => a.facts(x));
            for (let i = 0; i < o.length; i++) {
              for (let j = i + 1; j < o.length; j++) {
                if (a.meet(o[i]!.first, o[j]!.first) && a.meet(o[i]!.last, o[j]!.last)) return `overlapping alternatives: ${snippet(n)} repeats ${snippet(inner)}, whose alternatives can match the same text, like \`(a|a)*\``;
              }
            }
          }
        }
      }
      if (n.kind === 'seq') {
        const items = flat(n.items);
        const counted = finals.has(n) ? items.slice(0, -1) : items;
        // A chain: unbounded repetitions, each able to take characters from the one before it
        // across the fixed items between them (which the earlier one can match too).
        let chain = 0;
        let prev: CharSet | undefined;
        for (const item of counted) {
          if (item.kind === 'empty' || item.kind === 'look') continue;
          const f = a.facts(item);
          if (hasUnbounded(item)) {
            chain = prev && a.meet(prev, f.first) ? chain + 1 : 1;
            prev = f.all;
            if (chain >= 3) return 'three unbounded repetitions in a row over the same characters, like `a.*b.*c.*d` (the time grows with the fourth power of the text)';
          } else if (prev && !a.meet(prev, f.all)) {
            chain = 0;
            prev = undefined;
          }
        }
      }
    }
    return undefined;
  };
  return check(root);
}
