/** One phase per case kind: the registry (bench/cases.ts) names the kind, this table runs it. */
import type { BenchCase, CaseKind } from '../cases';
import type { BenchContext } from './context';
import { browserEdit, engineOverhead, fullsizeStep, nodeEdit } from './edits';
import { pythonMeasures, referenceRounds } from './python';
import { compositePsnrPhase, shapesEval } from './quality';

export type Phase = (c: BenchCase, ctx: BenchContext) => Promise<void>;

export const PHASES: { readonly [K in CaseKind]: Phase } = {
  'python-measures': pythonMeasures,
  'node-edit': nodeEdit,
  'reference-rounds': referenceRounds,
  'browser-edit': browserEdit,
  'fullsize-step': fullsizeStep,
  'engine-overhead': engineOverhead,
  'composite-psnr': compositePsnrPhase,
  'shapes-eval': shapesEval,
};
