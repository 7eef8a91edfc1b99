/**
 * Token counting with the cl100k_base encoding (gpt-tokenizer, loaded on first use). Pure: no I/O.
 *
 * Two things differ from calling the library directly:
 * - Special-token strings in documents ("<|endoftext|>", "<|im_start|>") are counted as plain
 *   text instead of throwing: a document is data, never control tokens.
 * - Byte-pair merging is quadratic in the length of one pre-token, so a long run of one
 *   character class (1 MB of base64-free letters, a CJK passage without punctuation, a wall of
 *   dashes or spaces) would take minutes. Such runs (at least RUN_SLICE characters) are counted
 *   in RUN_SLICE-character slices, which keeps counting linear; for those runs the count may
 *   differ from a whole-text encode by about one token per slice. Ordinary text (every
 *   pre-token shorter than RUN_SLICE) is counted exactly.
 */
import type { ChatMessage } from '../ops/op.ts';
import { lazyModule } from '../lazy-module.ts';

// The encoding tables are large (1.3 MB of code, ~60 ms to load): loaded at the first count,
// not when a command that never counts starts.
const cl100k = lazyModule<typeof import('gpt-tokenizer/encoding/cl100k_base')>('gpt-tokenizer/encoding/cl100k_base');
const bpeCount: (typeof import('gpt-tokenizer/encoding/cl100k_base'))['countTokens'] = (text, opts) => cl100k().countTokens(text, opts);
const bpeEncode: (typeof import('gpt-tokenizer/encoding/cl100k_base'))['encode'] = (text, opts) => cl100k().encode(text, opts);
/** cl100k's token for the single byte 0xFF, which is never valid UTF-8. */
const INVALID_BYTE_TOKEN = 187;
/**
 * Decode that leaves nothing behind. gpt-tokenizer decodes bytes with one module-wide
 * TextDecoder in streaming mode and never flushes it, so a decode ending inside a character
 * keeps that character's first bytes and puts them (as U+FFFD) at the start of the next
 * decode: hard cuts chosen from decoded prefixes then depended on what was decoded before.
 * Ending every decode with the 0xFF byte makes the decoder give up any pending bytes in the
 * same call; the U+FFFD for 0xFF itself is dropped, one for a character cut short stays.
 */
const bpeDecode = (tokens: number[]): string => {
  const s = cl100k().decode([...tokens, INVALID_BYTE_TOKEN]);
  if (!s.endsWith('\uFFFD')) throw new Error('gpt-tokenizer: token 187 no longer decodes to the invalid byte 0xFF');
  return s.slice(0, -1);
};

/** Length (UTF-16 code units) of the slices a long run is counted in. */
export const RUN_SLICE = 256;

/** Empty disallowed set: special-token strings are encoded as ordinary text. */
const PLAIN = { disallowedSpecial: new Set<string>() };

/**
 * Runs that can form one long pre-token in cl100k: letters (with combining marks), symbols and
 * punctuation (which also covers marks), white space. Digits are split in threes by the
 * encoding itself, so they never form long pre-tokens.
 */
const LONG_RUN = new RegExp(
  `[\\p{L}\\p{M}]{${RUN_SLICE},}|[^\\s\\p{L}\\p{N}]{${RUN_SLICE},}|\\s{${RUN_SLICE},}`,
  'gu',
);

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** End of the slice that starts at `start` and holds at most `max` code units, never splitting a surrogate pair. */
export function sliceEnd(text: string, start: number, max: number): number {
  let end = Math.min(text.length, start + max);
  if (end < text.length && end > start + 1 && isLowSurrogate(text.charCodeAt(end)) && isHighSurrogate(text.charCodeAt(end - 1))) {
    end--;
  }
  return end;
}

function countRun(run: string): number {
  let n = 0;
  for (let i = 0; i < run.length; ) {
    const end = sliceEnd(run, i, RUN_SLICE);
    n += bpeCount(run.slice(i, end), PLAIN);
    i = end;
  }
  return n;
}

/** Tokens of a text (cl100k_base, no special tokens added, special-token strings as plain text). */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  if (text.length < RUN_SLICE) return bpeCount(text, PLAIN);
  LONG_RUN.lastIndex = 0;
  let m = LONG_RUN.exec(text);
  if (m === null) return bpeCount(text, PLAIN);
  let total = 0;
  let pos = 0;
  while (m !== null) {
    if (m.index > pos) total += bpeCount(text.slice(pos, m.index), PLAIN);
    total += countRun(m[0]);
    pos = m.index + m[0].length;
    m = LONG_RUN.exec(text);
  }
  if (pos < text.length) total += bpeCount(text.slice(pos), PLAIN);
  return total;
}

/** Chat framing tokens per message (role marker, separators), as OpenAI-style templates use. */
export const TOKENS_PER_MESSAGE = 4;
/** Tokens that prime the assistant's reply. */
export const REPLY_PRIMING_TOKENS = 3;

/** Tokens of a list of chat messages including the chat framing. */
export function countMessageTokens(messages: readonly ChatMessage[]): number {
  let n = REPLY_PRIMING_TOKENS;
  for (const m of messages) n += TOKENS_PER_MESSAGE + countTokens(m.role) + countTokens(m.content);
  return n;
}

/**
 * Length of the longest prefix of a short text (at most a few RUN_SLICE) that fits in
 * `maxTokens`, cut at a token boundary where possible: encode, keep the first tokens, and
 * check that they decode to a clean prefix (a cut inside a multi-byte character does not).
 * Falls back to a character-level binary search (lone surrogates, which do not round-trip).
 * Returns 0 when not even the first character fits.
 */
export function tokenPrefixLength(text: string, maxTokens: number): number {
  if (maxTokens <= 0 || text.length === 0) return 0;
  const tokens = bpeEncode(text, PLAIN);
  if (tokens.length <= maxTokens && countTokens(text) <= maxTokens) return text.length;
  for (let j = Math.min(maxTokens, tokens.length); j >= 1 && j > maxTokens - 4; j--) {
    const prefix = bpeDecode(tokens.slice(0, j));
    if (prefix.length > 0 && prefix.length < text.length && text.startsWith(prefix) && countTokens(prefix) <= maxTokens) {
      return prefix.length;
    }
  }
  // Character-level fallback: the largest length whose count fits.
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (countTokens(text.slice(0, mid)) <= maxTokens) lo = mid;
    else hi = mid - 1;
  }
  if (lo > 0 && lo < text.length && isLowSurrogate(text.charCodeAt(lo)) && isHighSurrogate(text.charCodeAt(lo - 1))) lo--;
  return lo;
}
