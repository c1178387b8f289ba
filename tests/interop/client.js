'use strict';
// grpc-js client running one interop scenario against a server; prints one JSON line.
// Usage: node client.js HOST:PORT SCENARIO
const { grpc, Interop } = require('./common');

const [address, scenario] = process.argv.slice(2);

function client(options = {}) {
  return new Interop(address, grpc.credentials.createInsecure(), options);
}

function statusOf(err) {
  return { code: err.code, details: err.details, trailers: err.metadata ? mdToObject(err.metadata) : {} };
}

function mdToObject(md) {
  const out = {};
  for (const [key, value] of Object.entries(md.getMap())) {
    out[key] = Buffer.isBuffer(value) ? value.toString('base64') : String(value);
  }
  return out;
}

function unary(c, method, request, metadata = new grpc.Metadata(), options = {}) {
  return new Promise((resolve) => {
    let headers = {}; let outcome = null;
    const call = c[method](request, metadata, options, (err, reply) => {
      outcome = err ? { error: statusOf(err) } : { reply };
    });
    call.on('metadata', (md) => { headers = mdToObject(md); });
    // grpc-js emits 'status' (with the trailers) after the callback has run.
    call.on('status', (s) => resolve({ ...outcome, headers, trailers: mdToObject(s.metadata) }));
  });
}

const scenarios = {
  async unary() {
    const md = new grpc.Metadata();
    md.set('x-hawser-test', 'hello');
    md.set('x-blob-bin', Buffer.from([0, 1, 2, 250, 255]));
    const res = await unary(client(), 'echo', { message: 'ping' }, md);
    if (res.reply) res.reply.payload = res.reply.payload.toString('base64');
    return res;
  },
  async error() {
    return unary(client(), 'echo', { message: 'x', failCode: 9, failMessage: 'not ready: 100% über' });
  },
  async deadline() {
    const started = Date.now();
    const res = await unary(client(), 'echo', { message: 'slow', delayMs: 5000 }, new grpc.Metadata(),
      { deadline: new Date(Date.now() + 300) });
    return { ...res, elapsedMs: Date.now() - started };
  },
  async clientStream() {
    return new Promise((resolve) => {
      const call = client().sum((err, total) => resolve(err ? { error: statusOf(err) } : { reply: total }));
      for (let i = 1; i <= 100; i += 1) call.write({ value: i });
      call.end();
    });
  },
  async serverStream() {
    return new Promise((resolve) => {
      const values = [];
      const call = client().countdown({ from: 5 });
      call.on('data', (m) => values.push(m.value));
      call.on('error', (err) => resolve({ values, error: statusOf(err) }));
      call.on('end', () => resolve({ values }));
    });
  },
  async serverStreamError() {
    return new Promise((resolve) => {
      const values = [];
      const call = client().countdown({ from: 10, failAfter: 3 });
      call.on('data', (m) => values.push(m.value));
      call.on('error', (err) => resolve({ values, error: statusOf(err) }));
      call.on('end', () => resolve({ values }));
    });
  },
  async duplex() {
    return new Promise((resolve) => {
      const replies = [];
      const call = client().chat();
      let seq = 0;
      const send = () => { seq += 1; call.write({ text: 'm' + seq, seq }); };
      call.on('data', (m) => {
        replies.push(m);
        // Ping-pong: the next message goes out only after the previous reply came back.
        if (seq < 3) send(); else call.end();
      });
      call.on('error', (err) => resolve({ replies, error: statusOf(err) }));
      call.on('end', () => resolve({ replies }));
      send();
    });
  },
  async gzip() {
    const c = client({ 'grpc.default_compression_algorithm': 2 });
    const payload = Buffer.alloc(200000, 0x41);
    const res = await unary(c, 'echo', { message: 'zipped', payload });
    if (res.reply) res.reply = { message: res.reply.message, payloadLength: res.reply.payload.length,
      payloadIntact: res.reply.payload.equals(payload), peerCompression: res.reply.peerCompression };
    return res;
  },
  async tooLarge() {
    const c = client({ 'grpc.max_send_message_length': -1 });
    return unary(c, 'echo', { message: 'big', payload: Buffer.alloc(5 * 1024 * 1024, 1) });
  },
  async tooLargeReply() {
    // The client accepts any size here, so only the server's send limit can stop it.
    const c = client({ 'grpc.max_receive_message_length': -1 });
    return unary(c, 'echo', { message: 'big reply', replyPadding: 5 * 1024 * 1024 });
  },
  async unimplemented() {
    const c = client();
    return new Promise((resolve) => {
      c.makeUnaryRequest('/hawser.test.Interop/DoesNotExist', (x) => x, (x) => x, Buffer.alloc(0),
        (err) => resolve(err ? { error: statusOf(err) } : { reply: 'unexpected' }));
    });
  },
  async cancel() {
    return new Promise((resolve) => {
      const values = [];
      const call = client().countdown({ from: 1000, delayMs: 20 });
      call.on('data', (m) => { values.push(m.value); if (values.length === 2) call.cancel(); });
      call.on('error', (err) => resolve({ values, error: statusOf(err) }));
      call.on('end', () => resolve({ values }));
    });
  },
  async hold() {
    // Opens two streams, says so, then waits to be killed: a client that vanishes mid-stream.
    const c = client();
    const countdown = c.countdown({ from: 100000, delayMs: 50 });
    countdown.on('error', () => {});
    const chat = c.chat();
    chat.on('error', () => {});
    chat.write({ text: 'half', seq: 1 });
    await new Promise((resolve) => countdown.once('data', resolve));
    process.stdout.write('STREAMING\n');
    await new Promise(() => {});
  },
};

(async () => {
  if (!scenarios[scenario]) {
    console.error('unknown scenario ' + scenario + '; known: ' + Object.keys(scenarios).join(', '));
    process.exit(2);
  }
  const result = await scenarios[scenario]();
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
})();
