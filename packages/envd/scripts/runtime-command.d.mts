export declare const RUNTIME_NODE_FLAGS: readonly string[];
export declare function runtimeCommand(rt: string, envdArgs?: readonly string[], nodeFlags?: readonly string[]): string[];
