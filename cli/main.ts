#!/usr/bin/env node
/** The `msec-gen` executable (package.json `bin`); the program is in program.ts. */
import { main } from "./program.js";

process.exitCode = await main(process.argv.slice(2));
