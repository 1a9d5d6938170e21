/**
 * The handlers of the VOA scenario (fixtures/voa) that the VOA end-to-end test
 * and the Java interop test copy into their generated TypeScript servers:
 * Crawl answers two fixed episodes per type; MainLogic answers titles from a
 * table (with the caller and format it saw), a URL or a not-found status, an
 * SRPC Backend error for the title "boom", and the bytes of a fake MP3.
 */
export const VOA_CRAWL_HANDLER = `import type { CrawlServiceHandler } from "../gen/Crawl_msec.js";

/** Two fixed episodes per type, as the seed's crawler would return them. */
export const crawlService: CrawlServiceHandler = {
  getMP3List(request) {
    if (request.type !== "standard" && request.type !== "special") {
      return { status: 1, msg: "unknown type " + request.type };
    }
    return {
      status: 0,
      msg: "ok",
      mp3s: [1, 2].map((n) => ({ title: request.type + " " + n, url: "http://voa.example/" + request.type + "/" + n + ".mp3" })),
    };
  },
};
`;

export const VOA_MAIN_LOGIC_HANDLER = `import { SrpcCode, SrpcError } from "@msec-gen/runtime";
import type { MainLogicServiceHandler } from "../gen/MainLogic_msec.js";

const EPISODES: Record<string, string[]> = { special: ["Mars", "Moon"], standard: ["News"] };

export const mainLogicService: MainLogicServiceHandler = {
  async getTitles(request, ctx) {
    const titles = EPISODES[request.type];
    if (titles === undefined) return { status: 1, msg: "no such type" };
    return { titles, status: 0, msg: "hello " + ctx.caller + " via " + ctx.format };
  },

  getUrlByTitle(request) {
    if (request.title === "boom") throw new SrpcError(SrpcCode.Backend, "backend down");
    if (!(EPISODES[request.type] ?? []).includes(request.title)) return { status: 2, msg: "not found" };
    return { url: "http://voa.example/" + request.type + "/" + request.title + ".mp3", status: 0, msg: "" };
  },

  downloadMP3(request) {
    const content = new TextEncoder().encode("ID3:" + request.title);
    return { status: 0, msg: "", fileLen: content.length, fileContent: content };
  },
};
`;
