/**
 * Stands in for the `better-sqlite3` import in the binary's bundles (see
 * scripts/build-binary.mjs): the same Database, given the addon loaded from
 * the cache dir as its nativeBinding object.
 */
import RealDatabase from 'better-sqlite3';
import { sqliteAddon } from './sqlite-addon.js';

function Database(filename?: string | Buffer, options?: RealDatabase.Options): RealDatabase.Database {
  // The typings say string; better-sqlite3 also takes the loaded addon object (issue #972 there).
  return new RealDatabase(filename, { ...options, nativeBinding: sqliteAddon() as unknown as string });
}
Database.prototype = RealDatabase.prototype;

export default Database as unknown as typeof RealDatabase;
