// Where each GraphQL operation gets its OperationScope, with the budget every operation has (MAX_OPERATION_TEXTS).
import { OperationScope } from './OperationScope.js';

export interface OperationsOptions {
  /** Texts (× tasks) one GraphQL operation may send to the engine (MAX_OPERATION_TEXTS). */
  maxOperationTexts?: number;
}

export interface Operations {
  /** The engine budget and fairness key of one GraphQL operation; its caller calls `finish()` when the result is final. */
  begin(owner: string | null, clientSignal?: AbortSignal): OperationScope;
}

export function createOperations({ maxOperationTexts }: OperationsOptions): Operations {
  return {
    begin: (owner, clientSignal) =>
      new OperationScope({
        owner,
        ...(clientSignal ? { clientSignal } : {}),
        ...(maxOperationTexts === undefined ? {} : { maxTexts: maxOperationTexts }),
      }),
  };
}
