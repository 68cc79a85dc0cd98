/** Where the query benchmark's bulk load (query-load.ts) writes: one sink per kind of store. */

export const RESOURCE_COLUMNS = [
  'rid',
  'project_id',
  'resource_type',
  'resource_id',
  'name',
  'enterprise_project_id',
  'created_at',
] as const;
export const TAG_COLUMNS = ['project_id', 'rid', 'resource_type', 'key', 'value'] as const;

export interface BulkSink {
  firstRid(): Promise<number>;
  write(resources: unknown[][], tags: unknown[][]): Promise<void>;
  /** Called every 100,000 resources. */
  checkpoint(): Promise<void>;
  /** Everything after the rows: indexes, statistics. Draws its own progress. */
  finish(): Promise<void>;
  /** Gives up: rolls back what is not committed and closes connections. */
  abort(): Promise<void>;
}
