/** The package's entry: tagplane started from JavaScript or TypeScript, for tests. */
export {
  type AdminAnswer,
  type EventFilter,
  type FaultSpec,
  type Faults,
  type ResourceRegistration,
  type SeedDocument,
  type StartOptions,
  startTagplane,
  type Tagplane,
  TagplaneAdminError,
} from './start.js';
