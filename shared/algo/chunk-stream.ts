/**
 * Chunking a document that arrives in pieces, holding only a bounded window of it. Pure: no I/O.
 *
 * The whole-text chunker (chunk.ts) splits lines independently, packs units greedily with a
 * short look-back, recounts each packed range, and re-splits the last two chunks. Every step is
 * local, so fed the same text in any pieces this chunker returns the same chunks, as long as no
 * line is longer than `MAX_PENDING_LINE` characters. A line that long (a text dump without line
 * breaks) is cut early at its last sentence end, else word boundary, else anywhere outside a
 * surrogate pair, and the cut-off part is chunked as if it were a line: chunks then still cover
 * the text exactly and fit the budget, but may end elsewhere than the whole-text chunker's.
 *
 * Held at any time: the line being read (at most MAX_PENDING_LINE characters plus one piece),
 * the range being packed, and the last two chunks (the tail re-split needs them).
 */
import { checkBudget, cutRank, Packer, rebalanceTail, settleRange, splitUnits, type Unit } from './chunk.ts';

/** A chunk's place in the text; offsets in UTF-16 code units, as in chunk.ts's Chunk. */
export interface ChunkRange {
  index: number;
  start: number;
  end: number;
  tokens: number;
}

/** Longest line read whole before it is cut early (characters). */
export const MAX_PENDING_LINE = 1 << 20;

/** Characters kept before the earliest position still needed (cutRank looks back up to 64). */
const MARGIN = 64;

/** Last position in [start, end) after which a cut is certain whatever follows: sentence end, else word start, else 0. */
function earlyCut(text: string, start: number, end: number): number {
  let sentence = 0;
  let word = 0;
  for (let i = end - 2; i > start; i--) {
    const c = text[i];
    const next = text[i + 1];
    const ws = /\s/.test(next);
    if (ws && /[.!?;…]/.test(c)) {
      sentence = i + 1;
      break;
    }
    if (/[。！？；]/.test(c) && !/[.!?;…。！？；]/.test(next)) {
      sentence = i + 1;
      break;
    }
    if (!word && ws && !/\s/.test(c)) word = i + 1;
  }
  return sentence || word;
}

export class StreamChunker {
  /** Text from absolute offset `base`. */
  private buf = '';
  private base = 0;
  /** Start of the text not yet split into units (relative to buf). */
  private lineStart = 0;
  private readonly packer: Packer;
  /** Settled chunks not yet returned (relative to buf): the last two may still be re-split. */
  private held: Unit[] = [];
  private next = 0;
  private done = false;

  constructor(private readonly budget: number) {
    checkBudget(budget);
    this.packer = new Packer(budget, (pos) => cutRank(this.buf, pos));
  }

  /** Characters fed so far. */
  get length(): number {
    return this.base + this.buf.length;
  }

  /** Feed the next piece of text; returns the chunks that are final. */
  push(piece: string): ChunkRange[] {
    if (this.done) throw new Error('StreamChunker.push after end()');
    if (!piece) return [];
    this.buf += piece;
    const nl = this.buf.lastIndexOf('\n');
    if (nl >= this.lineStart) this.split(nl + 1);
    if (this.buf.length - this.lineStart > MAX_PENDING_LINE) {
      let cut = earlyCut(this.buf, this.lineStart, this.buf.length);
      if (cut <= this.lineStart) {
        cut = this.buf.length;
        const c = this.buf.charCodeAt(cut - 1);
        if (c >= 0xd800 && c <= 0xdbff) cut--;
      }
      this.split(cut);
    }
    const out = this.release(2);
    this.trim();
    return out;
  }

  /** The text has ended: returns the remaining chunks. */
  end(): ChunkRange[] {
    if (this.done) return [];
    this.done = true;
    this.split(this.buf.length);
    const last = this.packer.finish();
    if (last.length) settleRange(this.buf, last, this.budget, this.budget, this.held);
    rebalanceTail(this.buf, this.held, this.budget);
    return this.release(0);
  }

  /** Split [lineStart, end) into units and pack them. */
  private split(end: number): void {
    if (end <= this.lineStart) return;
    for (const u of splitUnits(this.buf, this.lineStart, end, this.budget, this.budget)) {
      const closed = this.packer.add(u);
      if (closed) settleRange(this.buf, closed, this.budget, this.budget, this.held);
    }
    this.lineStart = end;
  }

  private release(keep: number): ChunkRange[] {
    const n = Math.max(0, this.held.length - keep);
    const out = this.held.slice(0, n).map((u) => ({ index: this.next++, start: u.start + this.base, end: u.end + this.base, tokens: u.tokens }));
    this.held = this.held.slice(n);
    return out;
  }

  /** Drop the text nothing refers to any more (in large steps, so copying stays linear). */
  private trim(): void {
    const keep = Math.min(this.lineStart, this.packer.firstStart(), ...this.held.map((u) => u.start)) - MARGIN;
    if (keep < 1 << 16 || keep < this.buf.length / 2) return;
    this.buf = this.buf.slice(keep);
    this.base += keep;
    this.lineStart -= keep;
    this.packer.shift(keep);
    this.held = this.held.map((u) => ({ ...u, start: u.start - keep, end: u.end - keep }));
  }
}

/**
 * Cut the texts of `ranges` (sorted, adjacent or not) out of text that arrives in pieces,
 * holding only the text of the range being cut.
 */
export class RangeSlicer {
  private buf = '';
  private base = 0;
  private i = 0;

  constructor(private readonly ranges: readonly { start: number; end: number }[]) {}

  /** Feed the next piece; returns the [index into ranges, text] of every range now complete. */
  push(piece: string): Array<[number, string]> {
    this.buf += piece;
    const out: Array<[number, string]> = [];
    while (this.i < this.ranges.length && this.ranges[this.i].end <= this.base + this.buf.length) {
      const r = this.ranges[this.i];
      out.push([this.i++, this.buf.slice(r.start - this.base, r.end - this.base)]);
    }
    const keep = Math.min(this.i < this.ranges.length ? this.ranges[this.i].start : Infinity, this.base + this.buf.length) - this.base;
    if (keep > 0) {
      this.buf = this.buf.slice(keep);
      this.base += keep;
    }
    return out;
  }
}
