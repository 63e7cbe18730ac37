export type { Migration } from './migration.js'
import type { Migration } from './migration.js'
import { m001 } from './001-init.js'
import { m002 } from './002-jobs.js'
import { m003 } from './003-hardening.js'
import { m004 } from './004-result-batches.js'

export const MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004]
