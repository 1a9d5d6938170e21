/**
 * The Crawl handler the Go and Python interop tests copy into their generated
 * TypeScript server: one row with unicode text built from the request, and one
 * row of empty strings (zero values must survive every language's codec).
 */
export const CRAWL_HANDLER = `import type { CrawlServiceHandler } from "../gen/Crawl_msec.js";

export const crawlService: CrawlServiceHandler = {
  async getMP3List(request) {
    return {
      mp3s: [
        { title: \`\${request.type}: Learning English 学英语\`, url: "https://voa.example/1.mp3" },
        { title: "", url: "" },
      ],
      status: 0,
      msg: "",
    };
  },
};
`;
