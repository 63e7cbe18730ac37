/**
 * Versioned, forward-only migrations. Each has the SQL for both engines; the runner applies
 * the pending ones in order, each in its own transaction together with its row in
 * `schema_migrations`, under a lock so that concurrent starts are safe (the loser waits and
 * then finds nothing to do). Never edit a migration that has shipped: add the next one.
 */
export interface Migration {
  version: number
  name: string
  sqlite: string
  postgres: string
}
