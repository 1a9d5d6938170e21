/** Issue 11: an incomplete HTTP body, 1 MiB in 1-byte segments (see segment-attack.ts). */
import { ATTACKS, describeSegmentAttack } from "./segment-attack.js";

describeSegmentAttack(ATTACKS.http);
