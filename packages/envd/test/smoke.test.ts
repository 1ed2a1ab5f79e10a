import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connectSdk, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

describe("envd smoke", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  before(async () => {
    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });
  after(async () => {
    await sdk?.close();
    await envd?.close();
  });

  it("answers /health through the SDK", async () => {
    assert.equal(await sdk.sandbox.isRunning(), true);
  });
});
