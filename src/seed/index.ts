// Seeding sources into the warehouse's raw tables, with no Temporal in it: the seed activities call it.
export { checkSources, seedSource, type SeedContext } from './seed-source';
