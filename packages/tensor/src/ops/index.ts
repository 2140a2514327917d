export * from './elementwise.ts';
export * from './movement.ts';
export * from './reduce.ts';
export * from './linalg.ts';
export * from './indexing.ts';
export * from './nn-functional.ts';
export { zerosLike, onesLike } from '../creation.ts';
