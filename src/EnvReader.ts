// Reads one environment variable at a time, validated, with a bad value reported by name (src/config.ts says which).
import { CodedError } from './CodedError.js';

export class ConfigError extends CodedError {
  readonly code = 'BAD_CONFIG';
  readonly variable: string;

  constructor({ variable, message }: { variable: string; message: string }) {
    super({ message: `${variable}: ${message}` });
    this.variable = variable;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export class EnvReader {
  readonly #env: Env;

  constructor(env: Env) {
    this.#env = env;
  }

  #raw(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.#raw(name) ?? fallback;
  }

  integer(name: string, fallback: number, range: { min: number; max: number }): number {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < range.min || value > range.max) {
      throw new ConfigError({
        variable: name,
        message: `expected an integer from ${range.min} to ${range.max}, got "${raw}"`,
      });
    }
    return value;
  }

  /** A comma-separated list of secrets; a bad one is reported by position, never echoed. */
  secrets(name: string, minLength: number): string[] {
    const values = (this.#raw(name) ?? '')
      .split(',')
      .map((value) => value.trim())
      .filter((value) => value !== '');
    values.forEach((value, index) => {
      if (value.length < minLength || !/^[\x21-\x7e]+$/.test(value)) {
        throw new ConfigError({
          variable: name,
          message: `entry #${index + 1} must be at least ${minLength} printable ASCII characters, without spaces or commas`,
        });
      }
    });
    return values;
  }

  /** A comma-separated list; `parse` returns an entry's canonical form or throws a message naming what is wrong. */
  list(name: string, parse: (entry: string) => string): string[] {
    const entries = (this.#raw(name) ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    return entries.map((entry) => {
      try {
        return parse(entry);
      } catch (error) {
        throw new ConfigError({
          variable: name,
          message: `"${entry}": ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    });
  }

  optional(name: string): string | undefined {
    return this.#raw(name);
  }

  /** An optional http(s) URL. */
  url(name: string): string | undefined {
    const raw = this.#raw(name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError({ variable: name, message: `expected an http or https URL, got "${raw}"` });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ConfigError({ variable: name, message: `expected an http or https URL, got "${raw}"` });
    }
    return parsed.href;
  }

  /** An optional postgres:// URL; never echoed back, since it may hold a password. */
  postgresUrl(name: string): string | undefined {
    const raw = this.#raw(name);
    if (raw === undefined) return undefined;
    const expected = 'expected a postgres:// or postgresql:// URL such as postgres://user:password@host:5432/database';
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError({ variable: name, message: expected });
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new ConfigError({ variable: name, message: expected });
    }
    if (!parsed.hostname && !parsed.searchParams.has('host')) {
      throw new ConfigError({ variable: name, message: `${expected} (the host is missing)` });
    }
    return raw;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.#raw(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    throw new ConfigError({ variable: name, message: `expected true or false, got "${raw}"` });
  }

  oneOf<const T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw as T)) {
      throw new ConfigError({ variable: name, message: `expected one of ${allowed.join(', ')}, got "${raw}"` });
    }
    return raw as T;
  }
}
