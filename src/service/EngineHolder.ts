// Gives the service the engine once it is loaded; before that (and after shutdown) requests get MODEL_UNAVAILABLE.
import { ModelUnavailableError, type Engine } from '../engine/index.js';

export class EngineHolder {
  #engine: Engine | undefined;
  #state: 'loading' | 'ready' | 'closed' = 'loading';

  get ready(): boolean {
    return this.#state === 'ready';
  }

  get current(): Engine | undefined {
    return this.#engine;
  }

  set(engine: Engine): void {
    this.#engine = engine;
    this.#state = 'ready';
  }

  /** Stops handing out the engine; the caller disposes it. */
  close(): Engine | undefined {
    this.#state = 'closed';
    return this.#engine;
  }

  get(): Engine {
    if (this.#state === 'ready' && this.#engine) return this.#engine;
    throw new ModelUnavailableError({
      message: this.#state === 'loading' ? 'The model is still loading; try again shortly.' : 'The service is shutting down.',
    });
  }
}
