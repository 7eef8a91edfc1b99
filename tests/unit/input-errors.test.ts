/**
 * V2 input errors name the problem: the field, as a path into the record, what was expected and
 * what was found; the CLI adds the line of the file. The coordinator and the CLI share the
 * preparation, so a job on the bus fails with the same words.
 */
import { describe, expect, it } from 'vitest';
import { V2InputError, parseInputText, prepareInput } from '../../shared/protocol/v2-input.ts';
import { checkV2Record } from '../../shared/client/specs.ts';
import { kindOf, pathText } from '../../shared/protocol/issues.ts';
import { pickLine } from '../../cli/commands/survey.ts';

const good = (title: string) => ({ title, txt: `${title} body text.` });

describe('V2 input errors', () => {
  it('a record that is a JSON array says "found an array, expected an object"', () => {
    expect(() => prepareInput([good('a'), good('b')])).toThrow(V2InputError);
    expect(() => prepareInput([good('a')])).toThrow(/^the record is not a survey: found an array, expected an object \{"title": \.\.\., "papers": \[/);
    expect(() => prepareInput('a survey')).toThrow(/found text, expected an object/);
    expect(() => prepareInput(null)).toThrow(/found null, expected an object/);
  });

  it('a paper whose txt is a number is skipped with its field and what was found', () => {
    const r = prepareInput({ title: 'T', papers: [good('a'), good('b'), good('c'), good('d'), { title: 'e', txt: 42 }] });
    expect(r.papers).toHaveLength(4);
    expect(r.skipped).toEqual([{ index: 4, title: 'e', reason: 'papers[4].txt: expected text, found a number' }]);
  });

  it('papers nested in an extra array say so, for each nested list', () => {
    const r = prepareInput({ title: 'T', papers: [[good('a'), good('b')], good('c')] });
    expect(r.skipped[0].reason).toBe('papers[0]: found an array, expected an object {"title": ..., "txt": ...} (are the papers nested in an extra array?)');
    expect(() => checkV2Record({ title: 'T', papers: [[good('a'), good('b')]] })).toThrow(
      /^the record has no paper with text: nothing to survey \(papers\[0\]: found an array, expected an object .*nested in an extra array\?\)\)$/,
    );
  });

  it('record fields and paper fields of the wrong type, and missing ones, are named', () => {
    expect(() => prepareInput({ title: 7, papers: [] })).toThrow(/^the input record is invalid: title: expected text, found a number$/);
    expect(() => prepareInput({ title: 'T', papers: { a: good('a') } })).toThrow(/papers: expected an array, found an object/);
    expect(() => prepareInput({ papers: [] })).toThrow(/title: missing \(expected text\)/);
    const r = prepareInput({ title: 'T', papers: [{ txt: 'no title' }, { title: 'x', txt: 'y', authors: 5 }, 'just text', good('ok')] });
    expect(r.skipped.map((s) => s.reason)).toEqual([
      'papers[0].title: missing (expected text)',
      'papers[1].authors: expected an array or text, found a number',
      'papers[2]: expected an object {"title": ..., "txt": ...}, found text',
    ]);
  });

  it('a JSON syntax error gives its line and column', () => {
    expect(() => parseInputText('{\n  "title": "T",\n  "papers": [1 2]\n}')).toThrow(/^the input is not valid JSON at line 3, column 16: Expected ',' or ']'/);
  });

  it('the CLI says the same with the line of the file, and notes each skipped paper', () => {
    const lines = [JSON.stringify({ title: 'a' }), JSON.stringify({ title: 'b' }), JSON.stringify([good('a'), good('b')])].join('\n');
    expect(() => pickLine(lines, 3, 'in.jsonl')).toThrow(/^line 3 of in\.jsonl: the record is not a survey: found an array, expected an object/);
    const notes: string[] = [];
    const rec = { title: 'T', papers: [good('a'), good('b'), good('c'), good('d'), { title: 'e', txt: 42 }] };
    pickLine(`{}\n{}\n${JSON.stringify(rec)}`, 3, 'in.jsonl', (s) => notes.push(s));
    expect(notes).toEqual(['note: line 3 of in.jsonl, papers[4].txt: expected text, found a number; the paper is skipped']);
  });

  it('paths and kinds read as a person writes them', () => {
    expect(pathText(['papers', 4, 'txt'])).toBe('papers[4].txt');
    expect(pathText([])).toBe('');
    expect([1, 'x', [], {}, null, true, undefined].map(kindOf)).toEqual(['a number', 'text', 'an array', 'an object', 'null', 'true/false', 'nothing']);
  });
});
