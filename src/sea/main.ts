/**
 * Entry of the single binary (dist/cgihost, built by scripts/build-binary.mjs).
 * The bootstrap must run before the CLI's modules are evaluated, so it is
 * imported first: ES modules are evaluated in import order.
 */
import './bootstrap.js';
import '../cli.js';
