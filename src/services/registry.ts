/**
 * The service registry: every service tagplane serves, in canonical order. Resource types, the
 * service routes, the OpenAPI document, the admin API's and the seed's type lists, the demo
 * database and the cross-service API (`/v1.0/tms/providers` lists the services in this order)
 * all derive from this list.
 *
 * Adding a service:
 *   1. Write its profile, `services/<name>.ts`: `export const foo = defineService({ … })` with
 *      its resource type, routes, tag rules, limits, error table and permissions (see
 *      ServiceProfile in profile.ts). defineService checks it as the module loads, so a broken
 *      profile stops the server at start-up with a message naming the profile and the field.
 *   2. Add it to PROFILES below. checkRegistry then checks it against the others (ids, resource
 *      types, operationIds and endpoints used once).
 * Nothing else lists the services: no type list, route table or `if (service === …)` elsewhere.
 * Only prose counts them ("five services" in the OpenAPI description, the CLI's help and the
 * README), and the README describes each.
 */
import { as } from './as.js';
import { bms } from './bms.js';
import { ddm } from './ddm.js';
import { modelarts } from './modelarts.js';
import { mrs } from './mrs.js';
import type { ServiceProfile } from './profile.js';
import { checkRegistry } from './profile-check.js';
import { TMS_ROUTES, tms } from './tms.js';

export const PROFILES = checkRegistry(
  [modelarts, bms, ddm, as, mrs],
  [{ id: tms.id, routes: TMS_ROUTES }],
);

/** A resource type of one of the services. */
export type ResourceType = (typeof PROFILES)[number]['resourceType'];

/** Every resource type, in the registry's order. */
export const RESOURCE_TYPES: readonly ResourceType[] = PROFILES.map((p) => p.resourceType);

export function isResourceType(s: unknown): s is ResourceType {
  return typeof s === 'string' && (RESOURCE_TYPES as readonly string[]).includes(s);
}

const byType = new Map<string, ServiceProfile>(PROFILES.map((p) => [p.resourceType, p]));

export function profileForType(type: ResourceType): ServiceProfile {
  const p = byType.get(type);
  if (!p) throw new Error(`no service profile for resource type ${type}`);
  return p;
}
