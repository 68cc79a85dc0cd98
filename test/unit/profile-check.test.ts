import { describe, expect, expectTypeOf, it } from 'vitest';
import { bms } from '../../src/services/bms.js';
import { ddm } from '../../src/services/ddm.js';
import { mrs } from '../../src/services/mrs.js';
import type { RouteDef, ServiceProfile } from '../../src/services/profile.js';
import {
  checkRegistry,
  defineService,
  ProfileError,
  profileProblems,
} from '../../src/services/profile-check.js';
import {
  PROFILES,
  profileForType,
  RESOURCE_TYPES,
  type ResourceType,
} from '../../src/services/registry.js';
import { TMS_ROUTES, tms } from '../../src/services/tms.js';

/** The message defineService refuses the profile with. */
function refusal(profile: ServiceProfile): string {
  try {
    defineService(profile);
  } catch (err) {
    expect(err).toBeInstanceOf(ProfileError);
    return (err as Error).message;
  }
  throw new Error(`profile ${profile.id} was accepted`);
}

function withRoute(profile: ServiceProfile, operationId: string, change: Partial<RouteDef>) {
  return {
    ...profile,
    routes: profile.routes.map((r) => (r.operationId === operationId ? { ...r, ...change } : r)),
  };
}

describe('service registry', () => {
  it('lists the five services, their types in canonical order', () => {
    expect(RESOURCE_TYPES).toEqual([
      'modelarts_hyperinstance',
      'bms_server',
      'ddm_instance',
      'as_group',
      'mrs_cluster',
    ]);
    expectTypeOf<ResourceType>().toEqualTypeOf<
      'modelarts_hyperinstance' | 'bms_server' | 'ddm_instance' | 'as_group' | 'mrs_cluster'
    >();
    for (const type of RESOURCE_TYPES) expect(profileForType(type).resourceType).toBe(type);
  });

  it('every profile it lists is consistent', () => {
    for (const p of PROFILES) expect(profileProblems(p), p.id).toEqual([]);
  });

  it('refuses two profiles sharing an operationId, an endpoint, an id or a resource type', () => {
    const twin = { ...ddm, id: 'ddm2', resourceType: 'ddm2_instance' };
    expect(() => checkRegistry([bms, ddm, twin])).toThrow(
      /ddm2\.routes\[0\]: operationId 'CreateDdmInstanceTags' is also ddm\.routes\[0\]'s/,
    );
    expect(() => checkRegistry([bms, ddm, twin])).toThrow(
      /ddm2\.routes\[0\]: endpoint POST \/v3\/:project_id\/instances\/:instance_id\/tags\/create is also ddm\.routes\[0\]'s/,
    );
    expect(() => checkRegistry([bms, { ...bms, routes: [] }])).toThrow(
      /service profile 'bms': id 'bms' is also service profile 'bms''s/,
    );
    const sameType = { ...mrs, id: 'other', resourceType: 'bms_server', routes: [] };
    expect(() => checkRegistry([bms, sameType])).toThrow(
      /other\.resourceType: resourceType 'bms_server' is also bms\.resourceType's/,
    );
  });

  it("refuses a service route taking one of the cross-service API's operationIds or ids", () => {
    const clash = withRoute(bms, 'ShowBaremetalServerTags', { operationId: 'ListTagKeys' });
    expect(() => checkRegistry([clash], [{ id: tms.id, routes: TMS_ROUTES }])).toThrow(
      /bms\.routes\[1\]: operationId 'ListTagKeys' is also tms's route ListTagKeys's/,
    );
    expect(() =>
      checkRegistry([{ ...bms, id: 'tms' }], [{ id: tms.id, routes: TMS_ROUTES }]),
    ).toThrow(/service profile 'tms': id 'tms' is also the API 'tms''s/);
  });
});

describe('defineService', () => {
  it('accepts a consistent profile as it is', () => {
    expect(defineService(bms)).toBe(bms);
  });

  it('refuses a query route without query settings, naming the profile and the field', () => {
    const message = refusal({ ...mrs, query: undefined });
    expect(message).toContain("Service profile 'mrs' is inconsistent");
    expect(message).toContain('mrs.routes[5] (ListClustersByTags): a query route needs query');
  });

  it('refuses a route whose operation has no permission', () => {
    const { quota: _, ...permissions } = mrs.permissions;
    expect(refusal({ ...mrs, permissions })).toContain(
      'mrs.routes[6] (ShowTagQuota): a quota route needs permissions.quota',
    );
  });

  it('refuses a service without the create or delete permission the cross-service batches use', () => {
    const { delete: _, ...permissions } = bms.permissions;
    const message = refusal({ ...bms, permissions });
    expect(message).toContain('bms.permissions.delete is missing');
    expect(message).toContain(
      'bms.routes[0] (BatchBaremetalServerTagsAction): a batch-action route needs permissions.delete',
    );
  });

  it('refuses a project-tags route without its settings, and settings without a route', () => {
    expect(refusal({ ...ddm, projectTags: undefined })).toContain(
      'ddm.routes[4] (ListProjectTags): a project-tags route needs projectTags settings',
    );
    expect(refusal({ ...bms, projectTags: {} })).toContain(
      'bms.projectTags settings are set but no route has kind project-tags',
    );
  });

  it('refuses an error table that leaves a refusal or a missing resource to the generic row', () => {
    const errors = bms.errors.map((row) => ({
      ...row,
      kinds: row.kinds.filter((k) => k !== 'forbidden' && k !== 'resource_not_found'),
    }));
    const message = refusal({ ...bms, errors });
    expect(message).toContain(
      "bms.routes[1] (ShowBaremetalServerTags): no error row lists 'forbidden', which a list route can raise",
    );
    expect(message).toContain(
      "bms.routes[1] (ShowBaremetalServerTags): no error row lists 'resource_not_found'",
    );
  });

  it('refuses an error table without a 400 row, or one listing a kind twice', () => {
    expect(refusal({ ...ddm, errors: ddm.errors.filter((r) => r.status !== 400) })).toContain(
      'ddm.errors: no 400 row',
    );
    const twice = [
      ...bms.errors,
      { code: 'BMS.9999', status: 404, when: 'x', kinds: ['resource_not_found' as const] },
    ];
    expect(refusal({ ...bms, errors: twice })).toContain(
      "bms.errors[4].kinds lists 'resource_not_found', already in errors[2] (which wins)",
    );
  });

  it('refuses a Content-Type rule without a row for media_type', () => {
    const errors = ddm.errors.filter((r) => !r.kinds.includes('media_type'));
    expect(refusal({ ...ddm, errors })).toContain(
      "ddm.routes[0] (CreateDdmInstanceTags): no error row lists 'media_type'",
    );
  });

  it('refuses paths without :project_id, the resource parameter or :key', () => {
    expect(
      refusal(
        withRoute(bms, 'ShowBaremetalServerTags', { path: '/v1/baremetalservers/:server_id/tags' }),
      ),
    ).toContain(
      "bms.routes[1] (ShowBaremetalServerTags).path '/v1/baremetalservers/:server_id/tags' has no :project_id",
    );
    expect(
      refusal(
        withRoute(bms, 'ShowBaremetalServerTags', {
          path: '/v1/:project_id/baremetalservers/tags',
        }),
      ),
    ).toContain('has no :server_id (the resource parameter)');
    expect(
      refusal(
        withRoute(ddm, 'UpdateDdmInstanceTag', {
          path: '/v3/:project_id/instances/:instance_id/tags/:name',
        }),
      ),
    ).toContain('must end in /:key for a set-one route');
  });

  it('refuses a switch route without its switch, and two routes with one operationId', () => {
    expect(refusal(withRoute(mrs, 'ShowTagStatus', { switch: undefined }))).toContain(
      'mrs.routes[7] (ShowTagStatus).switch is missing',
    );
    expect(
      refusal(withRoute(mrs, 'ListClusterTags', { operationId: 'CreateClusterTag' })),
    ).toContain("mrs.routes[3] (CreateClusterTag).operationId is also routes[1]'s");
  });

  it('lists every problem at once', () => {
    const message = refusal({ ...mrs, query: undefined, maxTags: 0 });
    expect(message).toContain('mrs.maxTags 0 is not a positive whole number');
    expect(message).toContain('a query route needs query settings');
  });
});
