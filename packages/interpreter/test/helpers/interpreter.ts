// Test fixtures: the execution server in this process on a loopback port,
// driven by the official @e2b/code-interpreter SDK. The control-plane API is
// not part of this package, so a tiny stand-in answers the SDK's create call
// with this server's address (the only stand-in here, and only of that API).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Sandbox } from "@e2b/code-interpreter";
import { startStandInApi } from "../../../../test/support/stand-in-api.js";
import { createInterpreterServer, type InterpreterFlags, type InterpreterServer, type InterpreterServerOptions, loadConfig } from "../../src/index.js";

/** Debian's python3, where the tests' packages (python3-ipython, -matplotlib, -pandas, -numpy) are installed. */
export const PYTHON = process.env.COVE_INTERPRETER_PYTHON ?? "/usr/bin/python3";

/**
 * Fails (never skips) when the python kernel's packages are missing: CI
 * installs them with scripts/install-deps.sh.
 */
export function requirePython(): void {
  try {
    execFileSync(PYTHON, ["-c", "import IPython, matplotlib, matplotlib_inline, pandas, numpy, PIL"], { stdio: "pipe" });
  } catch (err) {
    const detail = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err);
    throw new Error(
      `the interpreter tests need ${PYTHON} with IPython, matplotlib, matplotlib-inline, pandas, numpy and Pillow ` +
        `(run scripts/install-deps.sh as root, or apt-get install python3-ipython python3-matplotlib python3-matplotlib-inline python3-pandas python3-numpy python3-pil): ${detail}`,
    );
  }
}

export interface TestInterpreter {
  url: string;
  server: InterpreterServer;
  /** A fresh directory that is the default cwd of contexts. */
  cwd: string;
  sandbox: Sandbox;
  close(): Promise<void>;
}

/**
 * Starts the server and connects the SDK to it (with the server's access
 * token, if it has one); close() kills every kernel and removes the cwd.
 */
export async function startInterpreter(flags: InterpreterFlags = {}, options: InterpreterServerOptions = {}): Promise<TestInterpreter> {
  requirePython();
  const cwd = mkdtempSync(join(tmpdir(), "cove-interp-test-"));
  const config = loadConfig({ host: "127.0.0.1", port: 0, defaultCwd: cwd, python: PYTHON, ...flags }, {});
  const server = createInterpreterServer(config, options);
  const address = await server.listen();
  const url = `http://127.0.0.1:${address.port}`;
  const api = await startStandInApi({ sandboxID: "interptest", templateID: "code-interpreter-v1", accessToken: config.accessToken });
  try {
    const sandbox = await Sandbox.create({ apiKey: "test-key", apiUrl: api.url, sandboxUrl: url });
    return {
      url,
      server,
      cwd,
      sandbox,
      async close() {
        await api.close();
        await server.close();
        rmSync(cwd, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await api.close();
    await server.close();
    rmSync(cwd, { recursive: true, force: true });
    throw err;
  }
}
