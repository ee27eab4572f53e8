import { useEffect } from 'react';
import { useImageInput } from './hooks/useImageInput';
import { useShortcuts } from './hooks/useShortcuts';
import { deriveEditState } from './lib/derive';
import { useActions, useApp } from './state/context';
import { AttentionControls } from './components/AttentionControls';
import { DomainNotice } from './components/DomainNotice';
import { ForeignModelPrompt } from './components/ForeignModelPrompt';
import { HistoryPanel } from './components/HistoryPanel';
import { ImagePicker } from './components/ImagePicker';
import { InstructionBox } from './components/InstructionBox';
import { MessageBar } from './components/MessageBar';
import { ModelPanel } from './components/ModelPanel';
import { ResultActions } from './components/ResultActions';
import { RunControls } from './components/RunControls';
import { SettingsPanel } from './components/SettingsPanel';
import { Stage } from './components/Stage';
import { StatusBadges } from './components/StatusBadges';
import { StepScrubber } from './components/StepScrubber';
import { ViewTabs } from './components/ViewTabs';
import { WordChips } from './components/WordChips';

/** Keeps <body data-edit-state> in step with the store (the tests' contract). */
function useEditStateAttribute(): void {
  const state = useApp(deriveEditState);
  useEffect(() => {
    document.body.dataset.editState = state;
  }, [state]);
}

export function App() {
  const actions = useActions();
  useEffect(() => {
    void actions.start();
  }, [actions]);
  useEditStateAttribute();
  useShortcuts(actions);
  const dragging = useImageInput(actions);
  return (
    <div className="app">
      <header className="topbar">
        <h1>EditMGT</h1>
        <StatusBadges />
      </header>
      <MessageBar />
      <ForeignModelPrompt />
      <main className="workspace">
        <aside className="sidebar left" aria-label="Edit">
          <section className="panel">
            <ImagePicker />
            <InstructionBox />
            <RunControls />
          </section>
          <SettingsPanel />
        </aside>
        <div className="center">
          <div className="toolbar">
            <ViewTabs />
            <AttentionControls />
          </div>
          <DomainNotice />
          <Stage dragging={dragging} />
          <StepScrubber />
          <WordChips />
          <ResultActions />
        </div>
        <aside className="sidebar right" aria-label="History and model">
          <HistoryPanel />
          <ModelPanel />
        </aside>
      </main>
    </div>
  );
}
