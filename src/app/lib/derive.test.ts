import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../protocol/messages';
import { deriveEditState, missingForRun, runMatchesEntry, shownFrame, type DeriveInput } from './derive';
import { emptyHistory, type History } from './history';
import type { HistoryEntry, RunState, StepFrame } from './types';
import { fallbackEditOptions } from '../../engine/index';

const image = { id: 'img', name: 'photo.jpg', width: 4, height: 3, blob: new Blob() };
const entry = (result = false): HistoryEntry => ({
  id: result ? 'e2' : 'e1',
  createdAt: 0,
  kind: result ? 'edit' : 'open',
  label: 'photo.jpg',
  input: image,
  result: result ? { ...image, id: 'out' } : null,
  instruction: null,
  settings: null,
  thumb: '',
});
const withEntry = (e: HistoryEntry): History<HistoryEntry> => ({ entries: [e], cursor: 0 });
const model = { name: 'tiny-random' } as ModelInfo;
const base: DeriveInput = {
  error: null,
  run: null,
  modelStatus: 'none',
  history: emptyHistory(),
  model: null,
};
const run = (status: RunState['status'], frames: Partial<StepFrame>[] = []): RunState => ({
  status,
  instruction: 'x',
  settings: { ...fallbackEditOptions(), steps: 2 },
  inputId: 'img',
  entryId: status === 'done' ? 'e2' : null,
  frames: frames as StepFrame[],
  startedAt: 0,
  ms: null,
  warnings: [],
});

describe('deriveEditState', () => {
  it('follows the contract states in priority order', () => {
    expect(deriveEditState(base)).toBe('idle');
    expect(deriveEditState({ ...base, modelStatus: 'loading' })).toBe('loading-model');
    expect(deriveEditState({ ...base, modelStatus: 'ready', model })).toBe('ready');
    expect(deriveEditState({ ...base, modelStatus: 'ready', model, history: withEntry(entry(true)) })).toBe(
      'done',
    );
    expect(deriveEditState({ ...base, modelStatus: 'ready', model, run: run('running') })).toBe('running');
    expect(
      deriveEditState({
        ...base,
        modelStatus: 'ready',
        run: run('running'),
        error: { source: 'image', message: 'bad' },
      }),
    ).toBe('error');
  });
});

describe('missingForRun', () => {
  const ready = {
    ...base,
    modelStatus: 'ready' as const,
    model,
    instruction: 'make it red',
    loadPercent: null,
  };
  it('says what is missing', () => {
    expect(missingForRun({ ...ready, history: emptyHistory() })).toMatch(/^Add an image first/);
    expect(missingForRun({ ...ready, history: withEntry(entry()), instruction: '  ' })).toMatch(
      /^Type what to change/,
    );
    expect(
      missingForRun({
        ...ready,
        history: withEntry(entry()),
        modelStatus: 'loading',
        model: null,
        loadPercent: 42.4,
      }),
    ).toMatch(/still loading \(42%\)/);
    expect(
      missingForRun({ ...ready, history: withEntry(entry()), modelStatus: 'failed', model: null }),
    ).toMatch(/no model is loaded/);
    expect(missingForRun({ ...ready, modelStatus: 'none', model: null })).toMatch(
      /add an image .* and no model is loaded/,
    );
    expect(missingForRun({ ...ready, history: withEntry(entry()) })).toBeNull();
  });
  it('refuses an instruction of only invisible characters, and takes one with a visible letter', () => {
    const h = withEntry(entry());
    for (const invisible of [
      '\u200b\u200b\u200b',
      '\u200c\u200d\u2060',
      ' \ufeff\u200b\n',
      '\u00ad\u034f\ufe0f',
    ]) {
      expect(missingForRun({ ...ready, history: h, instruction: invisible })).toMatch(
        /only invisible characters/,
      );
    }
    expect(missingForRun({ ...ready, history: h, instruction: '\u200bred\u200b' })).toBeNull();
    expect(missingForRun({ ...ready, history: h, instruction: 'rouge 🟥' })).toBeNull();
  });
});

describe('shownFrame and runMatchesEntry', () => {
  it('shows the scrubbed frame, else the latest, clamped', () => {
    const r = run('done', [{ step: 0 }, { step: 1 }]);
    expect(shownFrame(null, null)).toBeNull();
    expect(shownFrame(r, null)?.step).toBe(1);
    expect(shownFrame(r, 0)?.step).toBe(0);
    expect(shownFrame(r, 9)?.step).toBe(1);
    expect(shownFrame(r, -1)?.step).toBe(0);
  });

  it('ties a running run to its input and a finished one to its entry', () => {
    expect(runMatchesEntry(run('running'), entry())).toBe(true);
    expect(runMatchesEntry(run('done'), entry(true))).toBe(true);
    expect(runMatchesEntry(run('done'), entry())).toBe(false);
    expect(runMatchesEntry(run('cancelled'), entry())).toBe(false);
  });
});
