/**
 * The seccomp profile every sandbox gets. Neither crun nor runc adds one on
 * their own, so without this a sandbox could call anything its capabilities
 * allow.
 *
 * It is a deny-list (defaultAction ALLOW): sandboxes run arbitrary user
 * software (compilers, browsers, language runtimes), and an allow-list that
 * misses one syscall breaks them in ways that are hard to diagnose. What is
 * denied here is what a sandbox never needs and what has a history of kernel
 * bugs reachable from a container.
 */

/** The OCI `linux.seccomp` object (runtime-spec config-linux.md). */
export interface SeccompProfile {
  defaultAction: SeccompAction;
  architectures: string[];
  syscalls: SeccompRule[];
}

export type SeccompAction = "SCMP_ACT_ALLOW" | "SCMP_ACT_ERRNO" | "SCMP_ACT_KILL" | "SCMP_ACT_TRAP" | "SCMP_ACT_LOG";

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: "SCMP_CMP_NE" | "SCMP_CMP_LT" | "SCMP_CMP_LE" | "SCMP_CMP_EQ" | "SCMP_CMP_GE" | "SCMP_CMP_GT" | "SCMP_CMP_MASKED_EQ";
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
}

const EPERM = 1;
const ENOSYS = 38;

/**
 * Denied with EPERM, grouped by why. A program probing for a feature sees
 * "not permitted", the same answer an unprivileged user gets on a normal host.
 */
export const deniedSyscalls: Readonly<Record<string, readonly string[]>> = {
  // Loading code into the kernel or replacing it.
  kernelCode: ["init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "bpf"],
  // Perf counters leak host-wide information and have a long CVE list.
  perf: ["perf_event_open", "lookup_dcookie"],
  // The kernel keyring is not namespaced: keys would be shared with the host.
  keyring: ["keyctl", "add_key", "request_key"],
  // Changing the mount table or entering/creating namespaces is how container
  // escapes start; the runtime has already set everything up before seccomp
  // is applied. The new mount API (fsopen...) is denied for the same reason.
  mountsAndNamespaces: ["mount", "umount", "umount2", "pivot_root", "unshare", "setns", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree"],
  // Host-wide state: swap, power, accounting, quotas, the kernel log.
  hostState: ["swapon", "swapoff", "reboot", "acct", "quotactl", "syslog"],
  // The clock is shared with the host and every other sandbox.
  clock: ["settimeofday", "stime", "clock_settime", "clock_adjtime", "adjtimex"],
  // File handles bypass path-based checks (the "shocker" escape).
  fileHandles: ["open_by_handle_at", "name_to_handle_at"],
  // userfaultfd makes kernel race bugs easy to win; io_uring bypasses seccomp
  // for the operations it performs and has had many privilege escalations.
  exploitPrimitives: ["userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register"],
  // ptrace is denied because it lets one sandbox process read and rewrite
  // another's memory (including a sudo'd root process started by `user`) and,
  // on older kernels, bypass seccomp itself. The cost: strace and gdb do not
  // work inside sandboxes.
  debugging: ["ptrace"],
};

/** clone flags that create namespaces; clone(2) with any of them is denied like unshare(2). */
const cloneNamespaceFlags = [
  0x00020000, // CLONE_NEWNS
  0x02000000, // CLONE_NEWCGROUP
  0x04000000, // CLONE_NEWUTS
  0x08000000, // CLONE_NEWIPC
  0x10000000, // CLONE_NEWUSER
  0x20000000, // CLONE_NEWPID
  0x40000000, // CLONE_NEWNET
];

/** libseccomp architectures for a Node `process.arch`: the native one plus its compat ABIs. */
export function seccompArchitectures(arch: string = process.arch): string[] {
  switch (arch) {
    case "x64":
      return ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
    case "arm64":
      return ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"];
    default:
      return [];
  }
}

/** Builds the sandbox profile for the host architecture (or `arch`, a Node `process.arch` value). */
export function sandboxSeccompProfile(arch: string = process.arch): SeccompProfile {
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: seccompArchitectures(arch),
    syscalls: [
      { names: Object.values(deniedSyscalls).flat(), action: "SCMP_ACT_ERRNO", errnoRet: EPERM },
      // clone's flags are argument 0 on x86 and arm. Each rule matches one flag
      // being set ((flags & f) == f); rules are OR'ed, args within a rule AND'ed.
      ...cloneNamespaceFlags.map(
        (flag): SeccompRule => ({
          names: ["clone"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: EPERM,
          args: [{ index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ" }],
        }),
      ),
      // clone3 takes its flags in a struct seccomp cannot inspect. ENOSYS makes
      // libc fall back to clone(2), where the rules above apply.
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
    ],
  };
}
