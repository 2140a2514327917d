export * from './allclose.ts';
export * from './arbitraries.ts';
export * from './fixtures.ts';
export * from './gradcheck.ts';
