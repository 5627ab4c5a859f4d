/**
 * Request loggers made on first use (http/lazy-logger.ts): a request writes the lines an eager
 * pino child would, with every binding, and one that writes no line at the receiver's level makes
 * no child at all. Pure: a pino logger writing into an array.
 */
import { Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { lazyChild } from "../../../receiver/src/http/lazy-logger.ts";

function capturing(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      const { time: _time, pid: _pid, hostname: _hostname, ...line } = JSON.parse(String(chunk));
      lines.push(line);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

describe("lazy request loggers", () => {
  it("write what an eager child writes: the request's and the alert's bindings, the line's fields and message", () => {
    const eager = capturing("info");
    eager.logger.child({ reqId: "req-1" }).child({ alertId: "/alerts/a" }).info({ status: 202 }, "request completed");
    const lazy = capturing("info");
    lazyChild(lazy.logger, { reqId: "req-1" }).child({ alertId: "/alerts/a" }).info({ status: 202 }, "request completed");
    expect(lazy.lines).toEqual(eager.lines);
    expect(lazy.lines).toEqual([{ level: 30, reqId: "req-1", alertId: "/alerts/a", status: 202, msg: "request completed" }]);
  });

  it("make no pino child for a request that writes nothing at the receiver's level, and one when it first does", () => {
    const { logger, lines } = capturing("warn");
    const children = vi.spyOn(logger, "child");
    const request = lazyChild(logger, { reqId: "req-2" });
    const alert = request.child({ alertId: "/alerts/b" });
    alert.info({ notificationId: "1" }, "notification stored");
    alert.debug("detail");
    request.info("request completed");
    expect(children).not.toHaveBeenCalled();
    expect(lines).toEqual([]);

    alert.warn({ reason: "expired" }, "heartbeat ignored");
    // The request's child, and the alert's made from it (pino's children inherit the spied method).
    expect(children).toHaveBeenCalledTimes(2);
    expect(lines).toEqual([{ level: 40, reqId: "req-2", alertId: "/alerts/b", reason: "expired", msg: "heartbeat ignored" }]);
    alert.error("again");
    expect(children).toHaveBeenCalledTimes(2);
    expect(lines).toHaveLength(2);
  });

  it("follow the level of what they were made from, and a level set on them", () => {
    const { logger, lines } = capturing("info");
    const request = lazyChild(logger, { reqId: "req-3" });
    expect(request.level).toBe("info");
    logger.level = "error";
    request.warn("not written");
    expect(lines).toEqual([]);
    request.level = "debug";
    request.debug("written");
    expect(lines).toEqual([{ level: 20, reqId: "req-3", msg: "written" }]);
    expect(lazyChild(logger, { reqId: "req-4" }, { level: "silent" }).level).toBe("silent");
  });
});
