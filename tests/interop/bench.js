'use strict';
// grpc-js client measurement, the same as tests/Benchmarks/LatencyLoop.cs: sequential unary calls
// timed one by one, then one server stream. Usage: node bench.js HOST:PORT CALLS STREAM_MESSAGES
const { grpc, Interop } = require('./common');

const [address, callsArg, streamArg] = process.argv.slice(2);
const calls = Number(callsArg); const streamMessages = Number(streamArg);
const client = new Interop(address, grpc.credentials.createInsecure());

const echo = () => new Promise((resolve, reject) =>
  client.echo({ message: 'ping' }, (err, reply) => (err ? reject(err) : resolve(reply))));

(async () => {
  for (let i = 0; i < 1000; i += 1) await echo();
  const samples = [];
  for (let i = 0; i < calls; i += 1) {
    const start = process.hrtime.bigint();
    await echo();
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  const pct = (p) => samples[Math.min(samples.length - 1, Math.floor(samples.length * p / 100))].toFixed(1);

  const started = process.hrtime.bigint();
  let received = 0;
  await new Promise((resolve, reject) => {
    const call = client.countdown({ from: streamMessages });
    call.on('data', () => { received += 1; });
    call.on('end', resolve);
    call.on('error', reject);
  });
  const rate = received / (Number(process.hrtime.bigint() - started) / 1e9);
  console.log(`client=grpc-js calls=${calls} p50_us=${pct(50)} p90_us=${pct(90)} p99_us=${pct(99)} stream_msgs_per_s=${rate.toFixed(0)}`);
  process.exit(0);
})();
