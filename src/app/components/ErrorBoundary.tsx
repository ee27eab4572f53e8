import { Component, type ReactNode } from 'react';

/** A render failure becomes a message with a way out, never a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { message: string | null }> {
  override state = { message: null as string | null };

  static getDerivedStateFromError(error: unknown) {
    return { message: error instanceof Error ? error.message : String(error) };
  }

  override componentDidUpdate(): void {
    if (this.state.message) document.body.dataset.editState = 'error';
  }

  override render() {
    if (!this.state.message) return this.props.children;
    return (
      <main className="app crashed">
        <div className="message error" role="alert">
          <p data-testid="error">
            The editor hit a problem it could not recover from ({this.state.message}). Your history is saved;
            reload the page to continue.
          </p>
          <button type="button" onClick={() => location.reload()}>
            Reload
          </button>
        </div>
      </main>
    );
  }
}
