import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Template } from "e2b";
import { parseDockerfile, prepareCopyStep, readDockerignore } from "../src/index.js";
import { makeContext } from "./helpers/context-tree.js";

/**
 * For Dockerfiles both read the same way, `cove template build -f` must send what the SDK's
 * `Template().fromDockerfile()` sends: the same steps, files hashes and start command (the SDK
 * adds a 20 s `readyCmd`; Cove does not wait for nothing).
 */
describe("parseDockerfile + prepareCopyStep send what the SDK's fromDockerfile sends", () => {
  let ctx: { dir: string; remove: () => Promise<void> };
  before(async () => {
    ctx = await makeContext({
      ".dockerignore": "*.log\n",
      "requirements.txt": "flask\n",
      "app/main.py": "print('hi')\n",
      "app/debug.log": "ignored",
      "bin/run.sh": { content: "#!/bin/sh\nexec python app/main.py\n", mode: 0o755 },
      "config.json": "{}",
    });
  });
  after(() => ctx?.remove());

  const dockerfiles: Array<[string, string]> = [
    [
      "a typical Python app",
      `FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 APP_HOME=/srv
COPY requirements.txt /tmp/
RUN pip install -r /tmp/requirements.txt
COPY --chown=app app /srv/app
WORKDIR /srv
USER app
CMD ["python", "app/main.py"]
`,
    ],
    [
      "ADD, several sources, no USER nor WORKDIR",
      `FROM ubuntu:22.04
RUN apt-get update && apt-get install -y curl
ADD config.json bin/ /opt/tool/
ENTRYPOINT /opt/tool/run.sh
`,
    ],
    [
      "the whole context",
      `FROM node:20
WORKDIR /app
COPY . .
RUN ls
`,
    ],
  ];
  for (const [name, text] of dockerfiles) {
    it(name, async () => {
      const sdk = JSON.parse(await Template.toJSON(Template({ fileContextPath: ctx.dir }).fromDockerfile(text), true)) as Record<string, unknown>;
      const { spec } = parseDockerfile(text);
      const ignore = await readDockerignore(ctx.dir);
      for (const step of spec.steps) if (step.type === "COPY") step.filesHash = (await prepareCopyStep(ctx.dir, step, ignore)).filesHash;
      assert.deepEqual(spec.steps, sdk.steps);
      assert.equal(spec.startCmd, sdk.startCmd);
      assert.equal(spec.source.kind === "image" ? spec.source.image : undefined, sdk.fromImage);
    });
  }
});
