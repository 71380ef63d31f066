// PostgreSQL's Repository itself, for tools and tests that open it directly (the service goes through openRepository).
export { PostgresRepository } from './PostgresRepository.js';
