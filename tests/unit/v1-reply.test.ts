/**
 * V1 replies: each prompt describes exactly the JSON its reply schema accepts, the schema is as
 * tight as the input allows (option letters as an enum), `finalize` completes a reply into a
 * record, and `check` states the problems a schema cannot express.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { V1_PROFILES, type V1Profile } from '../../shared/protocol/schemas.ts';
import { collapseOp, mapOp, reduceOp, type V1Record } from '../../shared/ops/v1/index.ts';
import { REPLY_FIELDS, schemaFieldNames } from '../../shared/ops/v1/reply.ts';
import { evidencePieces, isQuotedFrom, foldForMatch } from '../../shared/ops/v1/checks.ts';

const env = { blobText: async () => '' };
const CHUNK =
  'The lighthouse keeper, Ottoline Marsh, lit the lamp at dusk every evening. In the winter of 1911 the lamp failed twice. ' +
  'The harbour board replaced the lens the following spring.';
const MC = 'Who lit the lamp?\nA. The harbour board\nB. Ottoline Marsh\nC. A fisherman\nD. Nobody';
const rec = (chunk: number, answer: string, evidence: string, confidence = 4): V1Record => ({
  chunks: [chunk],
  evidence,
  rationale: 'read in the excerpt',
  answer,
  confidence,
  irrelevant: false,
});

/** Every quoted field name a prompt mentions among the record's fields (and the two the model never fills). */
function namedFields(prompt: string): string[] {
  return [...REPLY_FIELDS, 'chunks', 'irrelevant'].filter((f) => prompt.includes(`"${f}"`));
}

async function userPrompt(step: 'map' | 'collapse' | 'reduce', profile: V1Profile, question: string): Promise<string> {
  if (step === 'map') return (await mapOp.prompt({ chunk: { index: 0, text: CHUNK }, question, profile }, env))[1].content;
  const input = { records: [rec(0, 'Ottoline Marsh', 'The lighthouse keeper, Ottoline Marsh, lit the lamp')], question, profile };
  return ((step === 'collapse' ? await collapseOp.prompt(input, env) : await reduceOp.prompt(input, env)))[1].content;
}

function replySchema(step: 'map' | 'collapse' | 'reduce', profile: V1Profile, question: string): z.ZodType {
  const input = { chunk: { index: 0, text: CHUNK }, records: [], question, profile };
  const op = step === 'map' ? mapOp : step === 'collapse' ? collapseOp : reduceOp;
  return op.replySchema!(input as never);
}

describe('V1 prompts and reply schemas', () => {
  it('each profile and step names in its prompt exactly the fields of its reply schema', async () => {
    for (const profile of V1_PROFILES) {
      for (const step of ['map', 'collapse', 'reduce'] as const) {
        const question = profile === 'mc' ? MC : 'Who lit the lamp?';
        const fields = schemaFieldNames(replySchema(step, profile, question));
        expect(fields.length, `${profile} ${step}`).toBeGreaterThan(0);
        expect(namedFields(await userPrompt(step, profile, question)).sort(), `${profile} ${step}`).toEqual([...fields].sort());
      }
    }
  });

  it('never ask the model for the chunk numbers or the irrelevant flag', () => {
    for (const profile of V1_PROFILES) {
      for (const step of ['map', 'collapse', 'reduce'] as const) {
        const fields = schemaFieldNames(replySchema(step, profile, 'q?'));
        expect(fields).not.toContain('chunks');
        expect(fields).not.toContain('irrelevant');
      }
    }
  });

  it('ask a summary for its text alone: no evidence, score or relevance to fill', () => {
    for (const step of ['map', 'collapse', 'reduce'] as const) expect(schemaFieldNames(replySchema(step, 'sum', 'Summarize the book.'))).toEqual(['answer']);
  });

  it('restrict a multiple-choice answer to the option letters (and the marker before the reduce)', () => {
    const prop = (step: 'map' | 'collapse' | 'reduce') =>
      (z.toJSONSchema(replySchema(step, 'mc', MC), { io: 'input' }) as { properties: Record<string, { enum?: string[] }> }).properties.answer;
    expect(prop('map').enum).toEqual(['A', 'B', 'C', 'D', '[NO INFORMATION]']);
    expect(prop('collapse').enum).toEqual(['A', 'B', 'C', 'D', '[NO INFORMATION]']);
    expect(prop('reduce').enum).toEqual(['A', 'B', 'C', 'D']);
    expect(replySchema('reduce', 'mc', MC).safeParse({ rationale: 'r', answer: 'E', confidence: 3 }).success).toBe(false);
    expect(replySchema('reduce', 'mc', MC).safeParse({ rationale: 'r', answer: 'B', confidence: 3 }).success).toBe(true);
  });

  it('keep the answer free text when a multiple-choice question offers no lettered options', () => {
    const js = z.toJSONSchema(replySchema('map', 'mc', 'Who lit the lamp?'), { io: 'input' }) as { properties: Record<string, { enum?: unknown }> };
    expect(js.properties.answer.enum).toBeUndefined();
  });

  it('bound the confidence to 0-5 in the schema', () => {
    const s = replySchema('map', 'qa', 'Who lit the lamp?');
    expect(s.safeParse({ evidence: '', rationale: '', answer: 'x', confidence: 7 }).success).toBe(false);
  });
});

describe('finalize completes a reply into a record', () => {
  const input = { chunk: { index: 6, text: CHUNK }, question: 'Who lit the lamp?', profile: 'qa' as const };

  it('sets the chunk from the input and a missing score to the default', () => {
    const out = mapOp.finalize!({ evidence: 'Ottoline Marsh, lit the lamp', rationale: 'stated', answer: 'Ottoline Marsh' } as V1Record, input);
    expect(out).toEqual({ chunks: [6], evidence: 'Ottoline Marsh, lit the lamp', rationale: 'stated', answer: 'Ottoline Marsh', confidence: 2.5, irrelevant: false });
  });

  it('marks an answer of [NO INFORMATION] irrelevant with confidence 0, whatever score the reply gave', () => {
    const out = mapOp.finalize!({ evidence: '', rationale: 'not here', answer: '[NO INFORMATION]', confidence: 4 } as V1Record, input);
    expect(out).toMatchObject({ irrelevant: true, confidence: 0, chunks: [6] });
  });

  it('keeps a summary relevant with the neutral summary score', () => {
    const out = mapOp.finalize!({ answer: 'A keeper tends a lighthouse.' } as V1Record, { ...input, profile: 'sum' });
    expect(out).toMatchObject({ irrelevant: false, confidence: 3, evidence: '', rationale: '' });
  });

  it('lowers a retrieval score of 5 to 4.5 when the answer is not in the chunk character for character', () => {
    const r = { ...input, profile: 'retrieval' as const };
    expect(mapOp.finalize!({ evidence: '', rationale: '', answer: 'Ottoline Marsh', confidence: 5 } as V1Record, r).confidence).toBe(5);
    expect(mapOp.finalize!({ evidence: '', rationale: '', answer: 'O. Marsh', confidence: 5 } as V1Record, r).confidence).toBe(4.5);
  });

  it('reduce cites the chunks of the records that agree with the answer', () => {
    const records = [rec(1, 'Ottoline Marsh', 'x', 5), rec(4, 'the harbour board', 'y', 2), rec(9, 'Marsh', 'z', 3)];
    const out = reduceOp.finalize!({ rationale: 'r', answer: 'Ottoline Marsh', confidence: 4 } as never, { records, question: 'Who?', profile: 'qa' });
    expect(out).toEqual({ answer: 'Ottoline Marsh', rationale: 'r', confidence: 4, chunks: [1, 9] });
  });

  it('reduce of a summary cites every record and takes their mean score', () => {
    const records = [rec(0, 'First part.', '', 3), rec(1, 'Second part.', '', 3)];
    const out = reduceOp.finalize!({ answer: 'The whole story.' } as never, { records, question: 'Summarize.', profile: 'sum' });
    expect(out).toMatchObject({ chunks: [0, 1], confidence: 3 });
    expect(out.rationale).toMatch(/0-1/);
  });
});

describe('check states what a schema cannot', () => {
  const input = { chunk: { index: 0, text: CHUNK }, question: 'Who lit the lamp?', profile: 'qa' as const };
  const reply = (o: Partial<V1Record>) => ({ evidence: '', rationale: 'stated in the text', answer: 'Ottoline Marsh', confidence: 5, ...o }) as V1Record;

  it('accepts evidence copied from the chunk, even with changed spacing, case or quotes', () => {
    expect(mapOp.check!(reply({ evidence: '"the lighthouse keeper,  Ottoline Marsh, lit the lamp at dusk" … "the lamp failed twice"' }), input)).toEqual([]);
  });

  it('flags evidence that is not in the chunk, quoting the passage', () => {
    const problems = mapOp.check!(reply({ evidence: 'Ottoline Marsh was appointed keeper by the admiralty in 1890.' }), input);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/"evidence" passage "Ottoline Marsh was appointed keeper/);
    expect(problems[0]).toMatch(/does not appear in the excerpt/);
  });

  it('does not ask for a repair of the evidence of an irrelevant record, nor of evidence that says there is none', () => {
    expect(mapOp.check!(reply({ evidence: 'The text is about the weather.', answer: '[NO INFORMATION]', confidence: 0 }), input)).toEqual([]);
    expect(mapOp.check!(reply({ evidence: 'None.' }), input)).toEqual([]);
  });

  it('flags collapse evidence that none of the records holds', () => {
    const records = [rec(0, 'Ottoline Marsh', 'The lighthouse keeper, Ottoline Marsh, lit the lamp')];
    const c = { records, question: 'Who lit the lamp?', profile: 'qa' as const };
    expect(collapseOp.check!(reply({ evidence: 'The lighthouse keeper, Ottoline Marsh, lit the lamp' }), c)).toEqual([]);
    expect(collapseOp.check!(reply({ evidence: 'A fisherman rowed out to light it on stormy nights.' }), c)[0]).toMatch(/the records' evidence/);
  });

  it('flags an empty answer', () => {
    expect(mapOp.check!(reply({ answer: '  ' }), input).join(' ')).toMatch(/"answer" is empty/);
    expect(reduceOp.check!({ answer: '', rationale: 'x', confidence: 3, chunks: [] }, { records: [], question: 'Who?', profile: 'qa' }).join(' ')).toMatch(
      /"answer" is empty/,
    );
  });

  it('flags a reply that repeats one sentence', () => {
    const loop = 'The keeper lit the lamp at dusk. '.repeat(5);
    expect(mapOp.check!(reply({ rationale: loop }), input).join(' ')).toMatch(/"rationale" field repeats "The keeper lit the lamp at dusk\." 5 times/);
  });

  it('flags an answer in a language that neither the question nor the text uses, and an English qa_zh answer', () => {
    expect(mapOp.check!(reply({ answer: '灯塔看守人奥托琳·马什' }), input).join(' ')).toMatch(/another language/);
    const zh = { chunk: { index: 0, text: '灯塔看守人马小兰每天黄昏点灯。' }, question: '谁每天黄昏点灯？', profile: 'qa_zh' as const };
    expect(mapOp.check!(reply({ answer: 'The keeper Ma Xiaolan lights it' }), zh).join(' ')).toMatch(/Simplified Chinese/);
    expect(mapOp.check!(reply({ answer: '马小兰', evidence: '灯塔看守人马小兰每天黄昏点灯' }), zh)).toEqual([]);
    const sum = { ...input, profile: 'sum' as const, question: 'Summarize the text.' };
    expect(mapOp.check!(reply({ answer: 'Le gardien du phare allume la lampe chaque soir, et la lentille fut remplacée au printemps.' }), sum).join(' ')).toMatch(
      /another language/,
    );
    expect(mapOp.check!(reply({ answer: 'The keeper lit the lamp every evening, and the lens was replaced in the spring.' }), sum)).toEqual([]);
  });

  it('flags a math answer without a number', () => {
    const m = { chunk: { index: 0, text: 'Values: 4, 19, 7.' }, question: 'What is the largest number?', profile: 'math' as const };
    expect(mapOp.check!(reply({ answer: 'the biggest one' }), m).join(' ')).toMatch(/holds no number/);
    expect(mapOp.check!(reply({ answer: '19' }), m)).toEqual([]);
    const none = { records: [], question: 'What is the largest number?', profile: 'math' as const };
    expect(reduceOp.check!({ answer: 'No number was found in the document.', rationale: 'no records', confidence: 0, chunks: [] }, none)).toEqual([]);
  });
});

describe('quote matching', () => {
  it('splits evidence into its passages', () => {
    expect(evidencePieces('"one passage" … "two passage" | three passage\nfour')).toEqual(['one passage', 'two passage', 'three passage', 'four']);
  });

  it('forgives a changed word in a long quote but not a paraphrase', () => {
    const src = foldForMatch(CHUNK);
    expect(isQuotedFrom('In the winter of 1911 the lamp failed two times', src)).toBe(true);
    expect(isQuotedFrom('During 1911 the light broke down on a pair of occasions', src)).toBe(false);
  });
});
