import "./w1.ts"; import { readFileSync } from "node:fs"; console.log("main ts", (Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status","utf8"))[1])/1024).toFixed(0))
