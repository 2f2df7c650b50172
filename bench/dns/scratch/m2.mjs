import { readFileSync } from "node:fs"; console.log("main js", (Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status","utf8"))[1])/1024).toFixed(0))
