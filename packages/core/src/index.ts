export * from './options.ts';
export * from './plugin.ts';
export * from './progress.ts';
export * from './run-directory.ts';

