/** The group commit's contract, with a scripted commit function: batching, bounds, retries, isolation, drain. */
import { connect, createServer, type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { GroupCommit, QueueFullError, ShuttingDownError } from "../../../receiver/src/ledger/group-commit.ts";
import { StoreQueryError, StoreUnavailableError } from "../../../receiver/src/store/database.ts";

function recorder(behaviour: (items: readonly number[], call: number) => Promise<number[]> | number[] = (items) => items.map((i) => i * 10)) {
  const batches: number[][] = [];
  const commit = async (items: readonly number[]) => {
    batches.push([...items]);
    return behaviour(items, batches.length);
  };
  return { batches, commit };
}

describe("group commit", () => {
  it("commits what arrives in the same turn as one batch and answers each item its own result", async () => {
    const { batches, commit } = recorder();
    const group = new GroupCommit<number, number>({ commit, sizeOf: () => 1 });
    const results = await Promise.all([1, 2, 3].map((i) => group.submit(i)));
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it("queues what arrives while a batch is in flight and sends it as the next batch, in order", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { batches, commit } = recorder(async (items, call) => {
      if (call === 1) await gate;
      return items.map((i) => i);
    });
    const group = new GroupCommit<number, number>({ commit, sizeOf: () => 1 });
    const first = group.submit(1);
    await new Promise((r) => setImmediate(r));
    const later = [2, 3, 4].map((i) => group.submit(i));
    expect(group.depth).toBe(3);
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it("never puts more than maxBatch items in one transaction", async () => {
    const { batches, commit } = recorder();
    const group = new GroupCommit<number, number>({ commit, sizeOf: () => 1, maxBatch: 4 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => group.submit(i)));
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
  });

  it("refuses at once when the queue holds maxQueued items or maxQueuedBytes, and takes items again once it drains", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { commit } = recorder(async (items) => {
      await gate;
      return items.map((i) => i);
    });
    const group = new GroupCommit<number, number>({ commit, sizeOf: (i) => i, maxQueued: 2, maxQueuedBytes: 100 });
    const inFlight = group.submit(1);
    await new Promise((r) => setImmediate(r));
    const queued = [group.submit(2), group.submit(3)];
    await expect(group.submit(4)).rejects.toBeInstanceOf(QueueFullError);
    release();
    await Promise.all([inFlight, ...queued]);
    const bytes = new GroupCommit<number, number>({ commit: async (items) => items.map((i) => i), sizeOf: (i) => i, maxQueuedBytes: 100 });
    const a = bytes.submit(60);
    await expect(bytes.submit(60)).rejects.toThrow(/bytes waiting/);
    // A single item larger than the byte bound still goes through when nothing else waits.
    expect(await a).toBe(60);
    expect(await bytes.submit(150)).toBe(150);
  });

  it("runs a batch again when it lost a race with another transaction, and gives up after the retries", async () => {
    const conflict = () => new StoreQueryError("23505", "duplicate key value violates unique constraint", null);
    const twice = recorder((items, call) => {
      if (call <= 2) throw conflict();
      return items.map((i) => i);
    });
    expect(await new GroupCommit<number, number>({ commit: twice.commit, sizeOf: () => 1 }).submit(7)).toBe(7);
    expect(twice.batches).toHaveLength(3);
    const always = recorder(() => {
      throw conflict();
    });
    await expect(new GroupCommit<number, number>({ commit: always.commit, sizeOf: () => 1, conflictRetries: 3 }).submit(7)).rejects.toBeInstanceOf(StoreQueryError);
    expect(always.batches).toHaveLength(4);
  });

  it("isolates an item the server refuses: only it fails, its neighbours commit", async () => {
    const { batches, commit } = recorder((items) => {
      if (items.includes(13)) throw new StoreQueryError("22021", "invalid byte sequence", null);
      return items.map((i) => i);
    });
    const group = new GroupCommit<number, number>({ commit, sizeOf: () => 1 });
    const outcomes = await Promise.allSettled([10, 11, 12, 13, 14, 15].map((i) => group.submit(i)));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(batches.filter((b) => !b.includes(13)).flat().sort()).toEqual([10, 11, 12, 14, 15]);
  });

  it("fails every member of a batch when the store is unavailable, without retrying or splitting it", async () => {
    const { batches, commit } = recorder(() => {
      throw new StoreUnavailableError(new Error("connect ECONNREFUSED"));
    });
    const group = new GroupCommit<number, number>({ commit, sizeOf: () => 1 });
    const outcomes = await Promise.allSettled([1, 2, 3].map((i) => group.submit(i)));
    expect(outcomes.every((o) => o.status === "rejected" && o.reason instanceof StoreUnavailableError)).toBe(true);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it("on close, refuses new items and settles everything already queued", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { commit } = recorder(async (items) => {
      await gate;
      return items.map((i) => i);
    });
    const group = new GroupCommit<number, number>({ commit, sizeOf: () => 1 });
    const pending = [group.submit(1), group.submit(2)];
    const closed = group.close();
    await expect(group.submit(3)).rejects.toBeInstanceOf(ShuttingDownError);
    release();
    await closed;
    expect(await Promise.all(pending)).toEqual([1, 2]);
  });

  describe("quiet (what the embedded store's outbox waits for)", () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    it("resolves at once when nothing arrived lately and nothing is in flight", async () => {
      const group = new GroupCommit<number, number>({ commit: async (items) => [...items], sizeOf: () => 1 });
      const started = performance.now();
      await group.quiet(20, 1000);
      expect(performance.now() - started).toBeLessThan(100);
    });

    it("waits while the intake is busy, but no longer than its bound", async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // A batch in flight the whole time: the intake is busy however the timers run.
      const group = new GroupCommit<number, number>({ commit: async (items) => (await gate, [...items]), sizeOf: () => 1 });
      const pending = group.submit(1);
      const started = performance.now();
      await group.quiet(20, 300);
      const waited = performance.now() - started;
      release();
      await pending;
      expect(waited).toBeGreaterThanOrEqual(295);
      expect(waited).toBeLessThan(3000);
    });

    it("resolves once the arrivals have stopped for the quiet time and the last batch is committed", async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const group = new GroupCommit<number, number>({ commit: async (items) => (await gate, [...items]), sizeOf: () => 1 });
      const pending = group.submit(1);
      let resolved = false;
      const quiet = group.quiet(20, 5000).then(() => (resolved = true));
      await sleep(60);
      // Twenty quiet milliseconds have passed, but the batch is still in flight.
      expect(resolved).toBe(false);
      release();
      await pending;
      await quiet;
      expect(resolved).toBe(true);
    });

    it("does not take a request the event loop has not read yet for quiet (after a long synchronous stretch)", async () => {
      const group = new GroupCommit<number, number>({ commit: async (items) => [...items], sizeOf: () => 1 });
      // A listener that submits what it reads, as the alerts route does.
      const server = createServer((socket) => socket.on("data", () => void group.submit(1)));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
      await new Promise<void>((r) => client.once("connect", () => r()));
      try {
        await sleep(30);
        client.write("alert");
        // The embedded engine holding the thread: the request waits unread in the socket meanwhile.
        const until = performance.now() + 40;
        while (performance.now() < until);
        let resolved = false;
        const quiet = group.quiet(500, 5000).then(() => (resolved = true));
        await sleep(5);
        expect(resolved).toBe(false);
        await quiet;
      } finally {
        client.destroy();
        await new Promise((r) => server.close(r));
      }
    });
  });
});
