// Internal errors (configuration, wiring, storage) with stable codes; protocol errors live in xmpp/errors.ts.

export type ErrorCode =
  | 'ROOKERY_CONFIG_INVALID'
  | 'ROOKERY_CONFIG_UNREADABLE'
  | 'ROOKERY_TLS_UNREADABLE'
  | 'ROOKERY_TLS_INVALID'
  | 'ROOKERY_INPUT_INVALID'
  | 'ROOKERY_ADMIN_UNREACHABLE'
  | 'ROOKERY_ADMIN_REFUSED'
  | 'ROOKERY_DATA_DIR_UNUSABLE'
  | 'ROOKERY_DATA_DIR_NEWER'
  | 'ROOKERY_DATA_DIR_CORRUPT'
  | 'ROOKERY_DATA_DIR_IN_USE';

export class RookeryError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class ConfigError extends RookeryError {}

/** The data directory of the embedded store cannot be used as it is; nothing in it was changed. */
export class DataDirError extends RookeryError {}
