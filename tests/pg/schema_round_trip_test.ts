import assert from "node:assert/strict";
import { migrationStatus } from "../../src/migrate.ts";
import { openTestDatabase } from "../_pg.ts";
import { catalogSnapshot } from "./_catalog.ts";

Deno.test("migrate() up, down to zero, up again leaves the identical schema", async (t) => {
  await using db = await openTestDatabase({ migrate: false });
  await migrationStatus(db.sql); // creates ley's bookkeeping table, the only object at zero
  const empty = await catalogSnapshot(db.sql);

  await db.migrate();
  const first = await catalogSnapshot(db.sql);
  await t.step("the latest schema holds the objects of every revision", () => {
    assert.ok(first.relations.length > empty.relations.length);
    for (const kind of ["constraints", "indexes", "policies", "triggers", "functions", "types"]) {
      assert.ok(first[kind].length > empty[kind].length, `no ${kind} were created`);
    }
  });

  const down = await db.migrate({ to: 0 });
  await t.step("down to zero reverts every revision and leaves nothing behind", async () => {
    assert.equal(down.length, (await migrationStatus(db.sql)).pending.length);
    assert.deepEqual(await catalogSnapshot(db.sql), empty);
  });

  await db.migrate();
  await t.step("up again gives the same catalogs", async () => {
    assert.deepEqual(await catalogSnapshot(db.sql), first);
  });

  await t.step("every revision's down undoes exactly its up", async () => {
    const byRevision: Record<string, string[]>[] = [];
    await db.migrate({ to: 0 });
    for (let revision = 1; revision <= down.length; revision++) {
      await db.migrate({ to: revision });
      byRevision[revision] = await catalogSnapshot(db.sql);
    }
    for (let revision = down.length; revision >= 1; revision--) {
      await db.migrate({ to: revision - 1 });
      assert.deepEqual(
        await catalogSnapshot(db.sql),
        revision === 1 ? empty : byRevision[revision - 1],
        `down of revision ${revision}`,
      );
    }
  });
});
