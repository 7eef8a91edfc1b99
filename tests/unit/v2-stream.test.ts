/** The streaming reader of V2 input records (shared/protocol/v2-stream.ts). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RecordScanner, type RecordEvent } from '../../shared/protocol/v2-stream.ts';
import { feedInPieces } from '../helpers/pieces.ts';

/** Feed `text` in pieces of the given sizes (cycled); returns every event. */
const scan = (text: string, sizes: number[]): RecordEvent[] => feedInPieces(text, sizes, new RecordScanner());

const paperArb = fc.oneof(
  fc.record({ title: fc.string(), txt: fc.string({ unit: 'binary' }), year: fc.oneof(fc.integer(), fc.constant(null)), authors: fc.array(fc.string(), { maxLength: 3 }) }),
  fc.jsonValue(),
);

describe('RecordScanner', () => {
  it('yields each field and each paper as JSON.parse reads them, whatever the pieces', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(paperArb, { maxLength: 12 }), fc.dictionary(fc.string().filter((k) => k !== 'papers' && k !== 'title' && k !== '__proto__'), fc.jsonValue(), { maxKeys: 3 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }), fc.boolean(), (title, papers, extra, sizes, pretty) => {
        const record = { title, ...extra, papers };
        const text = pretty ? JSON.stringify(record, null, 2) : JSON.stringify(record);
        const events = scan(text, sizes);
        const parsed = JSON.parse(text) as typeof record;
        expect(events.filter((e) => e.kind === 'paper').map((e) => e.value)).toEqual(parsed.papers);
        const fields = Object.fromEntries(events.flatMap((e) => (e.kind === 'field' ? [[e.key, e.value]] : [])));
        expect(fields).toEqual(Object.fromEntries(Object.entries(parsed).filter(([k]) => k !== 'papers')));
      }),
      { numRuns: 200 },
    );
  });

  it('reads a record whose papers array comes first and whose values hold brackets, quotes and escapes', () => {
    const rec = '{"papers":[{"title":"a ]} \\" [{","txt":"x\\\\"},{"title":"b","txt":"\\u00e9"}],"title":"T","n":-1.5e3,"ok":true}';
    const events = scan(rec, [3]);
    expect(events).toEqual([
      { kind: 'paper', index: 0, value: { title: 'a ]} " [{', txt: 'x\\' } },
      { kind: 'paper', index: 1, value: { title: 'b', txt: 'é' } },
      { kind: 'field', key: 'title', value: 'T' },
      { kind: 'field', key: 'n', value: -1500 },
      { kind: 'field', key: 'ok', value: true },
    ]);
  });

  it('names what is wrong: an array, two records, a truncated record, a bad value', () => {
    expect(() => scan('[{"title":"T"}]', [5])).toThrow(/found an array, expected one object/);
    expect(() => scan('{"title":"T","papers":[]}\n{"title":"U","papers":[]}\n', [7])).toThrow(/more than one record; submit one survey/);
    expect(() => scan('{"title":"T","papers":[{"title":"a"', [4])).toThrow(/ends before the record is complete/);
    expect(() => scan('{"title":"T","papers":[{"title":nope}]}', [4])).toThrow(/not valid JSON near character \d+/);
    expect(() => scan('   ', [1])).toThrow(/the input is empty/);
  });
});
