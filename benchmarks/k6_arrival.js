// k6 at a fixed arrival rate (open model), the peer of bench_engine.py:
//   k6 run -e URL=http://127.0.0.1:8080/ -e RATE=100 -e DURATION=60s -e PRE_VUS=100
//          -e MAX_VUS=1000 benchmarks/k6_arrival.js
// The scenario's start time is logged once ("SCENARIO_START <epoch ms>") so the benchmark can
// place k6's intended schedule against the stall server's windows.
import http from "k6/http";
import exec from "k6/execution";

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "p(99.9)"],
  scenarios: {
    open: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE),
      timeUnit: "1s",
      duration: __ENV.DURATION,
      preAllocatedVUs: Number(__ENV.PRE_VUS || 100),
      maxVUs: Number(__ENV.MAX_VUS || 1000),
    },
  },
};

export default function () {
  if (exec.scenario.iterationInTest === 0) {
    console.log(`SCENARIO_START ${exec.scenario.startTime}`);
  }
  http.get(__ENV.URL);
}
