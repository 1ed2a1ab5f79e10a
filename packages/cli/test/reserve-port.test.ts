import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { reservePort } from "../src/commands/up/addresses.js";

const listen = (server: Server, port: number) =>
  new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe("cove up's port reservation", () => {
  it("holds a chosen free port until released, so nothing started meanwhile can take it", async () => {
    const reservation = await reservePort(0, "127.0.0.1");
    assert.ok(reservation.port > 0);
    const other = createServer();
    await assert.rejects(listen(other, reservation.port), { code: "EADDRINUSE" });
    await reservation.release();
    await reservation.release(); // twice is harmless
    await listen(other, reservation.port);
    await close(other);
  });

  it("refuses a port that is already taken, with a stable code", async () => {
    const taken = createServer();
    await listen(taken, 0);
    const port = (taken.address() as { port: number }).port;
    try {
      await assert.rejects(reservePort(port, "127.0.0.1"), { code: "address_in_use" });
    } finally {
      await close(taken);
    }
  });
});
