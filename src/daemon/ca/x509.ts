// @peculiar/x509 builds on tsyringe, which throws at load time unless a Reflect metadata
// polyfill is already installed. ESM evaluates imports in source order, so every CA module
// imports x509 through this file, never '@peculiar/x509' directly.
// NOTE(ca): reflect-metadata must be a declared dependency (main's package.json adds it).
import 'reflect-metadata';

export * from '@peculiar/x509';
