/** The asyncio Python runner: runners/python/runner.py --async on the generated AsyncConformanceServiceClient (langs/python.ts builds it). */
import type { Language } from "../harness.js";
import { buildPythonRunner, language as python, pythonUnavailable } from "./python.js";

export const language: Language = {
  name: "python-async",
  build: (work) => buildPythonRunner(work, ["--async"]),
  unavailable: pythonUnavailable,
  unsupported: {},
  expectedFailures: {
    "refused-retried-when-asked": python.expectedFailures["refused-retried-when-asked"]!,
    "etcd-failover": python.expectedFailures["etcd-failover"]!,
  },
};
