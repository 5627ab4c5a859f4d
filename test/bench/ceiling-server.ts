/**
 * The ceiling the benchmark compares against: a bare Fastify route that parses the same JSON body
 * and answers 202, with nothing else. Same Node, same machine, same HTTP stack, its own process
 * (as the receiver has). `GET /readyz` lets the bench wait on it as on the receiver.
 */
import Fastify from "fastify";

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
app.post("/api/alerts", async (_request, reply) => reply.code(202).send({ status: "accepted" }));
app.get("/readyz", async () => ({ status: "ready" }));
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
