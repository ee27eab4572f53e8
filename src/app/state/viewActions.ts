/** Small UI state: the instruction text, the stage view, overlay and brush settings, messages. */
import type { AppSettings } from '../lib/settings';
import type { GetState, SetState, StoreDeps } from './store';
import type { StageView } from '../lib/types';

export function viewActions(set: SetState, get: GetState, _deps: StoreDeps) {
  return {
    setInstruction(instruction: string): void {
      set({ instruction });
    },
    setView(view: StageView): void {
      set({ view });
    },
    setOverlay(patch: Partial<AppSettings['overlay']>): void {
      const s = get().settings;
      set({ settings: { ...s, overlay: { ...s.overlay, ...patch } } });
    },
    setBrush(patch: Partial<AppSettings['brush']>): void {
      const s = get().settings;
      set({ settings: { ...s, brush: { ...s.brush, ...patch } } });
    },
    maskChanged(): void {
      set({ maskVersion: get().maskVersion + 1 });
    },
    dismissError(): void {
      set({ error: null });
    },
    dismissNotice(): void {
      set({ notice: null });
    },
  };
}
