import type { Migration } from 'kysely';
import { initial } from './0001-initial.js';
import { nameSearch } from './0002-name-search.js';
import { resourcesKeyByProject } from './0003-resources-key-by-project.js';
import { tagCountIndex } from './0004-tag-count-index.js';
import { identityNotify } from './0005-identity-notify.js';
import { resourceAttributes } from './0006-resource-attributes.js';
import { lockouts } from './0007-lockouts.js';
import { tokenGrounds } from './0008-token-grounds.js';
import { changeLog } from './0009-change-log.js';
import { faults } from './0010-faults.js';
import { projectNames } from './0012-project-names.js';
import { transactionEventIds } from './0013-transaction-event-ids.js';
import { eventResourceIndex } from './0014-event-resource-index.js';
import { eventProjectTimeIndex } from './0015-event-project-time-index.js';
import { eventTimeBrin } from './0016-event-time-brin.js';
import { eventOrigins } from './0017-event-origins.js';
import { eventResourceHash } from './0018-event-resource-hash.js';
import { eventResourceKey } from './0019-event-resource-key.js';

export type MigrationDialect = 'sqlite' | 'postgres';

/** Every migration, by name; names sort in the order they run. */
export function migrations(dialect: MigrationDialect): Record<string, Migration> {
  return {
    '0001-initial': initial(dialect),
    '0002-name-search': nameSearch(dialect),
    '0003-resources-key-by-project': resourcesKeyByProject(dialect),
    '0004-tag-count-index': tagCountIndex(dialect),
    '0005-identity-notify': identityNotify(dialect),
    '0006-resource-attributes': resourceAttributes(dialect),
    '0007-lockouts': lockouts(dialect),
    '0008-token-grounds': tokenGrounds(dialect),
    '0009-change-log': changeLog(dialect),
    '0010-faults': faults(dialect),
    '0012-project-names': projectNames(dialect),
    '0013-transaction-event-ids': transactionEventIds(dialect),
    '0014-event-resource-index': eventResourceIndex(dialect),
    '0015-event-project-time-index': eventProjectTimeIndex(dialect),
    '0016-event-time-brin': eventTimeBrin(dialect),
    '0017-event-origins': eventOrigins(dialect),
    '0018-event-resource-hash': eventResourceHash(dialect),
    '0019-event-resource-key': eventResourceKey(dialect),
  };
}
