/**
 * The steps of a conformance scenario as runners receive them (see
 * fixtures/conformance/scenarios.json and docs/caller-parity.md). One
 * definition for the harness (test/conformance/scenarios.ts re-exports it) and
 * the TS runner; it lives here because the runner folder is copied and
 * compiled on its own.
 */
export interface CallStep {
  op: "call";
  service: string;
  text: string;
  sleep_ms: number;
  fail_code: number;
  fail_message: string;
  timeout_ms: number;
  retries: number;
  /** A wire method name other than Echo (the runner sends the EchoRequest to it). */
  method?: string;
}

export type CallFields = Omit<CallStep, "op">;

export type Step =
  | CallStep
  | { op: "parallel"; calls: CallFields[] }
  | { op: "repeat"; count: number; concurrency: number; call: CallFields }
  | { op: "load"; seconds: number; concurrency: number; call: CallFields }
  | {
      op: "balancer";
      service: string;
      instances: Array<{ addr: string; weight: number }>;
      events: Array<{ at_ms: number; addr: string; failed: number; cost_ms: number }>;
      options?: { shapingRequestMin?: number };
    }
  | { op: "write_file"; path: string; content: string }
  | { op: "sleep"; ms: number }
  | { op: "notify"; event: string };
