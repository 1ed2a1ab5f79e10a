/**
 * The network each suite that starts a node uses: its prefix names the node's
 * nft table, namespaces and interfaces, its CIDR the sandboxes' addresses.
 * One table, so two suites can never share either: suites of different
 * engineers run side by side on one machine, and a suite's cleanup deletes
 * what carries its prefix. networks.test.ts checks the table.
 */
export const suiteNetworks = {
  "node/sandbox-lifecycle": { prefix: "ctl", cidr: "10.211.0.0/24" },
  "node/sandbox-lifecycle-pool": { prefix: "ctp", cidr: "10.211.1.0/24" },
  "node/node-restart": { prefix: "ctr", cidr: "10.211.2.0/24" },
  "node/sandbox-leaks": { prefix: "ctk", cidr: "10.211.3.0/24" },
  "node/sandbox-isolation": { prefix: "cti", cidr: "10.211.4.0/24" },
  "node/sandbox-lifecycle-runc": { prefix: "ctu", cidr: "10.211.5.0/24" },
  "e2e/sdk": { prefix: "cte", cidr: "10.211.6.0/24" },
  "e2e/sdk-lifecycle": { prefix: "ctg", cidr: "10.211.12.0/24" },
  "e2e/sdk-native": { prefix: "cto", cidr: "10.211.13.0/24" },
  "e2e/sdk-restarts": { prefix: "ctz", cidr: "10.211.14.0/24" },
  "cli/sandbox-cli": { prefix: "ctc", cidr: "10.211.7.0/24" },
  "api/sync": { prefix: "cta", cidr: "10.211.8.0/24" },
  "e2e/parts": { prefix: "ctq", cidr: "10.211.9.0/24" },
  "node/network-host-a": { prefix: "cth", cidr: "10.211.10.0/24" },
  "node/network-host-b": { prefix: "ctj", cidr: "10.211.11.0/24" },
  "node/sandbox-userns": { prefix: "ctn", cidr: "10.211.20.0/24" },
  "node/host-files": { prefix: "ctv", cidr: "10.211.21.0/24" },
  "node/sandbox-log": { prefix: "ctw", cidr: "10.211.22.0/24" },
  "node/host-files-runc": { prefix: "cty", cidr: "10.211.23.0/24" },
  "e2e/up-supervision": { prefix: "cts", cidr: "10.211.31.0/24" },
  "e2e/fuzz": { prefix: "ctf", cidr: "10.215.0.0/24" },
  "e2e/files-parity": { prefix: "cmf", cidr: "10.220.1.0/24" },
  "e2e/api-parity": { prefix: "cmp", cidr: "10.220.2.0/24" },
  "e2e/warm-pool": { prefix: "cmw", cidr: "10.220.4.0/24" },
  "node/proc-views": { prefix: "cml", cidr: "10.220.3.0/24" },
  "e2e/proc-views": { prefix: "cmv", cidr: "10.220.5.0/24" },
  "node/template-build": { prefix: "cmt", cidr: "10.220.6.0/24" },
  "node/template-build-rpc": { prefix: "cmu", cidr: "10.220.7.0/24" },
  "cli/template-dockerfile": { prefix: "cmd", cidr: "10.220.8.0/24" },
  "node/template-build-image": { prefix: "cmi", cidr: "10.220.9.0/24" },
  "e2e/sdk-templates": { prefix: "cme", cidr: "10.220.10.0/24" },
  "node/template-build-gc": { prefix: "cmg", cidr: "10.220.11.0/24" },
  "node/template-build-debian": { prefix: "cmb", cidr: "10.220.12.0/24" },
  "e2e/code-interpreter": { prefix: "cmx", cidr: "10.220.13.0/24" },
} as const;

export type SuiteName = keyof typeof suiteNetworks;

export interface SuiteNetwork {
  prefix: string;
  cidr: string;
}

export function suiteNetwork(name: SuiteName): SuiteNetwork {
  return suiteNetworks[name];
}
