/** Task settings: the table, the loader, and the way back to environment variables. */
export * from './table';
export * from './load';
export * from './toEnv';
