#!/usr/bin/env node
// The `cgihost` command: the bundled CLI (`npm run build` makes dist/).
import '../dist/cli.js';
