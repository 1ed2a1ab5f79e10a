// The process service through a plain Connect client with the binary codec
// over HTTP/2 (the SDK only speaks JSON over HTTP/1.1), including the
// client-streaming StreamInput that the SDK cannot call.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Process, Signal, type ConnectResponse, type StartResponse, type StreamInputRequestSchema } from "@cove/protocol/process";
import { startEnvd, type TestEnvd } from "./helpers/envd.js";
import { waitGone } from "../../../test/support/processes.js";

type Event = NonNullable<StartResponse["event"]>["event"];

/** Reads a Start/Connect stream: the start pid, output by stream, keepalives and the end event. */
async function drain(stream: AsyncIterable<StartResponse | ConnectResponse>, first?: Event) {
  const events: Event[] = first ? [first] : [];
  for await (const res of stream) events.push(res.event!.event);
  const decoder = new TextDecoder();
  const text = (name: "stdout" | "stderr" | "pty") =>
    events.map((e) => (e.case === "data" && e.value.output.case === name ? decoder.decode(e.value.output.value) : "")).join("");
  const end = events.find((e) => e.case === "end");
  return { events, stdout: text("stdout"), stderr: text("stderr"), end: end?.case === "end" ? end.value : undefined };
}

/** Starts a process and returns its pid plus the still-open stream. */
async function start(client: Client<typeof Process>, request: Parameters<Client<typeof Process>["start"]>[0], headers?: Record<string, string>) {
  const stream = client.start(request, { headers })[Symbol.asyncIterator]();
  const first = await stream.next();
  const event = first.value.event.event as Event;
  assert.equal(event.case, "start");
  const rest: AsyncIterable<StartResponse> = { [Symbol.asyncIterator]: () => stream };
  return { pid: event.value.pid, first: event, rest };
}

describe("process service over binary Connect on HTTP/2", () => {
  let envd: TestEnvd;
  let client: Client<typeof Process>;
  before(async () => {
    envd = await startEnvd();
    client = createClient(Process, createConnectTransport({ baseUrl: envd.url, httpVersion: "2", useBinaryFormat: true }));
  });
  after(async () => {
    await envd?.close();
  });

  it("runs Start and streams start, stdout, stderr and the end event", async () => {
    const { first, rest } = await start(client, { process: { cmd: "/bin/sh", args: ["-c", "echo bin; echo err >&2; exit 4"] }, stdin: false });
    const { events, stdout, stderr, end } = await drain(rest, first);
    assert.equal(events[0]!.case, "start");
    assert.equal(events.at(-1)!.case, "end");
    assert.equal(stdout, "bin\n");
    assert.equal(stderr, "err\n");
    assert.equal(end?.exitCode, 4);
    assert.equal(end?.exited, true);
    assert.equal(end?.status, "exit status 4");
    assert.equal(end?.error, "exit status 4");
  });

  it("ends a successful process with exited true, status 'exit status 0' and no error", async () => {
    const { first, rest } = await start(client, { process: { cmd: "true" }, stdin: false });
    const { end } = await drain(rest, first);
    assert.equal(end?.exitCode, 0);
    assert.equal(end?.exited, true);
    assert.equal(end?.status, "exit status 0");
    assert.equal(end?.error, undefined);
  });

  it("splits large output into data events of at most 32 KiB", async () => {
    const { first, rest } = await start(client, { process: { cmd: "head", args: ["-c", "200000", "/dev/zero"] }, stdin: false });
    const { events } = await drain(rest, first);
    const sizes = events.flatMap((e) => (e.case === "data" ? [e.value.output.value!.length] : []));
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      200_000,
    );
    assert.ok(
      sizes.every((size) => size <= 32 * 1024),
      `chunk sizes ${sizes.join(",")}`,
    );
  });

  it("feeds stdin through client-streaming StreamInput", async () => {
    const { pid, first, rest } = await start(client, { process: { cmd: "cat" }, stdin: true });
    const encoder = new TextEncoder();
    async function* requests(): AsyncGenerator<MessageInitShape<typeof StreamInputRequestSchema>> {
      yield { event: { case: "start", value: { process: { selector: { case: "pid", value: pid } } } } };
      yield { event: { case: "data", value: { input: { input: { case: "stdin", value: encoder.encode("alpha\n") } } } } };
      yield { event: { case: "keepalive", value: {} } };
      yield { event: { case: "data", value: { input: { input: { case: "stdin", value: encoder.encode("beta\n") } } } } };
    }
    await client.streamInput(requests());
    await client.closeStdin({ process: { selector: { case: "pid", value: pid } } });
    const { stdout, end } = await drain(rest, first);
    assert.equal(stdout, "alpha\nbeta\n");
    assert.equal(end?.exitCode, 0);
  });

  it("addresses processes by tag in List, Connect and SendSignal", async () => {
    const tag = `tagged-${process.pid}`;
    const { pid, rest } = await start(client, { process: { cmd: "sleep", args: ["30"], envs: { A: "1" } }, tag, stdin: false });
    const listed = (await client.list({})).processes.find((p) => p.pid === pid);
    assert.equal(listed?.tag, tag);
    assert.equal(listed?.config?.cmd, "sleep");
    assert.deepEqual(listed?.config?.args, ["30"]);
    assert.deepEqual(listed?.config?.envs, { A: "1" });
    const attached = client.connect({ process: { selector: { case: "tag", value: tag } } });
    await client.sendSignal({ process: { selector: { case: "tag", value: tag } }, signal: Signal.SIGTERM });
    const viaConnect = await drain(attached);
    assert.equal(viaConnect.events[0]?.case === "start" && viaConnect.events[0].value.pid, pid);
    assert.equal(viaConnect.end?.status, "signal: terminated");
    assert.equal(viaConnect.end?.exitCode, -1);
    assert.equal(viaConnect.end?.exited, false);
    assert.equal((await drain(rest)).end?.error, "signal: terminated");
  });

  it("sends keepalive events while a process is silent", async () => {
    const { pid, rest } = await start(client, { process: { cmd: "cat" }, stdin: true }, { "keepalive-ping-interval": "1" });
    const iterator = rest[Symbol.asyncIterator]();
    const next = await iterator.next();
    assert.equal((next.value as StartResponse).event?.event.case, "keepalive");
    await client.closeStdin({ process: { selector: { case: "pid", value: pid } } });
    const { end } = await drain({ [Symbol.asyncIterator]: () => iterator });
    assert.equal(end?.exitCode, 0);
  });

  it("answers not_found for an unknown pid or tag", async () => {
    await assert.rejects(client.sendSignal({ process: { selector: { case: "pid", value: 999_999_9 } }, signal: Signal.SIGKILL }), (err: unknown) => {
      const connectErr = ConnectError.from(err);
      assert.equal(connectErr.code, Code.NotFound);
      assert.equal(connectErr.rawMessage, "process with pid 9999999 not found");
      return true;
    });
    await assert.rejects(client.closeStdin({ process: { selector: { case: "tag", value: "nope" } } }), (err: unknown) => {
      assert.equal(ConnectError.from(err).code, Code.NotFound);
      return true;
    });
  });

  it("refuses to resize a process without a pty", async () => {
    const { pid, rest } = await start(client, { process: { cmd: "sleep", args: ["30"] }, stdin: false });
    await assert.rejects(client.update({ process: { selector: { case: "pid", value: pid } }, pty: { size: { cols: 10, rows: 10 } } }), (err: unknown) => {
      assert.equal(ConnectError.from(err).code, Code.FailedPrecondition);
      return true;
    });
    await client.sendSignal({ process: { selector: { case: "pid", value: pid } }, signal: Signal.SIGKILL });
    assert.equal((await drain(rest)).end?.status, "signal: killed");
  });

  it("ends the stream with deadline_exceeded and kills the process when the Connect deadline passes", async () => {
    const stream = client.start({ process: { cmd: "sleep", args: ["30"] }, stdin: false }, { timeoutMs: 500 });
    let pid = 0;
    await assert.rejects(
      (async () => {
        for await (const res of stream) if (res.event?.event.case === "start") pid = res.event.event.value.pid;
      })(),
      (err: unknown) => {
        assert.equal(ConnectError.from(err).code, Code.DeadlineExceeded);
        return true;
      },
    );
    assert.ok(pid > 0);
    // The client's own timer may fire a moment before envd's; envd kills the process at its deadline.
    assert.equal(await waitGone(pid, 5_000), true, "the process is killed at the deadline");
    assert.equal(
      (await client.list({})).processes.some((p) => p.pid === pid),
      false,
    );
  });
});
