import { describe, expect, it } from 'vitest';
import {
  normalizeEn, postProcess, pySplit, pyStrip, scoreChoice, scoreCodeDebug, scoreDialogue, scoreDigits, scoreKv,
  scoreMathFind, scoreOne, scoreQaEn, scoreQaZh, scoreReply, scoreSummary,
} from '../../shared/eval/infinitebench-score.ts';

describe('Python string semantics', () => {
  it('split and strip on what str.isspace() accepts, not on JavaScript \\s', () => {
    expect(pySplit('a\x1fb\x85c\u3000d')).toEqual(['a', 'b', 'c', 'd']);
    expect(pySplit('a\ufeffb')).toEqual(['a\ufeffb']);
    expect(pyStrip('\x1c x \x85')).toBe('x');
    expect(pyStrip('\ufeffx')).toBe('\ufeffx');
  });
});

describe('retrieval scorers', () => {
  it('passkey / number_string: the gold equals one whole ASCII digit run', () => {
    expect(scoreDigits('The pass key is 71432.', ['71432'])).toBe(1);
    expect(scoreDigits('key-71432-x', ['71432'])).toBe(1);
    expect(scoreDigits('The pass key is 714320.', ['71432'])).toBe(0);
    expect(scoreDigits('7 1432', ['71432'])).toBe(0);
    expect(scoreDigits('The sequence of digits is 3000077442.', ['3000077442'])).toBe(1);
    expect(scoreDigits('300007744', ['3000077442'])).toBe(0);
  });
  it('kv_retrieval: the gold is one word after blanking \\n : " \' . , ? ! { } (hyphens stay)', () => {
    const v = '5e6b7b90-710d-4953-9b18-3e96b2cadbf2';
    expect(scoreKv(`The value is "${v}".`, [v])).toBe(1);
    expect(scoreKv(`{key:${v}}`, v)).toBe(1);
    expect(scoreKv(`${v}-extra`, [v])).toBe(0);
    expect(scoreKv(`value/${v}`, [v])).toBe(0);
    expect(scoreKv(v.slice(0, 20), [v])).toBe(0);
  });
});

describe('math_find', () => {
  it('compares the first number with the label', () => {
    expect(scoreMathFind('The largest number is 88, not 90.', [88])).toBe(1);
    expect(scoreMathFind('90 or 88', [88])).toBe(0);
    expect(scoreMathFind('It is 007.', [7])).toBe(1);
    expect(scoreMathFind('3.5 and 4', [3.5])).toBe(1);
    expect(scoreMathFind('3.50', [3.5])).toBe(1);
    expect(scoreMathFind('no number here', [1])).toBe(0);
  });
  it('ignores signs, as upstream did', () => {
    expect(scoreMathFind('-88', [-88])).toBe(0);
    expect(scoreMathFind('-88', [88])).toBe(1);
  });
  it('reads any Unicode decimal digits, as Python\'s \\d and int() do', () => {
    expect(scoreMathFind('\u0668\u0668', [88])).toBe(1); // Arabic-Indic 88
    expect(scoreMathFind('\u{1D7D7}', [9])).toBe(1); // mathematical bold 9
  });
  it('compares an integer label with a fractional reading numerically instead of crashing', () => {
    expect(scoreMathFind('88.0', [88])).toBe(1);
    expect(scoreMathFind('88.5', [88])).toBe(0);
  });
  it('compares large integers exactly', () => {
    expect(scoreMathFind('12345678901234567891', ['12345678901234567891'])).toBe(1);
    expect(scoreMathFind('12345678901234567890', ['12345678901234567891'])).toBe(0);
  });
});

describe('code_debug', () => {
  const label = ['Configer._set_option', 'C'];
  it('takes the last standalone A-J letter of the first line that has one', () => {
    expect(scoreCodeDebug('answer: C. Configer._set_option', label)).toBe(1);
    expect(scoreCodeDebug('answer: D. Application.parse', label)).toBe(0);
    expect(scoreCodeDebug('B is wrong\nso it is C', label)).toBe(0);
  });
  it('lets "." cross a carriage return, as Python\'s does', () => {
    expect(scoreCodeDebug('B is wrong\rso it is C', label)).toBe(1);
  });
  it('uses Unicode word boundaries (é is a word character)', () => {
    expect(scoreCodeDebug('x C yéB', label)).toBe(1);
  });
  it('falls back to the start of the text, then to the text after an answer prefix', () => {
    expect(scoreCodeDebug('Configer._set_option has the bug', label)).toBe(1);
    // The back-tick turns into a leading space after stripping, so the name no longer starts the text.
    expect(scoreCodeDebug('`Configer._set_option` has the bug', label)).toBe(0);
    expect(scoreCodeDebug('The buggy one is: Configer._set_option', label)).toBe(1);
    expect(scoreCodeDebug('The function is Configer._set_option', label)).toBe(0);
    expect(scoreCodeDebug('My answer is:  Cfoo', ['zzz', 'C'])).toBe(1);
    expect(scoreCodeDebug('It is:', ['zzz', 'C'])).toBe(0);
  });
});

describe('longbook_choice_eng', () => {
  const label = ['Walking Georgie', 'A'];
  it('accepts the letter or the option text', () => {
    expect(scoreChoice('answer: A. Walking Georgie', label)).toBe(1);
    expect(scoreChoice('answer: B', label)).toBe(0);
    expect(scoreChoice('Walking Georgie', label)).toBe(1);
    expect(scoreChoice('Hmm\n\nA', label)).toBe(1);
    expect(scoreChoice('', label)).toBe(0);
  });
  it('reads the text after an answer phrase, skipping one character', () => {
    expect(scoreChoice("I'd say the answer is Walking Georgie", label)).toBe(1);
    expect(scoreChoice('my answer is walking georgie', label)).toBe(0);
  });
  it('falls back to the first word that is part of "ABCD"', () => {
    expect(scoreChoice('go with (B) or AB', ['x', 'AB'])).toBe(1);
    expect(scoreChoice('probably (B)', label)).toBe(0);
  });
});

describe('longdialogue_qa_eng', () => {
  it('looks for any alias, case-insensitively, anywhere in the reply', () => {
    expect(scoreDialogue('I think it is john.', ['JOHN', 'Johnny'])).toBe(1);
    expect(scoreDialogue('Jon', ['JOHN'])).toBe(0);
  });
});

describe('longbook_qa_eng (SQuAD F1)', () => {
  it('normalises case, punctuation, articles and spaces', () => {
    expect(normalizeEn('The  Cat, sat!  an apple')).toBe('cat sat apple');
  });
  it('keeps an article glued to a non-ASCII letter, as Python\'s Unicode \\b does', () => {
    expect(normalizeEn('éthe')).toBe('éthe');
    expect(scoreQaEn('éthe', ['é'])).toBe(0);
  });
  it('scores bag-of-words F1 and keeps the best gold answer', () => {
    expect(scoreQaEn('The Cat, sat!', ['a cat sat down'])).toBeCloseTo(0.8, 12);
    expect(scoreQaEn('cat cat', ['cat'])).toBeCloseTo(2 / 3, 12);
    expect(scoreQaEn('Paris', ['London', 'paris'])).toBe(1);
    expect(scoreQaEn('the', ['the'])).toBe(0);
  });
});

describe('longbook_qa_chn (character F1)', () => {
  it('drops CJK and ASCII punctuation and white space, then compares characters', () => {
    expect(scoreQaZh('北京。是 首都', ['北京是中国的首都'])).toBeCloseTo(10 / 13, 12);
    expect(scoreQaZh('「北京」', ['北京'])).toBe(1);
    // "《" is not in upstream's punctuation list while "》" is.
    expect(scoreQaZh('《北京》', ['北京'])).toBeCloseTo(0.8, 12);
  });
});

describe('longbook_sum_eng', () => {
  it('is ROUGE-Lsum F against the best reference', () => {
    expect(scoreSummary('The cat sat.\nOn the mat', ['a dog', 'the cat sat on the mat'])).toBe(1);
    expect(scoreSummary('b a\na', 'a b')).toBeCloseTo(0.4, 12);
  });
});

describe('post-processing', () => {
  it('keeps what follows the last Answer: marker and prefixes choice tasks', () => {
    expect(postProcess('longbook_choice_eng', 'Rationale: blah\n\nAnswer: A. Walking Georgie')).toBe('answer: A. Walking Georgie');
    expect(postProcess('code_debug', 'Answer: A\nRationale: no\nAnswer: B')).toBe('answer: B');
  });
  it('strips the white space after the marker instead of dropping one character', () => {
    expect(postProcess('longbook_choice_eng', 'Answer:B. Walking')).toBe('answer: B. Walking');
    expect(postProcess('longbook_choice_eng', 'Answer:\n\n  C')).toBe('answer: C');
    expect(postProcess('longbook_qa_eng', 'Answer:Paris')).toBe('Paris');
    // Upstream would have scored "answer: " here and missed the A.
    expect(scoreReply('longbook_choice_eng', 'Answer:A', ['Walking Georgie', 'A'])).toBe(1);
  });
  it('cuts free-text answers before the confidence header, English or Chinese', () => {
    expect(postProcess('longbook_qa_eng', 'Rationale: r\nAnswer: Paris\nConfidence Score: 5')).toBe('Paris');
    expect(postProcess('longbook_qa_chn', '分析：…\n答案：北京\n置信度分数：4')).toBe('北京');
  });
  it('leaves the reply alone when the marker ends it', () => {
    expect(postProcess('longbook_qa_eng', 'I do not know. Answer:')).toBe('I do not know. Answer:');
    expect(postProcess('code_debug', 'blah Answer:  \n')).toBe('blah Answer:  \n');
  });
  it('treats a reply without a marker as all answer', () => {
    expect(postProcess('code_debug', '  C ')).toBe('answer: C');
    expect(postProcess('longdialogue_qa_eng', 'JOHN\nConfidence Score: 4')).toBe('JOHN');
  });
  it('passes retrieval and math replies through untouched', () => {
    expect(postProcess('passkey', 'Answer:12345')).toBe('Answer:12345');
    expect(postProcess('math_find', ' 88 ')).toBe(' 88 ');
  });
});

describe('scoreOne', () => {
  it('dispatches by task', () => {
    expect(scoreOne('passkey', 'it is 12345', ['12345'])).toBe(1);
    expect(scoreOne('kv_retrieval', 'it is 12345', ['12345'])).toBe(1);
    expect(scoreOne('math_find', 'it is 12345', [12345])).toBe(1);
    expect(scoreOne('longdialogue_qa_eng', 'it is 12345', ['345'])).toBe(1);
    expect(scoreOne('longbook_qa_eng', 'it is 12345', ['12345'])).toBeCloseTo(0.5, 12);
  });
});
