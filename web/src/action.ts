import { useCallback, useState } from 'react'

export interface Action {
  /** Runs `fn`: clears the last error, marks the action busy, keeps what it throws. True when it succeeded. */
  run: (fn: () => Promise<unknown>) => Promise<boolean>
  error: unknown
  busy: boolean
}

/** The state of one thing a person does on a screen (a form's submit, a button): its error and whether it runs. */
export function useAction(): Action {
  const [state, setState] = useState<{ error: unknown; busy: boolean }>({ error: null, busy: false })
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setState({ error: null, busy: true })
    try {
      await fn()
      setState({ error: null, busy: false })
      return true
    } catch (error) {
      setState({ error, busy: false })
      return false
    }
  }, [])
  return { run, ...state }
}
