import { as } from './as.js';
import { bms } from './bms.js';
import { ddm } from './ddm.js';
import { modelarts } from './modelarts.js';
import { mrs } from './mrs.js';
import type { ResourceType, ServiceProfile } from './profile.js';

/** Every service tagplane serves. A new service is one more profile file added here. */
export const PROFILES: readonly ServiceProfile[] = [modelarts, bms, ddm, as, mrs];

const byType = new Map(PROFILES.map((p) => [p.resourceType, p]));

export function profileForType(type: ResourceType): ServiceProfile {
  const p = byType.get(type);
  if (!p) throw new Error(`no service profile for resource type ${type}`);
  return p;
}
