/** The conformance suite (fixtures/conformance/scenarios.json) run by the PHP caller's runner against live TS servers. */
import { describeConformance } from "./conformance-suite.js";
import { language } from "./langs/php.js";

describeConformance(language);
