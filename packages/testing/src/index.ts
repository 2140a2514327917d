export * from './allclose.ts';
