/** The conformance suite (fixtures/conformance/scenarios.json) run by the TypeScript caller's runner against live TS servers. */
import { describeConformance } from "./conformance-suite.js";
import { language } from "./langs/ts.js";

describeConformance(language);
