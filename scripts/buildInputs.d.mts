// Types of buildInputs.mjs.
export declare function recordBuildInputs(dir: string, files: readonly string[]): Promise<void>;
export declare function buildInputsUnchanged(dir: string): Promise<boolean>;
