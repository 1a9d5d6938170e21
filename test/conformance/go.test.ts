/** The conformance suite (fixtures/conformance/scenarios.json) run by the go caller's runner against live TS servers. */
import { describeConformance } from "./conformance-suite.js";
import { language } from "./langs/go.js";

describeConformance(language);
