/**
 * Reading a V2 input record (one JSON object whose `papers` array may hold hundreds of MB) as
 * it arrives, paper by paper. Pure: no I/O. The scanner finds where each top-level field's value
 * and each element of `papers` ends (tracking strings, escapes and nesting, resumably across
 * pieces) and parses that value alone with JSON.parse, so what is held at once is one paper's
 * JSON plus the piece being read.
 */
import { V2InputError } from './v2-input.ts';

export type RecordEvent = { kind: 'field'; key: string; value: unknown } | { kind: 'paper'; index: number; value: unknown };

type State = 'start' | 'firstKey' | 'key' | 'colon' | 'value' | 'after' | 'firstPaper' | 'paper' | 'afterPaper' | 'done';

interface Scan {
  start: number;
  i: number;
  depth: number;
  inStr: boolean;
}

const WS = /[ \t\r\n]/;
const NEST = /["{}[\]]/g;
const IN_STRING = /["\\]/g;
const LITERAL_END = /[,}\]\s]/g;

export class RecordScanner {
  private buf = '';
  /** Absolute offset of buf[0] (for error positions). */
  private base = 0;
  private pos = 0;
  private state: State = 'start';
  private key = '';
  private papers = 0;
  private scan: Scan | null = null;
  /** Whether `papers` was an array (streamed element by element). */
  papersStreamed = false;

  /** Feed the next piece; returns the fields and papers completed by it. */
  push(piece: string): RecordEvent[] {
    this.buf += piece;
    const out: RecordEvent[] = [];
    this.run(out, false);
    if (this.pos > 1 << 20 && this.pos > this.buf.length / 2) {
      this.buf = this.buf.slice(this.pos);
      this.base += this.pos;
      if (this.scan) {
        this.scan.start -= this.pos;
        this.scan.i -= this.pos;
      }
      this.pos = 0;
    }
    return out;
  }

  /** The text has ended: throws if the record is incomplete. */
  end(): RecordEvent[] {
    const out: RecordEvent[] = [];
    this.run(out, true);
    if (this.state !== 'done') throw this.fail(this.state === 'start' ? 'the input is empty' : 'the input ends before the record is complete (truncated JSON)');
    return out;
  }

  private fail(why: string): V2InputError {
    return new V2InputError(`the input is not valid JSON near character ${this.base + this.pos}: ${why}`);
  }

  private run(out: RecordEvent[], final: boolean): void {
    for (;;) {
      if (this.scan) {
        const end = this.advance(this.scan, final);
        if (end < 0) return;
        const raw = this.buf.slice(this.scan.start, end);
        this.scan = null;
        this.pos = end;
        let value: unknown;
        try {
          value = JSON.parse(raw);
        } catch (e) {
          throw this.fail((e as Error).message);
        }
        this.emit(value, out);
        continue;
      }
      while (this.pos < this.buf.length && WS.test(this.buf[this.pos])) this.pos++;
      if (this.pos >= this.buf.length) return;
      const c = this.buf[this.pos];
      switch (this.state) {
        case 'start':
          if (c !== '{') throw this.fail(c === '[' ? 'found an array, expected one object ({"title": …, "papers": […]})' : `expected one object ({"title": …, "papers": […]}), found "${c}"`);
          this.pos++;
          this.state = 'firstKey';
          break;
        case 'firstKey':
        case 'key':
          if (c === '}' && this.state === 'firstKey') {
            this.pos++;
            this.state = 'done';
          } else if (c === '"') this.begin();
          else throw this.fail(`expected a field name in quotes, found "${c}"`);
          break;
        case 'colon':
          if (c !== ':') throw this.fail(`expected ":" after "${this.key}", found "${c}"`);
          this.pos++;
          this.state = 'value';
          break;
        case 'value':
          if (this.key === 'papers' && c === '[' && !this.papersStreamed) {
            this.papersStreamed = true;
            this.pos++;
            this.state = 'firstPaper';
          } else this.begin();
          break;
        case 'after':
          if (c === ',') this.state = 'key';
          else if (c === '}') this.state = 'done';
          else throw this.fail(`expected "," or "}" after the value of "${this.key}", found "${c}"`);
          this.pos++;
          break;
        case 'firstPaper':
        case 'paper':
          if (c === ']' && this.state === 'firstPaper') {
            this.pos++;
            this.state = 'after';
          } else this.begin();
          break;
        case 'afterPaper':
          if (c === ',') this.state = 'paper';
          else if (c === ']') this.state = 'after';
          else throw this.fail(`expected "," or "]" after paper ${this.papers}, found "${c}"`);
          this.pos++;
          break;
        case 'done':
          throw this.fail('text after the record: the input holds more than one record; submit one survey (one JSON object) per job');
      }
    }
  }

  /** Start scanning a value (or a field name) at pos. */
  private begin(): void {
    const c = this.buf[this.pos];
    this.scan = { start: this.pos, i: this.pos + 1, depth: c === '{' || c === '[' ? 1 : 0, inStr: c === '"' };
  }

  private emit(value: unknown, out: RecordEvent[]): void {
    switch (this.state) {
      case 'firstKey':
      case 'key':
        this.key = value as string;
        this.state = 'colon';
        return;
      case 'value':
        out.push({ kind: 'field', key: this.key, value });
        this.state = 'after';
        return;
      default:
        out.push({ kind: 'paper', index: this.papers++, value });
        this.state = 'afterPaper';
    }
  }

  /** End (exclusive) of the value being scanned, or -1 when more text is needed. */
  private advance(s: Scan, final: boolean): number {
    const b = this.buf;
    const literal = !s.inStr && s.depth === 0;
    if (literal) {
      LITERAL_END.lastIndex = s.i;
      const m = LITERAL_END.exec(b);
      if (m) return m.index;
      s.i = b.length;
      return final ? b.length : -1;
    }
    for (;;) {
      const re = s.inStr ? IN_STRING : NEST;
      re.lastIndex = s.i;
      const m = re.exec(b);
      if (!m) {
        s.i = b.length;
        return -1;
      }
      const ch = m[0];
      if (s.inStr) {
        if (ch === '\\') {
          if (m.index + 1 >= b.length) {
            s.i = m.index; // the escaped character has not arrived yet
            return -1;
          }
          s.i = m.index + 2;
          continue;
        }
        s.inStr = false;
        s.i = m.index + 1;
        if (s.depth === 0) return s.i; // a string value ends here
        continue;
      }
      s.i = m.index + 1;
      if (ch === '"') s.inStr = true;
      else if (ch === '{' || ch === '[') s.depth++;
      else if (--s.depth === 0) return s.i;
    }
  }
}
