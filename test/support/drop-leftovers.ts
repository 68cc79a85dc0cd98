import { afterAll } from 'vitest';
import { dropLeftovers } from './test-store.js';

// A test that ends its harness without close() would leave its database behind (on a shared
// PostgreSQL server, for good): drop whatever a test file made and did not drop.
afterAll(async () => {
  await dropLeftovers();
});
