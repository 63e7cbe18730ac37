import type { FastifyInstance } from 'fastify'
import type { Services } from '../jobs/services.js'
import { oneOfNoneDoor } from './oneofnone/oneofnone-door.js'
import { dynamicDoor } from './dynamic/dynamic-door.js'
import { returningDoor } from './returning/returning-door.js'
import { veltDoor } from './velt/velt-door.js'
import { scimDoor } from './scim/scim-door.js'

export type { Door, DoorLimits } from './door.js'
import type { Door, DoorLimits } from './door.js'

export interface DoorEntry {
  /** Base URL a client of the vendor points at. */
  prefix: string
  door: Door
}

/** The registered doors. Each door adds its one line here. */
export const DOORS: DoorEntry[] = [
  { prefix: '/oneofnone', door: oneOfNoneDoor },
  { prefix: '/dynamic/api/v0', door: dynamicDoor },
  { prefix: '/returning', door: returningDoor },
  { prefix: '/velt', door: veltDoor },
  { prefix: '/scim/v2', door: scimDoor },
]

export async function registerDoors(app: FastifyInstance, services: Services, limits: DoorLimits): Promise<void> {
  for (const { prefix, door } of DOORS) await app.register(door(services, limits), { prefix })
}
