// Build status the api no longer holds in memory (a build an earlier api process started, which
// the node ran detached): the api answers the SDK's poll from the node's build record.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Harness, startHarness } from "./helpers/api-harness.js";

describe("template build status from the node's records (api in process, fake node)", () => {
  let h: Harness;
  let mine: { teamId: string; key: string };
  let other: { teamId: string; key: string };
  const buildId = "0b0b0b0b-0000-4000-8000-000000000001";
  before(async () => {
    h = await startHarness();
    mine = await h.team();
    other = await h.team();
    const logs = Array.from({ length: 150 }, (_, i) => `line ${i}`);
    h.node.templateBuilds.set(buildId, { templateId: "kept", owner: mine.teamId, status: "error", logs, failure: "step 2 exited with code 1" });
  });
  after(() => h.close());

  const status = (key: string, query = "", template = "kept") => h.request("GET", `/templates/${template}/builds/${buildId}/status${query}`, { key });

  it("pages the node's log 100 lines at a time and reports the failure with its step", async () => {
    const first = await status(mine.key);
    assert.equal(first.statusCode, 200, first.body);
    const b = first.json() as { status: string; logEntries: { message: string }[]; reason?: { message: string; step?: string } };
    assert.equal(b.status, "error");
    assert.equal(b.logEntries.length, 100);
    assert.equal(b.logEntries[0]?.message, "line 0");
    assert.deepEqual(b.reason, { message: "step 2 exited with code 1", step: "2" });
    const rest = (await status(mine.key, "?logsOffset=100")).json() as { logEntries: { message: string }[] };
    assert.deepEqual(
      rest.logEntries.map((l) => l.message),
      Array.from({ length: 50 }, (_, i) => `line ${i + 100}`),
    );
    assert.equal(((await status(mine.key, "?logsOffset=150")).json() as { logEntries: unknown[] }).logEntries.length, 0);
  });

  it("another team's build, or the build under another template's id, is a 404", async () => {
    assert.equal((await status(other.key)).statusCode, 404);
    assert.equal((await status(mine.key, "", "not-kept")).statusCode, 404);
    assert.equal((await status(mine.key, "?logsOffset=-1")).statusCode, 400);
  });

  it("passes AWS and GCP registry credentials (the SDK's fromAWSRegistry, fromGCPRegistry) on to the node", async () => {
    const start = async (name: string, registry: Record<string, string>) => {
      const created = await h.request("POST", "/v3/templates", { key: mine.key, body: { name } });
      assert.equal(created.statusCode, 202, created.body);
      const { templateID, buildID } = created.json() as { templateID: string; buildID: string };
      return h.request("POST", `/v2/templates/${templateID}/builds/${buildID}`, {
        key: mine.key,
        body: { fromImage: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1", fromImageRegistry: registry, steps: [] },
      });
    };
    const sent = h.node.buildRequests.length;
    const aws = await start("from-ecr", { type: "aws", awsAccessKeyId: "AKIDEXAMPLE", awsSecretAccessKey: "secret", awsRegion: "eu-west-1" });
    assert.equal(aws.statusCode, 202, aws.body);
    const gcp = await start("from-gcr", { type: "gcp", serviceAccountJson: '{"type":"service_account"}' });
    assert.equal(gcp.statusCode, 202, gcp.body);
    for (let i = 0; i < 100 && h.node.buildRequests.length < sent + 2; i++) await new Promise((r) => setTimeout(r, 20));
    const [a, g] = h.node.buildRequests.slice(sent);
    assert.deepEqual(
      { accessKeyId: a?.awsRegistry?.accessKeyId, secretAccessKey: a?.awsRegistry?.secretAccessKey, region: a?.awsRegistry?.region },
      { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", region: "eu-west-1" },
    );
    assert.equal(g?.gcpServiceAccountJson, '{"type":"service_account"}');
    const missing = await start("from-ecr-2", { type: "aws", awsAccessKeyId: "AKIDEXAMPLE" });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.body, /awsSecretAccessKey is required/);
    const unknown = await start("from-elsewhere", { type: "azure" });
    assert.equal(unknown.statusCode, 400);
  });
});
