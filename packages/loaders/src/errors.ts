import { GlassboxError } from '@glassbox/tensor';

/** What went wrong while reading a checkpoint folder. */
export type CheckpointErrorKind =
  | 'missing-file'
  | 'bad-config'
  | 'unknown-model-type'
  | 'unsupported-config'
  | 'missing-key'
  | 'unexpected-key'
  | 'shape-mismatch'
  | 'bad-dtype'
  | 'corrupt-file'
  | 'missing-revision';

export interface CheckpointErrorDetails {
  op: string;
  kind: CheckpointErrorKind;
  /** The file at fault, when there is one. */
  file?: string;
  /** The checkpoint key (or config field) at fault, when there is one. */
  key?: string;
  expected?: string;
  given?: string;
  suggestions?: readonly string[];
  cause?: unknown;
}

/**
 * A checkpoint could not be loaded. The message names the file, the key and what was expected;
 * `kind` says which check failed. A load that throws leaves no model behind, half loaded or not.
 */
export class CheckpointError extends GlassboxError {
  readonly kind: CheckpointErrorKind;
  readonly file: string | undefined;
  readonly key: string | undefined;

  constructor(summary: string, details: CheckpointErrorDetails) {
    const where = [details.file === undefined ? '' : `${JSON.stringify(details.file)}: `, details.key === undefined ? '' : `key ${JSON.stringify(details.key)}: `].join('');
    super(`${where}${summary}`, {
      op: details.op,
      ...(details.expected === undefined ? {} : { expected: details.expected }),
      ...(details.given === undefined ? {} : { given: details.given }),
      ...(details.suggestions === undefined ? {} : { suggestions: details.suggestions }),
    });
    this.kind = details.kind;
    this.file = details.file;
    this.key = details.key;
    if (details.cause !== undefined) (this as { cause?: unknown }).cause = details.cause;
  }
}

/** A tokenizer file was missing or malformed, or a token or id was unknown. */
export class TokenizerError extends GlassboxError {}
