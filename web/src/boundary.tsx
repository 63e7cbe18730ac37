import { Component, type ErrorInfo, type ReactNode } from 'react'

/** A screen that throws while rendering shows what went wrong instead of a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state: { error: Error | null } = { error: null }

  static getDerivedStateFromError(error: Error) {
    return { error }
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error(error, info.componentStack)
  }

  render() {
    if (!this.state.error) return this.props.children
    return (
      <section role="alert" className="error">
        <h1>This screen failed</h1>
        <p>{this.state.error.message}</p>
        <p>
          <a href="/">Back to the directories</a>
        </p>
      </section>
    )
  }
}
