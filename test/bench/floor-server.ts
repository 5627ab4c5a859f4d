/**
 * The floor the benchmark compares against: what "every alert durable before its 2xx" costs with
 * nothing else. A bare Fastify route (the ceiling's) whose bodies go through the receiver's own
 * group commit (ledger/group-commit.ts) and store layer (store/open-database.ts: the same driver,
 * pipelined connection and flush to disk) into a table of one text column, each batch one INSERT
 * and its COMMIT. No token check, no validation, no ledger. The receiver cannot run faster than
 * this on the same machine; how far below it runs is what its ledger costs.
 */
import Fastify from "fastify";
import { GroupCommit } from "../../receiver/src/ledger/group-commit.ts";
import { openDatabase } from "../../receiver/src/store/open-database.ts";

const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: process.env.DATA_DIR ?? "" });
await db.exec("CREATE TABLE IF NOT EXISTS bench_floor (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL)");
const intake = new GroupCommit<string, void>({
  commit: async (bodies) => {
    await db.transaction(async (tx) => tx.later("INSERT INTO bench_floor (body) SELECT unnest($1::text[])", [bodies], { name: "bench-floor" }), { pipelined: true });
    return bodies.map(() => undefined);
  },
  sizeOf: (body) => body.length,
});

declare module "fastify" {
  interface FastifyRequest {
    /** The body as received (the receiver declares the same: http/app.ts). */
    rawBody?: string;
  }
}

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
// Parsed as the ceiling parses it, and kept as received, as the receiver stores it.
const parseJson = app.getDefaultJsonParser("error", "error");
app.removeAllContentTypeParsers();
app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
  request.rawBody = String(body);
  parseJson(request, String(body), done);
});
app.post("/api/alerts", async (request, reply) => {
  await intake.submit(request.rawBody!);
  return reply.code(202).send({ status: "accepted" });
});
app.get("/readyz", async () => ({ status: "ready" }));
// What the floor holds, so that the bench can see every 2xx was stored (bench.ts).
app.get("/stored", async () => {
  const { rows } = await db.query<{ stored: string }>("SELECT count(*) AS stored FROM bench_floor");
  return { stored: Number(rows[0]!.stored) };
});
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
process.on("SIGTERM", () => void app.close().then(() => intake.close()).then(() => db.close()).then(() => process.exit(0)));
