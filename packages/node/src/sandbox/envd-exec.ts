import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Process } from "@cove/protocol/process";
import { NodeError } from "../errors.js";

export interface BuildExec {
  /** Run with `/bin/sh -c`. */
  command: string;
  user: string;
  cwd: string;
  env: Record<string, string>;
  onLine(stream: "stdout" | "stderr", line: string): void;
  signal: AbortSignal;
}

/** Splits a byte stream into lines (a partial line waits for the next chunk or the end). */
function lineSplitter(emit: (line: string) => void): { push(chunk: Uint8Array): void; end(): void } {
  const decoder = new TextDecoder();
  let rest = "";
  return {
    push(chunk) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) emit(line.replace(/\r$/, ""));
    },
    end() {
      rest += decoder.decode();
      if (rest !== "") emit(rest);
      rest = "";
    },
  };
}

/** Runs one command in a sandbox through its envd, streaming its lines; resolves to its exit code. `accessToken` "" before /init set one. */
export async function execInSandbox(envdAddress: string, accessToken: string, req: BuildExec): Promise<number> {
  const transport = createConnectTransport({
    baseUrl: `http://${envdAddress}`,
    httpVersion: "1.1",
    interceptors: [
      (next) => (r) => {
        if (accessToken) r.header.set("x-access-token", accessToken);
        return next(r);
      },
    ],
  });
  const client = createClient(Process, transport);
  const stdout = lineSplitter((line) => req.onLine("stdout", line));
  const stderr = lineSplitter((line) => req.onLine("stderr", line));
  const stream = client.start(
    { process: { cmd: "/bin/sh", args: ["-c", req.command], envs: req.env, cwd: req.cwd }, stdin: false },
    { headers: { authorization: `Basic ${Buffer.from(`${req.user}:`).toString("base64")}` }, signal: req.signal },
  );
  try {
    for await (const { event } of stream) {
      const e = event?.event;
      if (e?.case === "data") {
        const out = e.value.output;
        if (out.case === "stdout") stdout.push(out.value);
        else if (out.case === "stderr") stderr.push(out.value);
      } else if (e?.case === "end") {
        stdout.end();
        stderr.end();
        // envd words a plain non-zero exit as an error too; a signal is worth a line of its own.
        if (e.value.error && !/^exit status \d+$/.test(e.value.error)) req.onLine("stderr", e.value.error);
        return e.value.exitCode === 0 && !e.value.exited ? 1 : e.value.exitCode;
      }
    }
  } catch (err) {
    // Worded as E2B's builder words a command envd would not start ("command failed: unauthenticated: …").
    if (err instanceof ConnectError) throw new NodeError("runtime_failed", `command failed: ${err.message.replace(/^\[([a-z_]+)\] /, "$1: ")}`, { cause: err });
    throw err;
  }
  throw new NodeError("runtime_failed", "the build step's process stream ended without an exit code");
}
